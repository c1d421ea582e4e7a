"""Searching the gallery: words, one tag, and the order by date taken.

The catalog keeps what search reads of every image in memory, per shard
version (see :mod:`gallery.catalog.search_index`): the bucket is read only for
shards that changed, and for the records of the page shown. A search by upload
time through cursors (the API's) reads shards newest first and stops once its
page is full, so even the first search of a process reads only the shards it
needs; a numbered page (with its total) and the order by date taken read them all.

* ``q``: every word must appear, in any case, in the title, description,
  filename, a tag, or the camera's make, model or lens (as part of a word:
  ``sun`` finds ``sunset``); camera words match only where the one asking may
  see the camera (:class:`~gallery.catalog.search_index.Cameras`).
* ``tag``: images with that tag, in any case.
* ``sort``: ``uploaded`` (newest upload first) or ``taken`` (latest taken
  first; an image whose date taken is unknown sorts by its upload time).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gallery.catalog.catalog import CatalogView
from gallery.catalog.search_index import ALL_CAMERAS, Cameras, SearchIndex, ShardTable
from gallery.clock import is_timestamp
from gallery.errors import BadRequest, NotFound
from gallery.images.domain import Domain
from gallery.images.record import MAX_TAG, ImageRecord, clean_tag, tag_key
from gallery.keys import is_image_id

SORTS = ("uploaded", "taken")
SORT_LABELS: Mapping[str, str] = {"uploaded": "Date uploaded", "taken": "Date taken"}
MAX_QUERY = 200
MAX_WORDS = 20
_BAD_CURSOR = "The cursor is not valid; start again without one."
_OTHER_CURSOR = ("That cursor belongs to another search; start again without one, "
                 "or send it with the q, tag and sort it came with.")


@dataclass(frozen=True, slots=True)
class Search:
    """One query of the gallery.

    Attributes:
        text: the words, as typed (stripped).
        tag: one tag (cleaned as tags are), or ``""``.
        sort: one of :data:`SORTS`.
    """

    text: str = ""
    tag: str = ""
    sort: str = "uploaded"

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.casefold().split())

    @property
    def plain(self) -> bool:
        """Whether this is the whole gallery by upload time (the catalog's own order)."""
        return not self.words and not self.tag and self.sort == "uploaded"

    @property
    def fingerprint(self) -> str:
        """A short digest of the query, so a cursor is used only with the query it came from."""
        raw = "\x00".join((" ".join(self.words), tag_key(self.tag), self.sort))
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def to_args(self) -> dict[str, str]:
        """The query-string arguments of this search; defaults left out."""
        args = {"q": self.text, "tag": self.tag, "sort": self.sort}
        return {k: v for k, v in args.items() if v and not (k == "sort" and v == "uploaded")}


def parse_search(args: Mapping[str, Any]) -> Search:
    """A :class:`Search` from ``q``, ``tag`` and ``sort`` arguments (missing: none, default).

    Raises:
        BadRequest: an unknown sort, words that are too long or too many, or a bad tag.
    """
    text = args.get("q") or ""
    tag = args.get("tag") or ""
    sort = args.get("sort") or "uploaded"
    if not isinstance(text, str) or not isinstance(tag, str) or not isinstance(sort, str):
        raise BadRequest("q, tag and sort must each be given once, as text.")
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of: {', '.join(SORTS)}.")
    text = text.strip()
    if len(text) > MAX_QUERY:
        raise BadRequest(f"The search is too long (at most {MAX_QUERY} characters).")
    if len(text.split()) > MAX_WORDS:
        raise BadRequest(f"Search for at most {MAX_WORDS} words.")
    if tag.strip():
        try:
            tag = clean_tag(tag)
        except ValueError as err:
            raise BadRequest(f"{err} (at most {MAX_TAG} characters).") from None
    else:
        tag = ""
    return Search(text, tag, sort)


#: A result: the table and row of one image.
Hit = tuple[ShardTable, int]


def _query(search: Search) -> tuple[tuple[str, ...], str | None]:
    return search.words, tag_key(search.tag) if search.tag else None


def _found(index: SearchIndex, search: Search, cameras: Cameras) -> list[int]:
    """The flat rows of every image the search finds, in its order (newest first)."""
    words, tag = _query(search)
    if search.sort == "taken":
        order, _ = index.taken_order()
        if not words and tag is None:
            return order[::-1]
        chosen = set(index.matches(words, tag, cameras))
        return [n for n in reversed(order) if n in chosen]
    return index.matches(words, tag, cameras)[::-1]


def _taken_after(index: SearchIndex, search: Search, cameras: Cameras, mark: str | None,
                 wanted: int) -> list[Hit]:
    """Up to ``wanted`` images by date taken, latest first, below ``mark``
    (``taken|created_at|id``)."""
    words, tag = _query(search)
    chosen = set(index.matches(words, tag, cameras)) if words or tag is not None else None
    order, keys = index.taken_order()
    stop = bisect.bisect_left(keys, mark) if mark is not None else len(order)
    hits: list[Hit] = []
    for at in range(stop - 1, -1, -1):
        n = order[at]
        if chosen is None or n in chosen:
            hits.append(index.locate(n))
            if len(hits) == wanted:
                break
    return hits


def _records(view: CatalogView, hits: list[Hit]) -> list[ImageRecord]:
    """The records of ``hits``, in order: those the tables keep, and the others picked
    from their shards (then kept)."""
    missing = [(t, n) for t, n in hits if t.record(n) is None]
    if missing:
        found = view.pick(t.key(n) for t, n in missing)
        for table, n in missing:
            record = found.get(table.image_id(n))
            if record is not None:
                table.keep(n, record)
    out = []
    for table, n in hits:
        record = table.record(n)
        if record is not None:
            out.append(record)
    return out


def encode_search_cursor(search: Search, hit: Hit) -> str:
    """An opaque cursor pointing just after ``hit`` in the results of ``search``."""
    table, n = hit
    created, image_id = table.created_at(n), table.image_id(n)
    first = table.taken_orders()[n].split("|", 1)[0] if search.sort == "taken" else created
    raw = f"{search.sort}|{search.fingerprint}|{first}|{created}|{image_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_search_cursor(search: Search, cursor: str) -> tuple[str, str]:
    """The position a cursor of ``search`` points after: ``(first, created_at|id)``, where
    ``first`` is the time it sorts by (taken or uploaded).

    Raises:
        BadRequest: not such a cursor, or one made for another search.
    """
    try:
        if not isinstance(cursor, str) or len(cursor) > 300 or not cursor.isascii():
            raise ValueError(_BAD_CURSOR)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        sort, fingerprint, first, created_at, image_id = raw.split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(_BAD_CURSOR) from None
    if (sort not in SORTS or not is_timestamp(first) or not is_timestamp(created_at)
            or not is_image_id(image_id)):
        raise BadRequest(_BAD_CURSOR)
    if sort != search.sort or fingerprint != search.fingerprint:
        raise BadRequest(_OTHER_CURSOR)
    return first, f"{created_at}|{image_id}"


def _newest_after(view: CatalogView, search: Search, cameras: Cameras, after: str | None,
                  wanted: int) -> list[Hit]:
    """Up to ``wanted`` images by upload time, newest first, below the key ``after``:
    shards are read newest first, and no more of them once enough are found."""
    root = view.root
    if root is None:
        return []
    words, tag = _query(search)
    hits: list[Hit] = []
    start = len(root.shards) - 1 if after is None else root.index_of(after)
    for position in range(start, -1, -1):
        table = view.search_table(position)
        for n in reversed(table.matches(words, tag, cameras)):
            if after is not None and table.key(n) >= after:
                continue
            hits.append((table, n))
            if len(hits) == wanted:
                return hits
    return hits


def search_after(d: Domain, search: Search, *, limit: int, cursor: str | None = None,
                 cameras: Cameras = ALL_CAMERAS) -> tuple[list[ImageRecord], str | None]:
    """Up to ``limit`` images the search finds, after ``cursor``, and the next cursor.

    A cursor stays valid while images are added, edited or deleted. ``cameras``:
    whose camera words may match.

    Raises:
        BadRequest: the cursor is malformed or belongs to another search.
        DocumentDamaged, StorageUnavailable.
    """
    after = decode_search_cursor(search, cursor) if cursor else None
    view = d.catalog.view()
    if search.sort == "uploaded":
        hits = _newest_after(view, search, cameras, after[1] if after else None, limit + 1)
    else:
        mark = f"{after[0]}|{after[1]}" if after else None
        hits = _taken_after(view.search_index(), search, cameras, mark, limit + 1)
    chosen = hits[:limit]
    more = len(hits) > limit
    return _records(view, chosen), encode_search_cursor(search, chosen[-1]) if more else None


def search_page(d: Domain, search: Search, number: int, per_page: int,
                cameras: Cameras = ALL_CAMERAS) -> tuple[list[ImageRecord], int, int]:
    """Page ``number`` (from 1) of the search's results: ``(records, pages, total)``.

    Raises:
        NotFound: there is no such page (page 1 always exists, empty when nothing matches).
        DocumentDamaged, StorageUnavailable.
    """
    per_page = max(1, min(1000, int(per_page)))
    view = d.catalog.view()
    index = view.search_index()
    found = _found(index, search, cameras)
    pages = max(1, -(-len(found) // per_page))
    if not 1 <= number <= pages:
        raise NotFound(f"There is no page {number}; the search has {pages}.")
    start = (number - 1) * per_page
    hits = [index.locate(n) for n in found[start:start + per_page]]
    return _records(view, hits), pages, len(found)


def tags_in_use(d: Domain, limit: int = 500) -> list[str]:
    """The tags images have, most used first (as first spelled), at most ``limit``.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    counts = d.catalog.view().search_index().tag_counts()
    ranked = sorted(counts.values(), key=lambda e: (-e[0], e[1].casefold()))
    return [tag for _, tag in ranked[:limit]]
