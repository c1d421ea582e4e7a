"""The admin image table: sort, filter and page the catalog's rows.

Pure functions over :class:`~gallery.catalog.catalog.AdminRow` objects (or
anything with the same attributes); no Flask, no storage.
A :class:`Query` is parsed from (and written back to) a URL's query string, so
a table's whole state -- sort, filters, page -- lives in its link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gallery.errors import BadRequest

#: Sortable columns and the key each sorts by.
SORTS: dict[str, Callable[[Any], Any]] = {
    "date": lambda r: r.created_at,
    "size": lambda r: r.size,
    "name": lambda r: (display_name(r).casefold(), r.filename.casefold()),
    "uploader": lambda r: r.uploaded_by.casefold(),
}
ORDERS = ("asc", "desc")
#: The order a column starts in when its header is first clicked.
FIRST_ORDER = {"date": "desc", "size": "desc", "name": "asc", "uploader": "asc"}
DEFAULT_PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)
MAX_TEXT = 200


def display_name(row: Any) -> str:
    """What the table shows as an image's name: its title, else its filename."""
    return str(row.title or row.filename or "")


@dataclass(frozen=True, slots=True)
class Query:
    """One state of the image table.

    Attributes:
        sort: a key of :data:`SORTS`.
        order: ``"asc"`` or ``"desc"``.
        uploader: only this uploader's images (``""``: everyone's).
        content_type: only this type, e.g. ``image/png`` (``""``: all).
        text: only images whose filename or title contains this, any case.
        page: the page number, from 1.
        per_page: rows per page, one of :data:`PER_PAGE_CHOICES`.
    """

    sort: str = "date"
    order: str = "desc"
    uploader: str = ""
    content_type: str = ""
    text: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the table."""
        return bool(self.uploader or self.content_type or self.text)

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query-string arguments of this state (with ``changes``); defaults left out."""
        state = replace(self, **changes) if changes else self
        defaults = Query()
        args = {
            "sort": state.sort,
            "order": state.order,
            "uploader": state.uploader,
            "type": state.content_type,
            "q": state.text,
            "page": str(state.page),
            "per_page": str(state.per_page),
        }
        default_args = {
            "sort": defaults.sort,
            "order": defaults.order,
            "uploader": "",
            "type": "",
            "q": "",
            "page": "1",
            "per_page": str(defaults.per_page),
        }
        return {name: value for name, value in args.items() if value != default_args[name]}

    def sorted_by(self, column: str) -> dict[str, str]:
        """The arguments of the link on a column header: toggle if sorted by it, else start it."""
        if column == self.sort:
            order = "asc" if self.order == "desc" else "desc"
        else:
            order = FIRST_ORDER[column]
        return self.to_args(sort=column, order=order, page=1)

    def aria_sort(self, column: str) -> str:
        """The ``aria-sort`` value of a column header."""
        if column != self.sort:
            return "none"
        return "ascending" if self.order == "asc" else "descending"


def _whole_number(raw: str, name: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadRequest(f"{name} must be a whole number from 1.")
    return int(raw)


def parse_query(args: Mapping[str, str]) -> Query:
    """A :class:`Query` from query-string arguments (``sort``, ``order``, ``uploader``,
    ``type``, ``q``, ``page``, ``per_page``); missing ones take their defaults.

    Raises:
        BadRequest: an unknown sort or order, a page or page size that is not
            allowed, or search text that is too long.
    """
    sort = args.get("sort") or "date"
    if sort not in SORTS:
        raise BadRequest(f"The table sorts by one of: {', '.join(SORTS)}.")
    order = args.get("order") or FIRST_ORDER[sort]
    if order not in ORDERS:
        raise BadRequest("The order is asc or desc.")
    per_page = _whole_number(args.get("per_page") or str(DEFAULT_PER_PAGE), "The page size")
    if per_page not in PER_PAGE_CHOICES:
        raise BadRequest(f"The page size is one of {', '.join(map(str, PER_PAGE_CHOICES))}.")
    text = (args.get("q") or "").strip()
    if len(text) > MAX_TEXT:
        raise BadRequest(f"The search text can have at most {MAX_TEXT} characters.")
    return Query(
        sort=sort,
        order=order,
        uploader=(args.get("uploader") or "").strip(),
        content_type=(args.get("type") or "").strip(),
        text=text,
        page=_whole_number(args.get("page") or "1", "The page number"),
        per_page=per_page,
    )


@dataclass(frozen=True, slots=True)
class CatalogPage:
    """One page of the table.

    Attributes:
        rows: the rows on this page, in table order.
        query: the state shown; its page is clamped to the pages that exist.
        total: records matching the filters (on every page).
        pages: how many pages the matching records fill (at least 1).
        uploaders: every uploader in the index, for the filter's choices.
        content_types: every content type in the index, for the filter's choices.
    """

    rows: list[Any]
    query: Query
    total: int
    pages: int
    uploaders: list[str]
    content_types: list[str]

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages

    @property
    def first_row(self) -> int:
        """The 1-based position of the first row shown (0 when there is none)."""
        return (self.query.page - 1) * self.query.per_page + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


def matches(row: Any, query: Query) -> bool:
    """Whether a row passes the query's filters."""
    if query.uploader and row.uploaded_by != query.uploader:
        return False
    if query.content_type and row.content_type != query.content_type:
        return False
    if query.text:
        needle = query.text.casefold()
        if needle not in row.filename.casefold() and needle not in row.title.casefold():
            return False
    return True


def order_records(rows: Iterable[Any], query: Query) -> list[Any]:
    """Rows in the query's order; ties fall back to newest first, then id, so pages are stable."""
    reverse = query.order == "desc"
    # Two stable sorts: the tie-breaker first, then the column.
    ordered = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    if query.sort == "date":
        return ordered if reverse else ordered[::-1]
    return sorted(ordered, key=SORTS[query.sort], reverse=reverse)


def search(records: Iterable[Any], query: Query) -> CatalogPage:
    """Filter, sort and cut one page out of ``records``.

    A page past the end shows the last page instead (after deleting the last
    rows of the last page, the table stays where it was rather than failing).
    """
    everything = list(records)
    found = order_records((r for r in everything if matches(r, query)), query)
    pages = max(1, -(-len(found) // query.per_page))
    query = replace(query, page=min(query.page, pages))
    start = (query.page - 1) * query.per_page
    return CatalogPage(
        rows=found[start : start + query.per_page],
        query=query,
        total=len(found),
        pages=pages,
        uploaders=sorted({r.uploaded_by for r in everything} - {""}),
        content_types=sorted({r.content_type for r in everything} - {""}),
    )
