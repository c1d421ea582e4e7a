"""What search reads of every image, kept in memory per shard version, as columns.

A shard's bytes are decoded once into a :class:`ShardTable`: only the fields
search needs are taken (msgspec skips the rest without building it), and the
searched words of each row are made in a few passes over the whole shard, not
one function call per image. What only some queries need (the rows of each
tag, the order by date taken, the tag counts) is made when first asked for and
kept with the table. A :class:`SearchIndex` lines up the tables of one root.

Matching is plain substring search over case-folded text: a row's ``text``
holds its title, description, filename and tags; ``full()`` adds the camera's
make, model and lens (the same string object when the image has no camera).
Who may match camera words is a :class:`Cameras`.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from gallery.clock import format_timestamp
from gallery.images.record import ImageRecord

#: Whole records a table keeps of the rows searches showed (at 100,000 images, at most
#: some 15,000 records in all).
KEPT_RECORDS = 48
#: Between rows while a shard's words are case-folded in one pass. A description may
#: hold it too: the pass is then checked, and done row by row instead.
_SEPARATOR = "\x00"


@dataclass(frozen=True, slots=True)
class Cameras:
    """Whose camera details a search may match words in.

    Attributes:
        everyone: every image's (admins; everybody where the gallery shows details).
        owner: otherwise, only the images this user uploaded (``None``: nobody's).
    """

    everyone: bool = True
    owner: str | None = None


#: Every image's camera words are searched (the command line, admins).
ALL_CAMERAS = Cameras(True)
#: No image's camera words are searched (visitors, when details are hidden).
NO_CAMERAS = Cameras(False)


class _Camera(msgspec.Struct, gc=False):
    make: str = ""
    model: str = ""
    lens: str = ""


class _Row(msgspec.Struct, gc=False):
    id: str
    created_at: str
    filename: str = ""
    title: str = ""
    uploaded_by: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    taken_at: str | None = None
    camera: _Camera | None = None


class _Shard(msgspec.Struct, gc=False):
    images: list[_Row]


_DECODER = msgspec.json.Decoder(_Shard)
_WORDS = operator.attrgetter("title", "description", "filename")
_CAMERA = operator.attrgetter("camera")
_ID = operator.attrgetter("id")
_CREATED = operator.attrgetter("created_at")
_OWNER = operator.attrgetter("uploaded_by")
_TAGS = operator.attrgetter("tags")
_TAKEN = operator.attrgetter("taken_at")
#: A :class:`ShardTable`'s columns, one value per row each (as search packs store them).
COLUMNS = ("ids", "created", "owners", "text", "cameras", "tags", "taken")


def _folded(parts: list[str]) -> list[str]:
    """Each of ``parts`` case-folded, in one pass when no part holds the separator."""
    joined = _SEPARATOR.join(parts).casefold()
    out = joined.split(_SEPARATOR)
    if len(out) != len(parts):
        return [p.casefold() for p in parts]
    return out


def taken_key(taken_at: str | None, created_at: str) -> str:
    """When a photo was taken as a stored UTC timestamp, else when it was uploaded
    (the same as :attr:`~gallery.images.record.ImageRecord.taken_sort_key`)."""
    if not taken_at:
        return created_at
    if len(taken_at) == 19 and taken_at[0] != "0":  # no offset: read as UTC
        return f"{taken_at}.000Z"
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return created_at
    return format_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


class ShardTable:
    """The searched fields of one version of one shard, oldest first, as columns.

    Attributes:
        version: the version of the shard object it was read from.
        ids, created, owners, taken: each row's image id, upload time, uploader and date
            taken (as stored, or ``None``).
        tags: each row's tags as spelled, one per line (``""``: none; a tag holds no
            control character).
        text: each row's searched words, case-folded: title, description, filename,
            tags.
        cameras: each row's camera make, model and lens, case-folded (``""``: none);
            :meth:`full` joins them to :attr:`text`.
    """

    __slots__ = ("version", "ids", "created", "owners", "text", "cameras", "tags", "taken",
                 "_full", "_tag_rows", "_taken", "_tag_counts", "_records")

    def __init__(self, version: str, *, ids: list[str], created: list[str], owners: list[str],
                 text: list[str], cameras: list[str], tags: list[str],
                 taken: list[str | None]) -> None:
        self.version = version
        self.ids = ids
        self.created = created
        self.owners = owners
        self.text = text
        self.cameras = cameras
        self.tags = tags
        self.taken = taken
        self._full: list[str] | None = None
        self._tag_rows: dict[str, list[int]] | None = None
        self._taken: list[str] | None = None
        self._tag_counts: dict[str, list[Any]] | None = None
        self._records: dict[int, ImageRecord] = {}

    @classmethod
    def of_rows(cls, version: str, rows: Sequence[_Row]) -> ShardTable:
        """The table of decoded shard rows: the words made in a few passes over them all."""
        words = list(map("\n".join, map(_WORDS, rows)))
        for n, row in enumerate(rows):
            if row.tags:
                words[n] = "\n".join((words[n], *row.tags))
        cameras = [""] * len(rows)
        named = [(n, c) for n, c in enumerate(map(_CAMERA, rows))
                 if c is not None and (c.make or c.model or c.lens)]
        folded = _folded([f"{c.make}\n{c.model}\n{c.lens}" for _, c in named])
        for (n, _), camera in zip(named, folded, strict=True):
            cameras[n] = camera
        return cls(version, ids=list(map(_ID, rows)), created=list(map(_CREATED, rows)),
                   owners=list(map(_OWNER, rows)), text=_folded(words), cameras=cameras,
                   tags=list(map("\n".join, map(_TAGS, rows))), taken=list(map(_TAKEN, rows)))

    @classmethod
    def decode(cls, version: str, raw: bytes) -> ShardTable:
        """The table of a shard's bytes.

        Raises:
            msgspec.DecodeError: the bytes are not a shard (``ValidationError`` is one).
        """
        return cls.of_rows(version, _DECODER.decode(raw).images)

    def part(self, version: str, start: int, stop: int) -> ShardTable:
        """The rows ``start:stop`` as the table of one shard (``version``)."""
        return ShardTable(version, **{column: getattr(self, column)[start:stop]
                                      for column in COLUMNS})

    def __len__(self) -> int:
        return len(self.ids)

    def image_id(self, row: int) -> str:
        return self.ids[row]

    def created_at(self, row: int) -> str:
        return self.created[row]

    def key(self, row: int) -> str:
        """The catalog key (``created_at|id``) of a row."""
        return f"{self.created[row]}|{self.ids[row]}"

    def record(self, row: int) -> ImageRecord | None:
        """The whole record of a row, if a search showed it lately (see :meth:`keep`)."""
        return self._records.get(row)

    def keep(self, row: int, record: ImageRecord) -> None:
        """Remember the record of a row search shows (a few per table: the pages shown
        again, or walked back and forth, need not read their shards again)."""
        kept = self._records
        if len(kept) >= KEPT_RECORDS:
            try:  # the oldest; another request may be changing the dict just now
                kept.pop(next(iter(kept)), None)
            except (RuntimeError, StopIteration):
                kept.clear()
        kept[row] = record

    def full(self) -> list[str]:
        """Each row's :attr:`text` with its camera's make, model and lens (case-folded);
        the same string where the image has no camera details."""
        if self._full is None:
            self._full = [f"{text}\n{camera}" if camera else text
                          for text, camera in zip(self.text, self.cameras, strict=True)]
        return self._full

    def tag_rows(self) -> Mapping[str, list[int]]:
        """The rows of each tag, by case-folded tag."""
        if self._tag_rows is None:
            rows: dict[str, list[int]] = {}
            for n, tags in enumerate(self.tags):
                for tag in tags.split("\n") if tags else ():
                    rows.setdefault(tag.casefold(), []).append(n)
            self._tag_rows = rows
        return self._tag_rows

    def tag_counts(self) -> Mapping[str, list[Any]]:
        """``[count, first spelling]`` of each tag, by case-folded tag."""
        if self._tag_counts is None:
            counts: dict[str, list[Any]] = {}
            for tags in self.tags:
                for tag in tags.split("\n") if tags else ():
                    entry = counts.setdefault(tag.casefold(), [0, tag])
                    entry[0] += 1
            self._tag_counts = counts
        return self._tag_counts

    def taken_orders(self) -> list[str]:
        """Each row's place in the order by date taken: ``taken|created_at|id``."""
        if self._taken is None:
            self._taken = [f"{taken_key(taken, created)}|{created}|{image_id}" for taken, created,
                           image_id in zip(self.taken, self.created, self.ids, strict=True)]
        return self._taken

    def matches(self, words: Sequence[str], tag: str | None, cameras: Cameras) -> list[int]:
        """The rows (ascending) holding every word (case-folded) and, if given, the tag
        (case-folded); camera words count only as ``cameras`` allows."""
        rows: Sequence[int] = self.tag_rows().get(tag, ()) if tag is not None else range(len(self))
        text = self.text
        for word in words:
            if cameras.everyone:
                full = self.full()
                rows = [n for n in rows if word in full[n]]
            elif cameras.owner is not None:
                owner, full, owners = cameras.owner, self.full(), self.owners
                rows = [n for n in rows
                        if word in (full[n] if owners[n] == owner else text[n])]
            else:
                rows = [n for n in rows if word in text[n]]
        return list(rows)


class SearchIndex:
    """The tables of every shard of one root, in the catalog's order (oldest first).

    Rows are numbered across the tables (``flat``: 0 is the oldest upload).
    """

    __slots__ = ("tables", "starts", "_order", "_order_keys")

    def __init__(self, tables: Sequence[ShardTable]) -> None:
        self.tables = list(tables)
        self.starts = list(itertools.accumulate((len(t) for t in self.tables), initial=0))
        self._order: list[int] | None = None
        self._order_keys: list[str] | None = None

    def __len__(self) -> int:
        return self.starts[-1]

    def locate(self, flat: int) -> tuple[ShardTable, int]:
        """The table and row of a flat row number."""
        position = bisect.bisect_right(self.starts, flat) - 1
        return self.tables[position], flat - self.starts[position]

    def matches(self, words: Sequence[str], tag: str | None, cameras: Cameras) -> list[int]:
        """The flat rows the query finds, oldest upload first (see :meth:`ShardTable.matches`)."""
        out: list[int] = []
        for start, table in zip(self.starts, self.tables, strict=False):
            out.extend(start + n for n in table.matches(words, tag, cameras))
        return out

    def taken_order(self) -> tuple[list[int], list[str]]:
        """Every flat row, earliest taken first, and each one's ``taken|created_at|id``."""
        if self._order is None or self._order_keys is None:
            keys = list(itertools.chain.from_iterable(t.taken_orders() for t in self.tables))
            order = sorted(range(len(keys)), key=keys.__getitem__)
            self._order_keys = [keys[n] for n in order]
            self._order = order
        return self._order, self._order_keys

    def tag_counts(self) -> dict[str, list[Any]]:
        """``[count, first spelling]`` of each tag in the gallery, by case-folded tag."""
        counts: dict[str, list[Any]] = {}
        for table in self.tables:
            for key, (count, spelled) in table.tag_counts().items():
                entry = counts.setdefault(key, [0, spelled])
                entry[0] += count
        return counts
