"""The JSON index: shape, ordering, the per-process cache, damage and cursors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest
from gallery.index import ImageIndex, decode_cursor, encode_cursor
from gallery.keys import Keys, new_image_id
from gallery.storage.base import ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from tests.service import open_backend

KEYS = Keys("p/")


class CountingStorage(MemoryStorage):
    """Counts the calls that revalidate and download the index."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = 0
        self.reads = 0

    def stat(self, key: str) -> ObjectInfo:
        self.stats += 1
        return super().stat(key)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        self.reads += 1
        return super().read(key)

    def reset(self) -> None:
        self.stats = self.reads = 0


def record(created_at: str, sha: str, **extra: Any) -> dict[str, Any]:
    return {"created_at": created_at, "sha256": sha, **extra}


def add(index: ImageIndex, image_id: str, rec: dict[str, Any]) -> None:
    def mutate(value: dict[str, Any]) -> None:
        value["images"][image_id] = {"id": image_id, **rec}

    index.update(mutate)


def test_missing_index_is_empty(storage: Storage) -> None:  # noqa: F811
    snapshot = ImageIndex(storage, KEYS).snapshot()
    assert snapshot.version is None
    assert len(snapshot) == 0 and dict(snapshot.images) == {} and snapshot.ordered == ()
    assert not storage.exists(KEYS.index)


def test_update_stores_the_documented_shape(storage: Storage) -> None:  # noqa: F811
    index = ImageIndex(storage, KEYS)
    image_id = new_image_id()
    add(index, image_id, record("2026-01-01T00:00:00.000Z", "a" * 64))
    stored = orjson.loads(storage.get("p/index.json"))
    assert stored == {"format": 1, "images": {image_id: {"id": image_id, **record(
        "2026-01-01T00:00:00.000Z", "a" * 64)}}}


def test_order_is_newest_first_then_by_id_and_shas_are_indexed(storage: Storage) -> None:  # noqa: F811
    index = ImageIndex(storage, KEYS)
    old, tie_low, tie_high, new = "1" * 32, "2" * 32, "3" * 32, "4" * 32
    add(index, tie_low, record("2026-05-01T00:00:00.000Z", "b" * 64))
    add(index, new, record("2026-06-01T00:00:00.000Z", "c" * 64, upload_sha256="d" * 64))
    add(index, old, record("2026-04-01T00:00:00.000Z", "e" * 64))
    add(index, tie_high, record("2026-05-01T00:00:00.000Z", "f" * 64))
    snapshot = ImageIndex(storage, KEYS).snapshot()  # a fresh process reads the same
    assert snapshot.ordered == (new, tie_high, tie_low, old)
    assert snapshot.by_sha["c" * 64] == new and snapshot.by_sha["d" * 64] == new
    assert snapshot.by_sha["e" * 64] == old
    assert snapshot.position_after("2026-05-01T00:00:00.000Z", tie_high) == 2
    assert snapshot.position_after("2026-05-01T00:00:00.000Z", "25" + "0" * 30) == 2
    assert snapshot.position_after("2027-01-01T00:00:00.000Z", "0" * 32) == 0
    assert snapshot.position_after("2000-01-01T00:00:00.000Z", "0" * 32) == 4


def test_unchanged_index_costs_one_stat_and_no_download() -> None:
    bucket = CountingStorage()
    index = ImageIndex(bucket, KEYS)
    add(index, new_image_id(), record("2026-01-01T00:00:00.000Z", "a" * 64))
    first = index.snapshot()
    bucket.reset()
    second = index.snapshot()
    assert second is first
    assert (bucket.stats, bucket.reads) == (1, 0)


def test_a_write_by_another_process_is_seen_with_one_download() -> None:
    bucket = CountingStorage()
    ours, theirs = ImageIndex(bucket, KEYS), ImageIndex(bucket, KEYS)
    assert len(ours.snapshot()) == 0
    add(theirs, new_image_id(), record("2026-01-01T00:00:00.000Z", "a" * 64))
    bucket.reset()
    assert len(ours.snapshot()) == 1
    assert (bucket.stats, bucket.reads) == (1, 1)
    bucket.reset()
    assert len(ours.snapshot()) == 1
    assert (bucket.stats, bucket.reads) == (1, 0)


def test_update_refreshes_the_cache_with_what_it_wrote() -> None:
    bucket = CountingStorage()
    index = ImageIndex(bucket, KEYS)
    image_id = new_image_id()
    add(index, image_id, record("2026-01-01T00:00:00.000Z", "a" * 64))
    bucket.reset()
    assert image_id in index.snapshot().images
    assert bucket.reads == 0


def test_concurrent_readers_share_one_download() -> None:
    bucket = CountingStorage()
    ours, theirs = ImageIndex(bucket, KEYS), ImageIndex(bucket, KEYS)
    ours.snapshot()
    add(theirs, new_image_id(), record("2026-01-01T00:00:00.000Z", "a" * 64))
    bucket.reset()
    barrier = threading.Barrier(8)
    seen: list[int] = []

    def read() -> None:
        barrier.wait(timeout=10)
        seen.append(len(ours.snapshot()))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert seen == [1] * 8
    assert bucket.reads == 1


@pytest.mark.parametrize(
    "damage",
    [
        b"not json at all",
        b"",
        b"[]",
        b'{"format": 2, "images": {}}',
        b'{"format": 1}',
        b'{"format": 1, "images": {"not-an-id": {"created_at": "x", "sha256": "y"}}}',
        b'{"format": 1, "images": {"' + b"a" * 32 + b'": {"sha256": "y"}}}',
    ],
)
def test_a_damaged_index_stops_readers_and_writers_and_is_left_untouched(
    storage: Storage, damage: bytes  # noqa: F811
) -> None:
    storage.put(KEYS.index, damage)
    index = ImageIndex(storage, KEYS)
    with pytest.raises(DocumentDamaged):
        index.snapshot()
    with pytest.raises(DocumentDamaged):
        add(index, new_image_id(), record("2026-01-01T00:00:00.000Z", "a" * 64))
    assert storage.get(KEYS.index) == damage


def test_rebuild_replaces_a_damaged_index_and_says_so(storage: Storage) -> None:  # noqa: F811
    storage.put(KEYS.index, b"{broken")
    index = ImageIndex(storage, KEYS)
    image_id = new_image_id()

    def mutate(value: dict[str, Any]) -> str:
        assert value == {"format": 1, "images": {}}
        value["images"][image_id] = record("2026-01-01T00:00:00.000Z", "a" * 64)
        return "done"

    assert index.rebuild(mutate) == ("done", True)
    assert list(index.snapshot().images) == [image_id]
    assert index.rebuild(lambda value: None) == (None, False)


def test_file_backend_shares_the_index_between_instances(tmp_path: Path) -> None:
    bucket = open_backend("file", tmp_path)
    add(ImageIndex(bucket, KEYS), "a" * 32, record("2026-01-01T00:00:00.000Z", "a" * 64))
    other = open_backend("file", tmp_path)
    assert list(ImageIndex(other, KEYS).snapshot().images) == ["a" * 32]


def test_cursor_round_trip() -> None:
    cursor = encode_cursor("2026-11-21T08:30:00.123Z", "a" * 32)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == ("2026-11-21T08:30:00.123Z", "a" * 32)


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!!",
        "é",
        encode_cursor("2026-11-21T08:30:00.123Z", "a" * 32)[:-3],
        encode_cursor("yesterday", "a" * 32),
        encode_cursor("2026-11-21T08:30:00.123Z", "A" * 32),
        encode_cursor("2026-11-21T08:30:00.123Z", "a" * 32 + "|x"),
        "A" * 500,
    ],
)
def test_malformed_cursors_are_bad_requests(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


def test_a_write_from_an_up_to_date_cache_downloads_nothing() -> None:
    bucket = CountingStorage()
    index = ImageIndex(bucket, KEYS)
    add(index, "1" * 32, record("2026-01-01T00:00:00.000Z", "a" * 64))
    before = index.snapshot()
    bucket.reset()
    add(index, "2" * 32, record("2026-01-02T00:00:00.000Z", "b" * 64))
    assert bucket.reads == 0
    assert set(orjson.loads(bucket.get(KEYS.index))["images"]) == {"1" * 32, "2" * 32}
    assert set(before.images) == {"1" * 32}  # the earlier snapshot is not changed


def test_a_write_from_a_stale_cache_starts_from_the_stored_index() -> None:
    bucket = CountingStorage()
    ours, theirs = ImageIndex(bucket, KEYS), ImageIndex(bucket, KEYS)
    add(ours, "1" * 32, record("2026-01-01T00:00:00.000Z", "a" * 64))
    add(theirs, "2" * 32, record("2026-01-02T00:00:00.000Z", "b" * 64))
    bucket.reset()
    add(ours, "3" * 32, record("2026-01-03T00:00:00.000Z", "c" * 64))
    assert bucket.reads == 1
    assert set(ours.snapshot().images) == {"1" * 32, "2" * 32, "3" * 32}
    assert ImageIndex(bucket, KEYS).snapshot().ordered == ("3" * 32, "2" * 32, "1" * 32)


def test_a_lost_race_is_retried_on_the_winners_index(storage: Storage) -> None:  # noqa: F811
    ours, theirs = ImageIndex(storage, KEYS), ImageIndex(storage, KEYS)
    add(ours, "1" * 32, record("2026-01-01T00:00:00.000Z", "a" * 64))
    ours.snapshot()
    calls = 0

    def mutate(value: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # someone else writes between our read and our write
            add(theirs, "2" * 32, record("2026-01-02T00:00:00.000Z", "b" * 64))
        value["images"]["3" * 32] = record("2026-01-03T00:00:00.000Z", "c" * 64)

    ours.update(mutate)
    assert calls == 2
    assert set(ImageIndex(storage, KEYS).snapshot().images) == {"1" * 32, "2" * 32, "3" * 32}
