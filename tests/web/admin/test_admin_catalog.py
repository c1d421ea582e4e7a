"""The image table's query: parsing, filters, sort orders and pages (pure functions)."""

from __future__ import annotations

import pytest

from gallery.catalog import AdminRow, table
from gallery.catalog.table import Query, parse_query, search
from gallery.errors import BadRequest


def record(n: int, **fields) -> AdminRow:
    base = {
        "id": f"{n:032x}",
        "filename": f"file{n}.png",
        "title": f"Title {n}",
        "content_type": "image/png",
        "size": 1000 + n,
        "created_at": f"2026-01-{n + 1:02d}T10:00:00.000Z",
        "uploaded_by": "bob",
    }
    return AdminRow(**{**base, **fields})


RECORDS = [
    record(0, title="Sunset over Lisbon", uploaded_by="ada", size=5000),
    record(1, title="", filename="Café.JPG", content_type="image/jpeg", size=300),
    record(2, title="beach", uploaded_by="Cleo", size=900),
    record(3, title="Zebra", content_type="image/webp", size=900),
    record(4, title="apple", uploaded_by="ada", size=20),
]


def ids(page) -> list[int]:
    return [int(r.id, 16) for r in page.rows]


def test_defaults_are_newest_first():
    query = parse_query({})
    assert query == Query()
    assert ids(search(RECORDS, query)) == [4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"sort": "date", "order": "asc"}, [0, 1, 2, 3, 4]),
        ({"sort": "size"}, [0, 3, 2, 1, 4]),  # largest first; the tie (900) newest first
        ({"sort": "size", "order": "asc"}, [4, 1, 3, 2, 0]),  # ties stay newest first
        ({"sort": "name"}, [4, 2, 1, 0, 3]),  # title, else filename; any case
        ({"sort": "name", "order": "desc"}, [3, 0, 1, 2, 4]),
        ({"sort": "uploader"}, [4, 0, 3, 1, 2]),  # ada, ada, bob, bob, Cleo (any case)
    ],
)
def test_sort_orders(args, expected):
    assert ids(search(RECORDS, parse_query(args))) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"uploader": "ada"}, [4, 0]),
        ({"type": "image/png"}, [4, 2, 0]),
        ({"q": "lisbon"}, [0]),  # in the title, any case
        ({"q": "café.jpg"}, [1]),  # in the filename, any case, any language
        ({"q": "FILE"}, [4, 3, 2, 0]),  # image 1 is named Café.JPG
        ({"uploader": "ada", "type": "image/png", "q": "apple"}, [4]),
        ({"uploader": "nobody"}, []),
    ],
)
def test_filters(args, expected):
    page = search(RECORDS, parse_query(args))
    assert ids(page) == expected
    assert page.total == len(expected)
    assert page.query.filtered


def test_pages_and_clamping():
    many = [record(n) for n in range(27)]
    first = search(many, parse_query({"per_page": "25"}))
    assert (first.total, first.pages, len(first.rows)) == (27, 2, 25)
    assert (first.first_row, first.last_row, first.has_previous, first.has_next) == (1, 25, False, True)
    second = search(many, parse_query({"per_page": "25", "page": "2"}))
    assert ids(second) == [1, 0]
    assert (second.first_row, second.last_row, second.has_next) == (26, 27, False)
    # A page past the end (its last rows were deleted) shows the last page.
    past = search(many, parse_query({"per_page": "25", "page": "9"}))
    assert past.query.page == 2 and ids(past) == [1, 0]
    empty = search([], Query())
    assert (empty.pages, empty.rows, empty.first_row, empty.last_row) == (1, [], 0, 0)


def test_facets_list_every_uploader_and_type_whatever_the_filter():
    page = search(RECORDS, parse_query({"uploader": "ada"}))
    assert page.uploaders == ["Cleo", "ada", "bob"]
    assert page.content_types == ["image/jpeg", "image/png", "image/webp"]


@pytest.mark.parametrize(
    "args",
    [
        {"sort": "colour"},
        {"order": "sideways"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "two"},
        {"page": "１"},  # a full-width digit
        {"per_page": "7"},
        {"per_page": "100000"},
        {"q": "x" * (table.MAX_TEXT + 1)},
    ],
)
def test_bad_arguments_are_refused_with_a_message(args):
    with pytest.raises(BadRequest) as caught:
        parse_query(args)
    assert caught.value.message


def test_the_url_keeps_the_whole_state():
    query = parse_query({"sort": "size", "order": "asc", "uploader": "ada", "type": "image/png",
                         "q": "sun", "page": "3", "per_page": "100"})
    args = query.to_args()
    assert args == {"sort": "size", "order": "asc", "uploader": "ada", "type": "image/png",
                    "q": "sun", "page": "3", "per_page": "100"}
    assert parse_query(args) == query
    assert Query().to_args() == {}


def test_header_links_toggle_the_sorted_column_and_start_others_in_their_natural_order():
    query = parse_query({"sort": "size", "page": "3", "q": "sun"})
    assert query.sorted_by("size") == {"sort": "size", "order": "asc", "q": "sun"}  # back to page 1
    assert query.sorted_by("name") == {"sort": "name", "order": "asc", "q": "sun"}
    assert Query().sorted_by("date") == {"order": "asc"}
    assert query.aria_sort("size") == "descending"
    assert query.aria_sort("name") == "none"
