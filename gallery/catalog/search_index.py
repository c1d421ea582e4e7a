"""What search reads of every image, kept in memory per shard version, as columns.

A shard's bytes are decoded once into a :class:`ShardTable`: only the fields
search needs are taken (msgspec skips the rest without building it), and the
searched words of each row are made in a few passes over the whole shard, not
one function call per image. What only some queries need (the rows of each
tag, the order by date taken, the tag counts) is made when first asked for and
kept with the table. A :class:`SearchIndex` lines up the tables of one root.

Matching is plain substring search over case-folded text: a row's ``text``
holds its title, description, filename and tags; ``full`` adds the camera's
make, model and lens (the same string object when the image has no camera).
Who may match camera words is a :class:`Cameras`.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from gallery.clock import format_timestamp

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
    tags: list[str] = []
    taken_at: str | None = None
    camera: _Camera | None = None


class _Shard(msgspec.Struct, gc=False):
    images: list[_Row]


_DECODER = msgspec.json.Decoder(_Shard)


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
    """The searched fields of one version of one shard, a list per field, oldest first.

    Attributes:
        version: the version of the shard object it was read from.
        ids, created, owners: each row's image id, upload time and uploader.
        text, full: each row's searched words, case-folded, without and with
            its camera's (see the module's docstring).
        tags: each row's tags as spelled.
        taken_at: each row's date taken as stored, or ``None``.
    """

    __slots__ = ("version", "ids", "created", "owners", "text", "full", "tags", "taken_at",
                 "_tag_rows", "_taken", "_tag_counts")

    def __init__(self, version: str, rows: Sequence[_Row]) -> None:
        self.version = version
        self.ids = [r.id for r in rows]
        self.created = [r.created_at for r in rows]
        names: dict[str, str] = {}
        self.owners = [names.setdefault(r.uploaded_by, r.uploaded_by) for r in rows]
        self.tags = [r.tags for r in rows]
        self.taken_at = [r.taken_at for r in rows]
        self.text = _folded(["\n".join((r.title, r.description, r.filename, *r.tags))
                             for r in rows])
        cameras = [r.camera for r in rows]
        has = [c is not None and bool(c.make or c.model or c.lens) for c in cameras]
        words = _folded([f"{c.make}\n{c.model}\n{c.lens}" for c, h in zip(cameras, has, strict=True)
                         if h and c is not None])
        more = iter(words)
        self.full = [f"{t}\n{next(more)}" if h else t for t, h in zip(self.text, has, strict=True)]
        self._tag_rows: dict[str, list[int]] | None = None
        self._taken: list[str] | None = None
        self._tag_counts: dict[str, list[Any]] | None = None

    @classmethod
    def decode(cls, version: str, raw: bytes) -> ShardTable:
        """The table of a shard's bytes.

        Raises:
            msgspec.DecodeError: the bytes are not a shard (``ValidationError`` is one).
        """
        return cls(version, _DECODER.decode(raw).images)

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, row: int) -> str:
        """The catalog key (``created_at|id``) of a row."""
        return f"{self.created[row]}|{self.ids[row]}"

    def tag_rows(self) -> Mapping[str, list[int]]:
        """The rows of each tag, by case-folded tag."""
        if self._tag_rows is None:
            rows: dict[str, list[int]] = {}
            for n, tags in enumerate(self.tags):
                for tag in tags:
                    rows.setdefault(tag.casefold(), []).append(n)
            self._tag_rows = rows
        return self._tag_rows

    def tag_counts(self) -> Mapping[str, list[Any]]:
        """``[count, first spelling]`` of each tag, by case-folded tag."""
        if self._tag_counts is None:
            counts: dict[str, list[Any]] = {}
            for tags in self.tags:
                for tag in tags:
                    entry = counts.setdefault(tag.casefold(), [0, tag])
                    entry[0] += 1
            self._tag_counts = counts
        return self._tag_counts

    def taken_orders(self) -> list[str]:
        """Each row's place in the order by date taken: ``taken|created_at|id``."""
        if self._taken is None:
            self._taken = [f"{taken_key(t, c)}|{c}|{i}" for t, c, i in
                           zip(self.taken_at, self.created, self.ids, strict=True)]
        return self._taken

    def matches(self, words: Sequence[str], tag: str | None, cameras: Cameras) -> list[int]:
        """The rows (ascending) holding every word (case-folded) and, if given, the tag
        (case-folded); camera words count only as ``cameras`` allows."""
        rows: Sequence[int] = self.tag_rows().get(tag, ()) if tag is not None else range(len(self))
        text, full = self.text, self.full
        for word in words:
            if cameras.everyone:
                rows = [n for n in rows if word in full[n]]
            elif cameras.owner is not None:
                owner, owners = cameras.owner, self.owners
                rows = [n for n in rows if word in (full[n] if owners[n] == owner else text[n])]
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
