"""Searching the gallery: words, one tag, and the order by date taken.

One scan of the catalog's search rows (see
:class:`~gallery.catalog.catalog.SearchRow`, kept in memory per shard version)
answers every query: the bucket is read only for shards that changed, and for
the records of the page shown.

* ``q``: every word must appear, in any case, in the title, description,
  filename, a tag, or the camera's make, model or lens (as part of a word:
  ``sun`` finds ``sunset``).
* ``tag``: images with that tag, in any case.
* ``sort``: ``uploaded`` (newest upload first) or ``taken`` (latest taken
  first; an image whose date taken is unknown sorts by its upload time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gallery.catalog.catalog import CatalogView, SearchRow
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


def _position(row: SearchRow, sort: str) -> tuple[str, str]:
    """Where a row sorts (newest first is the reverse of this)."""
    return (row.taken_key if sort == "taken" else row.created_at, row.key)


def matching(view: CatalogView, search: Search) -> list[SearchRow]:
    """The rows of every image the search finds in ``view``, in its order (newest first).

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    rows = view.search_rows(by_taken=search.sort == "taken")
    words = search.words
    wanted = tag_key(search.tag) if search.tag else None
    if wanted is not None:
        rows = [r for r in rows if wanted in r.tag_keys]
    for word in words:  # one pass per word, each over what the last one kept
        rows = [r for r in rows if word in r.text]
    return rows[::-1]  # both orders are kept oldest first


def _records(view: CatalogView, rows: list[SearchRow]) -> list[ImageRecord]:
    found = view.pick(r.key for r in rows)
    return [found[r.id] for r in rows if r.id in found]


def encode_search_cursor(search: Search, row: SearchRow) -> str:
    """An opaque cursor pointing just after ``row`` in the results of ``search``."""
    first, key = _position(row, search.sort)
    raw = f"{search.sort}|{search.fingerprint}|{first}|{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_search_cursor(search: Search, cursor: str) -> tuple[str, str]:
    """The position a cursor of ``search`` points after.

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


def search_after(d: Domain, search: Search, *, limit: int, cursor: str | None = None
                 ) -> tuple[list[ImageRecord], str | None]:
    """Up to ``limit`` images the search finds, after ``cursor``, and the next cursor.

    A cursor stays valid while images are added, edited or deleted.

    Raises:
        BadRequest: the cursor is malformed or belongs to another search.
        DocumentDamaged, StorageUnavailable.
    """
    after = decode_search_cursor(search, cursor) if cursor else None
    view = d.catalog.view()
    rows = matching(view, search)
    if after is not None:
        if search.sort == "taken":
            mark = f"{after[0]}|{after[1]}"
            rows = [r for r in rows if r.taken_order < mark]
        else:
            rows = [r for r in rows if f"{r.created_at}|{r.id}" < after[1]]
    chosen = rows[:limit]
    more = len(rows) > limit
    return _records(view, chosen), encode_search_cursor(search, chosen[-1]) if more else None


def search_page(d: Domain, search: Search, number: int, per_page: int
                ) -> tuple[list[ImageRecord], int, int]:
    """Page ``number`` (from 1) of the search's results: ``(records, pages, total)``.

    Raises:
        NotFound: there is no such page (page 1 always exists, empty when nothing matches).
        DocumentDamaged, StorageUnavailable.
    """
    per_page = max(1, min(1000, int(per_page)))
    view = d.catalog.view()
    rows = matching(view, search)
    pages = max(1, -(-len(rows) // per_page))
    if not 1 <= number <= pages:
        raise NotFound(f"There is no page {number}; the search has {pages}.")
    start = (number - 1) * per_page
    return _records(view, rows[start:start + per_page]), pages, len(rows)


def tags_in_use(d: Domain, limit: int = 500) -> list[str]:
    """The tags images have, most used first (as first spelled), at most ``limit``.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    counts: dict[str, list[Any]] = {}
    for row in d.catalog.view().search_rows():
        for tag in row.tags:
            entry = counts.setdefault(tag.casefold(), [0, tag])
            entry[0] += 1
    ranked = sorted(counts.values(), key=lambda e: (-e[0], e[1].casefold()))
    return [tag for _, tag in ranked[:limit]]
