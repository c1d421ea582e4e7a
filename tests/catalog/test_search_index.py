"""The search tables: what a shard's bytes become, and how rows are matched."""

from __future__ import annotations

import orjson
import pytest

from gallery.catalog.search_index import (
    ALL_CAMERAS,
    NO_CAMERAS,
    Cameras,
    SearchIndex,
    ShardTable,
    taken_key,
)
from gallery.images.record import ImageRecord

BASE = {"content_type": "image/png", "format": "PNG", "size": 1, "width": 1, "height": 1,
        "sha256": "0" * 64, "uploaded_by": "ada", "title": ""}


def record(n: int, **fields) -> dict:
    return {**BASE, "id": f"{n:032x}", "filename": f"f{n}.png",
            "created_at": f"2026-11-21T08:30:{n:02d}.000Z", **fields}


def table(*records: dict) -> ShardTable:
    return ShardTable.decode("v1", orjson.dumps({"format": 2, "images": list(records)}))


@pytest.mark.parametrize("taken", [None, "2019-08-01T20:15:00", "2019-08-01T20:15:00+02:00",
                                   "2020-03-01T23:30:00-05:00", "0999-01-01T00:00:00"])
def test_the_order_by_date_taken_is_the_records_own(taken):
    fields = record(1, **({"taken_at": taken} if taken else {}))
    assert taken_key(taken, fields["created_at"]) == ImageRecord.from_json(fields).taken_sort_key


def test_words_are_case_folded_and_camera_words_only_where_allowed():
    rows = table(
        record(1, title="Straße", description="with a \x00 in it", tags=["Pier"]),
        record(2, camera={"make": "Canon", "model": "EOS R5"}, uploaded_by="bob"),
        record(3, title="CANON the song"),
    )
    assert rows.matches(["strasse"], None, NO_CAMERAS) == [0]  # folded, though a row holds \x00
    assert rows.matches(["pier"], None, NO_CAMERAS) == [0]
    assert rows.matches(["canon"], None, NO_CAMERAS) == [2]
    assert rows.matches(["canon"], None, ALL_CAMERAS) == [1, 2]
    assert rows.matches(["canon"], None, Cameras(False, "bob")) == [1, 2]
    assert rows.matches(["canon"], None, Cameras(False, "ada")) == [2]
    assert rows.matches([], "pier", NO_CAMERAS) == [0]
    assert rows.matches(["eos", "r5"], None, ALL_CAMERAS) == [1]


def test_an_index_numbers_rows_across_tables_and_orders_them_by_date_taken():
    first = table(record(1, taken_at="2024-01-01T00:00:00"), record(2))
    second = table(record(3, taken_at="2001-01-01T00:00:00+01:00"))
    index = SearchIndex([first, second])
    assert len(index) == 3 and index.locate(2) == (second, 0)
    order, keys = index.taken_order()
    assert order == [2, 0, 1] and keys == sorted(keys)
    assert index.matches([], None, NO_CAMERAS) == [0, 1, 2]
