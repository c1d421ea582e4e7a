"""Reading the catalog: an empty gallery, the per-process cache, damage and cursors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gallery.catalog import decode_cursor, encode_cursor
from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest
from gallery.images.service import Images
from gallery.storage.base import ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from tests.images import (
    StepClock,
    catalog_records,
    image_keys,
    make_image,
    make_images,
    open_backend,
)

PREFIX = "p/"


class CountingStorage(MemoryStorage):
    """Counts the calls that revalidate and download the catalog (root and shards)."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = 0
        self.reads = 0

    @staticmethod
    def _catalog(key: str) -> bool:
        return key.endswith("index.json") or "/catalog/shards/" in f"/{key}"

    def stat(self, key: str) -> ObjectInfo:
        self.stats += self._catalog(key)
        return super().stat(key)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        self.reads += self._catalog(key)
        return super().read(key)

    def reset(self) -> None:
        self.stats = self.reads = 0


def upload(images: Images, seed: int) -> str:
    return images.upload(make_image("png", seed=seed), f"{seed}.png",
                         uploaded_by="alice").image["id"]


def shard_keys(storage: Storage, images: Images) -> list[str]:
    return [info.key for info in storage.list(images.d.keys.shards_prefix)]


def test_a_missing_catalog_is_an_empty_gallery(storage: Storage) -> None:
    images = make_images(storage, prefix=PREFIX)
    view = images.view()
    assert view.total == 0 and list(view.records()) == [] and view.ids() == set()
    assert images.list_images(limit=10) == ([], None)
    assert not storage.exists(images.d.keys.index)


def test_an_unchanged_catalog_is_read_from_the_cache() -> None:
    bucket = CountingStorage()
    images = make_images(bucket, prefix=PREFIX)
    upload(images, 1)
    first = images.list_images(limit=10)
    bucket.reset()
    assert images.list_images(limit=10) == first
    assert bucket.reads == 0  # one stat of the root; the shard only if not checked lately
    assert 1 <= bucket.stats <= 2


def test_a_write_by_another_process_is_seen() -> None:
    bucket = CountingStorage()
    clock = StepClock()  # one clock: the two instances' uploads follow each other in time
    ours = make_images(bucket, prefix=PREFIX, clock=clock)
    theirs = make_images(bucket, prefix=PREFIX, clock=clock)
    first = upload(ours, 1)
    assert [i["id"] for i in ours.list_images(limit=10)[0]] == [first]
    second = upload(theirs, 2)
    bucket.reset()
    assert [i["id"] for i in ours.list_images(limit=10)[0]] == [second, first]
    assert bucket.reads == 2  # the changed root and the changed shard
    bucket.reset()
    assert len(ours.list_images(limit=10)[0]) == 2
    assert bucket.reads == 0


def test_a_write_refreshes_the_cache_with_what_it_wrote() -> None:
    bucket = CountingStorage()
    images = make_images(bucket, prefix=PREFIX)
    upload(images, 1)
    images.list_images(limit=10)
    bucket.reset()
    image_id = upload(images, 2)
    assert bucket.reads == 0  # the write started from the cached root and shard
    assert images.list_images(limit=10)[0][0]["id"] == image_id
    assert bucket.reads == 0


def test_a_write_from_a_stale_cache_starts_from_the_stored_catalog() -> None:
    bucket = CountingStorage()
    clock = StepClock()  # one clock: the two instances' uploads follow each other in time
    ours = make_images(bucket, prefix=PREFIX, clock=clock)
    theirs = make_images(bucket, prefix=PREFIX, clock=clock)
    one = upload(ours, 1)
    two = upload(theirs, 2)
    three = upload(ours, 3)
    assert list(catalog_records(ours)) == [one, two, three]
    fresh = make_images(bucket, prefix=PREFIX)
    assert [i["id"] for i in fresh.list_images(limit=10)[0]] == [three, two, one]


def test_file_backend_shares_the_catalog_between_instances(tmp_path: Path) -> None:
    image_id = upload(make_images(open_backend("file", tmp_path), prefix=PREFIX), 1)
    other = make_images(open_backend("file", tmp_path), prefix=PREFIX)
    assert list(catalog_records(other)) == [image_id]
    assert other.get(image_id)["id"] == image_id


ROOT_DAMAGE = [
    b"not json at all",
    b"",
    b"[]",
    b'{"format": 3, "shards": []}',
    b'{"format": 2}',
    b'{"format": 2, "shards": [{"name": "not-a-name", "lo": null}]}',
    # an index of an earlier release that cannot be upgraded
    b'{"format": 1}',
    b'{"format": 1, "images": {"not-an-id": {"created_at": "x", "sha256": "y"}}}',
    b'{"format": 1, "images": {"' + b"a" * 32 + b'": {"sha256": "y"}}}',
]


@pytest.mark.parametrize("damage", ROOT_DAMAGE)
def test_a_damaged_root_stops_readers_and_writers_and_is_left_untouched(
    storage: Storage, damage: bytes
) -> None:
    images = make_images(storage, prefix=PREFIX)
    storage.put(images.d.keys.index, damage)
    for read in (images.view, lambda: images.list_images(limit=10), lambda: images.page(1, 10),
                 lambda: images.get("a" * 32)):
        with pytest.raises(DocumentDamaged) as caught:
            read()
        assert caught.value.status == 503
    with pytest.raises(DocumentDamaged):
        upload(images, 1)
    assert storage.get(images.d.keys.index) == damage
    assert image_keys(storage, images.d.keys) == []


SHARD_DAMAGE = [
    b"not json at all",
    b"[]",
    b'{"format": 2, "lo": null, "hi": null}',
    b'{"format": 2, "lo": null, "hi": null, "images": [{"id": "nope"}]}',
]


@pytest.mark.parametrize("damage", SHARD_DAMAGE)
def test_a_damaged_shard_stops_readers_and_writers_and_is_left_untouched(
    storage: Storage, damage: bytes
) -> None:
    image_id = upload(make_images(storage, prefix=PREFIX), 1)
    images = make_images(storage, prefix=PREFIX)
    (shard,) = shard_keys(storage, images)
    storage.put(shard, damage)
    for read in (lambda: images.list_images(limit=10), lambda: images.page(1, 10),
                 lambda: images.get(image_id)):
        with pytest.raises(DocumentDamaged) as caught:
            read()
        assert caught.value.status == 503
    with pytest.raises(DocumentDamaged):
        upload(images, 2)
    assert storage.get(shard) == damage
    assert {images.d.keys.image_id_of(k) for k in image_keys(storage, images.d.keys)} == {image_id}


def test_a_missing_shard_is_damage_too(storage: Storage) -> None:
    image_id = upload(make_images(storage, prefix=PREFIX), 1)
    images = make_images(storage, prefix=PREFIX)
    (shard,) = shard_keys(storage, images)
    storage.delete(shard)
    with pytest.raises(DocumentDamaged, match="reindex"):
        images.get(image_id)


def test_cursor_round_trip() -> None:
    cursor = encode_cursor("2026-11-21T08:30:00.123Z", "a" * 32)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == "2026-11-21T08:30:00.123Z|" + "a" * 32


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
