"""Reindex rebuilds the index from the bucket alone, safely while others write."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from gallery.errors import StorageUnavailable
from gallery.service import GalleryService
from gallery.storage.base import ObjectInfo
from gallery.storage.memory import MemoryStorage
from tests.service import (
    ALICE,
    image_keys,
    make_image,
    make_service,
)


def upload(service: GalleryService, seed: int, by: str = "alice") -> str:  # noqa: F811
    return service.upload(make_image("jpeg", seed=seed), f"{seed}.jpg", uploaded_by=by).image["id"]


def records(service: GalleryService) -> dict[str, Any]:  # noqa: F811
    return {i: dict(r) for i, r in service.index.snapshot().images.items()}


def test_the_index_is_rebuilt_from_the_bucket_alone(service: GalleryService) -> None:  # noqa: F811
    ids = [upload(service, seed) for seed in range(3)]
    service.update(ids[1], {"title": "Edited", "description": "kept"}, actor=ALICE)
    before = records(service)
    service.storage.delete(service.keys.index)

    report = service.reindex()
    assert report.added == sorted(ids) and report.total == 3
    assert (report.dropped, report.updated, report.unchanged, report.repaired) == ([], [], 0, False)
    assert records(service) == before
    assert service.get(ids[1])["title"] == "Edited"
    assert service.list_images(limit=10)[0][0]["id"] == ids[2]
    stored = orjson.loads(service.storage.get(service.keys.index))
    assert stored["format"] == 1 and "rebuilt_at" in stored


def test_a_second_reindex_changes_nothing(service: GalleryService) -> None:  # noqa: F811
    ids = [upload(service, seed) for seed in range(3)]
    report = service.reindex()
    assert (report.added, report.dropped, report.updated, report.unchanged) == ([], [], [], 3)
    assert sorted(records(service)) == sorted(ids)


def test_reindex_reports_added_dropped_and_updated(service: GalleryService) -> None:  # noqa: F811
    keys = service.keys
    gone, thinned, orphan, fine = (upload(service, seed) for seed in range(4))
    service.storage.delete(keys.original(gone))  # an image whose original vanished
    service.storage.delete(keys.variant(thinned, "lg"))  # a thumbnail vanished

    def forget(value: dict[str, Any]) -> None:  # an image the index lost
        del value["images"][orphan]

    service.index.update(forget)

    report = service.reindex()
    assert report.added == [orphan]
    assert report.dropped == [gone]
    assert report.updated == [thinned]
    assert report.unchanged == 1
    assert report.total == 3
    assert set(records(service)) == {thinned, orphan, fine}
    assert set(service.get(thinned)["variants"]) == {"md", "sm"}


def test_a_damaged_index_is_repaired(service: GalleryService) -> None:  # noqa: F811
    ids = [upload(service, seed) for seed in range(2)]
    before = records(service)
    service.storage.put(service.keys.index, b"\x00garbage")
    report = service.reindex()
    assert report.repaired and report.added == sorted(ids)
    assert records(service) == before


def test_an_unreadable_meta_json_keeps_the_indexed_record(service: GalleryService) -> None:  # noqa: F811
    damaged, lost, fine = (upload(service, seed) for seed in range(3))
    before = records(service)
    service.storage.put(service.keys.meta(damaged), b"{not json")
    service.storage.delete(service.keys.meta(lost))
    report = service.reindex()
    assert report.damaged == [damaged]
    assert report.kept == sorted([damaged, lost])
    assert records(service) == before


def test_only_one_of_several_copies_of_the_same_bytes_is_indexed(
    service: GalleryService,  # noqa: F811
) -> None:
    keys, storage_ = service.keys, service.storage
    first = upload(service, 1)
    # a second, complete copy under another id (a duplicate race whose cleanup failed)
    copy = "f" * 32
    for name in ("original", "sm.webp", "lg.webp"):
        source = f"{keys.image_prefix(first)}{name}"
        storage_.copy(source, f"{keys.image_prefix(copy)}{name}")
    record = orjson.loads(storage_.get(keys.meta(first)))
    record["id"] = copy
    storage_.put(keys.meta(copy), orjson.dumps(record))
    report = service.reindex()
    assert report.duplicates == [copy]
    assert list(records(service)) == [first]


def test_objects_of_other_prefixes_are_ignored(storage: MemoryStorage) -> None:  # noqa: F811
    ours, theirs = make_service(storage, prefix="a/"), make_service(storage, prefix="b/")
    upload(theirs, 1)
    mine = upload(ours, 2)
    storage.delete(ours.keys.index)
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
    admin, uploader = make_service(bucket), make_service(bucket)
    existing = upload(uploader, 1)
    late: list[str] = []
    bucket.hook = lambda: late.append(upload(uploader, 2))
    report = admin.reindex()
    assert set(records(admin)) == {existing, late[0]}
    assert report.kept == late and report.dropped == []


def test_an_upload_half_done_at_listing_time_is_kept() -> None:
    bucket = HookedStorage()
    admin, uploader = make_service(bucket), make_service(bucket)
    existing = upload(uploader, 1)
    # the listing sees an original without meta.json; the upload completes before the write
    half = "e" * 32
    bucket.put(admin.keys.original(half), make_image("jpeg", seed=9))

    def finish() -> None:
        record = dict(records(admin)[existing], id=half, sha256="0" * 64)
        bucket.put(admin.keys.meta(half), orjson.dumps(record))

        def add(value: dict[str, Any]) -> None:
            value["images"][half] = record

        uploader.index.update(add)

    bucket.hook = finish
    admin.reindex()
    assert set(records(admin)) == {existing, half}


def test_a_delete_during_reindex_is_not_undone() -> None:
    bucket = HookedStorage()
    admin, owner = make_service(bucket), make_service(bucket)
    doomed, kept = upload(owner, 1), upload(owner, 2)
    # reindex has read the doomed image's meta.json when the delete happens
    bucket.hook, bucket.after, bucket.only = (
        lambda: owner.delete(doomed, actor=ALICE), True, owner.keys.meta(doomed))
    report = admin.reindex()
    assert report.dropped == [] and report.added == []
    assert set(records(admin)) == {kept}
    assert {owner.keys.image_id_of(k) for k in image_keys(bucket, owner.keys)} == {kept}


def test_an_edit_during_reindex_is_not_undone() -> None:
    bucket = HookedStorage()
    admin, owner = make_service(bucket), make_service(bucket)
    image_id = upload(owner, 1)
    # reindex has read the old meta.json when the edit lands
    bucket.hook, bucket.after = lambda: owner.update(image_id, {"title": "during"}, actor=ALICE), True
    report = admin.reindex()
    assert report.unchanged == 1
    assert admin.get(image_id)["title"] == "during"
    admin.reindex()
    assert admin.get(image_id)["title"] == "during"


def test_reindex_while_uploads_continue_loses_nothing(storage: MemoryStorage) -> None:  # noqa: F811
    uploader, admin = make_service(storage), make_service(storage)
    uploaded: list[str] = []
    errors: list[BaseException] = []

    def keep_uploading() -> None:
        try:
            for seed in range(12):
                uploaded.append(upload(uploader, 100 + seed))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    thread = threading.Thread(target=keep_uploading)
    thread.start()
    for _ in range(4):
        admin.reindex()
    thread.join(timeout=60)
    assert not thread.is_alive() and errors == []
    assert set(records(admin)) == set(uploaded)
    admin.reindex()
    assert set(records(admin)) == set(uploaded) and len(uploaded) == 12


def test_storage_down_during_reindex_changes_nothing() -> None:
    class Down(MemoryStorage):
        down = False

        def read(self, key: str) -> tuple[bytes, ObjectInfo]:
            if self.down and key.endswith("meta.json"):
                raise StorageUnavailable("injected")
            return super().read(key)

    bucket = Down()
    service = make_service(bucket)
    upload(service, 1)
    before = bucket.get(service.keys.index)
    bucket.down = True
    with pytest.raises(StorageUnavailable):
        service.reindex()
    assert bucket.get(service.keys.index) == before


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
    admin, uploader = make_service(bucket), make_service(bucket)
    reports: list[Any] = []
    bucket.hook = lambda: reports.append(admin.reindex())
    result = uploader.upload(make_image("jpeg", seed=7), "a.jpg", uploaded_by="alice")
    image_id = result.image["id"]
    assert reports[0].added == [image_id]  # the reindex found it first
    assert not result.duplicate
    assert list(records(admin)) == [image_id]
    assert {uploader.keys.image_id_of(k) for k in image_keys(bucket, uploader.keys)} == {image_id}
    assert admin.media(image_id, "sm").size > 0
