"""Reindex rebuilds the catalog from the bucket alone, safely while others write."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from gallery.catalog import Add, Remove
from gallery.errors import StorageUnavailable
from gallery.images.record import ImageRecord
from gallery.images.service import Images
from gallery.storage.base import ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from tests.images import (
    ALICE,
    image_keys,
    make_image,
    make_images,
    stored_records,
)


def upload(images: Images, seed: int, by: str = "alice") -> str:
    return images.upload(make_image("jpeg", seed=seed), f"{seed}.jpg", uploaded_by=by).image["id"]


def test_the_catalog_is_rebuilt_from_the_bucket_alone(images: Images) -> None:
    ids = [upload(images, seed) for seed in range(3)]
    images.update(ids[1], {"title": "Edited", "description": "kept"}, actor=ALICE)
    before = stored_records(images)
    images.d.storage.delete(images.d.keys.index)

    report = images.reindex()
    assert report.added == sorted(ids) and report.total == 3
    assert (report.dropped, report.updated, report.unchanged, report.repaired) == ([], [], 0, False)
    assert stored_records(images) == before
    assert images.get(ids[1])["title"] == "Edited"
    assert images.list_images(limit=10)[0][0]["id"] == ids[2]
    stored = orjson.loads(images.d.storage.get(images.d.keys.index))
    assert stored["format"] == 2 and "rebuilt_at" in stored


def test_a_second_reindex_changes_nothing(images: Images) -> None:
    ids = [upload(images, seed) for seed in range(3)]
    report = images.reindex()
    assert (report.added, report.dropped, report.updated, report.unchanged) == ([], [], [], 3)
    assert sorted(stored_records(images)) == sorted(ids)


def test_reindex_reports_added_dropped_and_updated(images: Images) -> None:
    keys = images.d.keys
    gone, thinned, orphan, fine = (upload(images, seed) for seed in range(4))
    images.d.storage.delete(keys.original(gone))  # an image whose original vanished
    images.d.storage.delete(keys.variant(thinned, "lg"))  # a thumbnail vanished

    lost = images.record(orphan)  # an image the catalog lost
    images.catalog.apply([Remove(lost.key, orphan)])

    report = images.reindex()
    assert report.added == [orphan]
    assert report.dropped == [gone]
    assert report.updated == [thinned]
    assert report.unchanged == 1
    assert report.total == 3
    assert set(stored_records(images)) == {thinned, orphan, fine}
    assert set(images.get(thinned)["variants"]) == {"md", "sm"}


@pytest.mark.parametrize("damaged", ["root", "shard"])
def test_a_damaged_catalog_is_repaired(images: Images, damaged: str) -> None:
    ids = [upload(images, seed) for seed in range(2)]
    before = stored_records(images)
    storage, keys = images.d.storage, images.d.keys
    if damaged == "root":
        storage.put(keys.index, b"\x00garbage")
    else:
        (shard,) = [info.key for info in storage.list(keys.shards_prefix)]
        storage.put(shard, b"\x00garbage")
    fresh = make_images(storage, prefix=keys.prefix)
    report = fresh.reindex()
    assert report.added == sorted(ids)
    assert report.repaired is (damaged == "root")
    assert stored_records(fresh) == stored_records(make_images(storage, prefix=keys.prefix)) == before


def test_an_unreadable_meta_json_keeps_the_catalog_record(images: Images) -> None:
    damaged, lost, fine = (upload(images, seed) for seed in range(3))
    before = stored_records(images)
    images.d.storage.put(images.d.keys.meta(damaged), b"{not json")
    images.d.storage.delete(images.d.keys.meta(lost))
    report = images.reindex()
    assert report.damaged == [damaged]
    assert report.kept == sorted([damaged, lost])
    assert stored_records(images) == before


def test_only_one_of_several_copies_of_the_same_bytes_is_in_the_catalog(
    images: Images,
) -> None:
    keys, storage_ = images.d.keys, images.d.storage
    first = upload(images, 1)
    # a second, complete copy under another id (a duplicate race whose cleanup failed)
    copy = "f" * 32
    for name in ("original", "sm.webp", "lg.webp"):
        source = f"{keys.image_prefix(first)}{name}"
        data, info = storage_.read(source)
        storage_.put(f"{keys.image_prefix(copy)}{name}", data, content_type=info.content_type)
    record = orjson.loads(storage_.get(keys.meta(first)))
    record["id"] = copy
    storage_.put(keys.meta(copy), orjson.dumps(record))
    report = images.reindex()
    assert report.duplicates == [copy]
    assert list(stored_records(images)) == [first]


def test_objects_of_other_prefixes_are_ignored(storage: MemoryStorage) -> None:
    ours, theirs = make_images(storage, prefix="a/"), make_images(storage, prefix="b/")
    upload(theirs, 1)
    mine = upload(ours, 2)
    storage.delete(ours.d.keys.index)
    assert ours.reindex().added == [mine]


# --- racing ------------------------------------------------------------------


class HookedStorage(MemoryStorage):
    """Runs ``hook`` once, when the first key ending with ``only`` (a ``meta.json``) is read:
    reindex has listed by then.

    With ``after`` set, the hook runs once that read has its bytes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None
        self.after = False
        self.only = "meta.json"

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        hook = None
        if key.endswith(self.only) and self.hook is not None:
            hook, self.hook = self.hook, None
        if hook is not None and not self.after:
            hook()
        result = super().read(key)
        if hook is not None and self.after:
            hook()
        return result


def test_an_upload_after_the_listing_is_kept() -> None:
    bucket = HookedStorage()
    admin, uploader = make_images(bucket), make_images(bucket)
    existing = upload(uploader, 1)
    late: list[str] = []
    bucket.hook = lambda: late.append(upload(uploader, 2))
    report = admin.reindex()
    assert set(stored_records(admin)) == {existing, late[0]}
    assert report.kept == late and report.dropped == []


def test_an_upload_half_done_at_listing_time_is_kept() -> None:
    bucket = HookedStorage()
    admin, uploader = make_images(bucket), make_images(bucket)
    existing = upload(uploader, 1)
    # the listing sees an original without meta.json; the upload completes before the write
    half = "e" * 32
    bucket.put(admin.d.keys.original(half), make_image("jpeg", seed=9))

    def finish() -> None:
        record = dict(stored_records(admin)[existing], id=half, sha256="0" * 64)
        bucket.put(admin.d.keys.meta(half), orjson.dumps(record))

        uploader.catalog.apply([Add(ImageRecord.from_json(record))])

    bucket.hook = finish
    admin.reindex()
    assert set(stored_records(admin)) == {existing, half}


def test_a_delete_during_reindex_is_not_undone() -> None:
    bucket = HookedStorage()
    admin, owner = make_images(bucket), make_images(bucket)
    doomed, kept = upload(owner, 1), upload(owner, 2)
    # reindex has read the doomed image's meta.json when the delete happens
    bucket.hook, bucket.after, bucket.only = (
        lambda: owner.delete(doomed, actor=ALICE), True, owner.d.keys.meta(doomed))
    report = admin.reindex()
    assert set(stored_records(admin)) == {kept}
    assert {owner.d.keys.image_id_of(k) for k in image_keys(bucket, owner.d.keys)} == {kept}
    assert report.dropped == [] and report.added == []  # the delete did it, not the reindex


def test_an_edit_during_reindex_is_not_undone() -> None:
    bucket = HookedStorage()
    admin, owner = make_images(bucket), make_images(bucket)
    image_id = upload(owner, 1)
    # reindex has read the old meta.json when the edit lands
    bucket.hook, bucket.after = lambda: owner.update(image_id, {"title": "during"}, actor=ALICE), True
    report = admin.reindex()
    assert admin.get(image_id)["title"] == "during"
    admin.reindex()
    assert admin.get(image_id)["title"] == "during"
    assert report.unchanged == 1 and report.updated == []  # the edit is newer than meta.json read


def test_reindex_while_uploads_continue_loses_nothing(storage: MemoryStorage) -> None:
    uploader, admin = make_images(storage), make_images(storage)
    uploaded: list[str] = []
    errors: list[BaseException] = []

    def keep_uploading() -> None:
        try:
            for seed in range(12):
                uploaded.append(upload(uploader, 100 + seed))
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=keep_uploading)
    thread.start()
    for _ in range(4):
        admin.reindex()
    thread.join(timeout=60)
    assert not thread.is_alive() and errors == []
    assert set(stored_records(admin)) == set(uploaded)
    admin.reindex()
    assert set(stored_records(admin)) == set(uploaded) and len(uploaded) == 12


def catalog_objects(storage: Storage, images: Images) -> dict[str, bytes]:
    """The root and every shard and hash bucket, by key."""
    keys = images.d.keys
    found = {info.key: storage.get(info.key) for info in storage.list(keys.catalog_prefix)}
    return {keys.index: storage.get(keys.index), **found}


def test_storage_down_during_reindex_changes_nothing() -> None:
    class Down(MemoryStorage):
        down = False

        def read(self, key: str) -> tuple[bytes, ObjectInfo]:
            if self.down and key.endswith("meta.json"):
                raise StorageUnavailable("injected")
            return super().read(key)

    bucket = Down()
    images = make_images(bucket)
    upload(images, 1)
    before = catalog_objects(bucket, images)
    bucket.down = True
    with pytest.raises(StorageUnavailable):
        images.reindex()
    assert catalog_objects(bucket, images) == before


class ReindexAfterMeta(MemoryStorage):
    """Runs ``hook`` once, right after the first ``meta.json`` is stored: an upload is
    between its meta.json and its index write."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None

    def put(self, key: str, data: Any, **kwargs: Any) -> ObjectInfo:
        info = super().put(key, data, **kwargs)
        if key.endswith("meta.json") and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return info


def test_an_upload_a_reindex_took_in_midway_is_not_its_own_duplicate() -> None:
    bucket = ReindexAfterMeta()
    admin, uploader = make_images(bucket), make_images(bucket)
    reports: list[Any] = []
    bucket.hook = lambda: reports.append(admin.reindex())
    result = uploader.upload(make_image("jpeg", seed=7), "a.jpg", uploaded_by="alice")
    image_id = result.image["id"]
    assert reports[0].added == [image_id]  # the reindex found it first
    assert not result.duplicate
    assert list(stored_records(admin)) == [image_id]
    assert {uploader.d.keys.image_id_of(k) for k in image_keys(bucket, uploader.d.keys)} == {image_id}
    assert admin.media(image_id, "sm").size > 0
