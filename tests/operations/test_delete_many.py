"""Deleting several images at once: one catalog write, then the objects."""

from __future__ import annotations

import pytest

from gallery.errors import Forbidden, StorageUnavailable
from gallery.keys import new_image_id
from tests.images import ADMIN, ALICE, BOB, catalog_records, image_keys, make_image
from tests.operations.conftest import build_runtime, snapshot_bucket
from tests.support.faulty import FaultyStorage


def test_delete_many_in_one_catalog_write(storage):
    counting = FaultyStorage(storage)  # faults never fire: it only watches the calls
    runtime = build_runtime(counting)
    ids = [runtime.images.upload(make_image("png", n), f"{n}.png", uploaded_by="alice")
           .image["id"] for n in range(4)]
    catalog_writes: list[str] = []

    def watch(op: str, key: str) -> bool:
        if op == "put" and (key == runtime.keys.index or key.startswith(runtime.keys.shards_prefix)):
            catalog_writes.append(key)
        return False

    counting.fail(watch)
    unknown, malformed = new_image_id(), "../etc"
    deleted = runtime.images.delete_many([ids[2], unknown, ids[0], malformed, ids[0]],
                                          actor=ALICE)
    assert deleted == [ids[2], ids[0]]
    # the four images share one shard: it is written once, and the root once after it
    assert len(catalog_writes) == 2
    assert catalog_writes[0].startswith(runtime.keys.shards_prefix)
    assert catalog_writes[1] == runtime.keys.index
    assert set(catalog_records(runtime.images)) == {ids[1], ids[3]}
    left = image_keys(runtime.storage, runtime.keys)
    assert not any(i in key for key in left for i in (ids[0], ids[2]))
    assert any(ids[1] in key for key in left)


def test_one_forbidden_image_refuses_the_whole_request(runtime, upload):
    mine, theirs = upload(1, by="alice"), upload(2, by="bob")
    with pytest.raises(Forbidden):
        runtime.images.delete_many([mine, theirs], actor=ALICE)
    assert set(catalog_records(runtime.images)) == {mine, theirs}
    assert runtime.images.delete_many([mine, theirs], actor=ADMIN) == [mine, theirs]
    assert image_keys(runtime.storage, runtime.keys) == []


def test_nothing_to_delete_writes_nothing(runtime, upload):
    keep = upload(1)
    before = snapshot_bucket(runtime.storage)
    assert runtime.images.delete_many([new_image_id(), "nope"], actor=BOB) == []
    assert snapshot_bucket(runtime.storage) == before
    assert runtime.audit.latest() == []
    assert runtime.images.get(keep)["id"] == keep


def test_interrupted_after_the_catalog_write_is_finished_by_cleanup(runtime, upload, later):
    ids = [upload(n) for n in range(3)]
    faulty = FaultyStorage(runtime.storage, fail_on={"delete"})
    broken = build_runtime(faulty)
    with pytest.raises(StorageUnavailable):
        broken.images.delete_many(ids[:2], actor=ADMIN)
    assert set(catalog_records(runtime.images)) == {ids[2]}  # gone for everyone
    runtime.images.reindex()  # and a reindex does not bring them back
    assert set(catalog_records(runtime.images)) == {ids[2]}
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert sorted(report.interrupted) == sorted(ids[:2])
    assert {runtime.keys.image_id_of(k) for k in image_keys(runtime.storage, runtime.keys)} == {ids[2]}
