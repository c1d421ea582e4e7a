"""Cleanup finds what the catalog and the objects disagree on, and repairs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from gallery.catalog import Remove
from gallery.runtime import Runtime
from tests.images import catalog_records
from tests.operations.conftest import snapshot_bucket


def _keys_of(runtime: Runtime, image_id: str) -> set[str]:
    return {info.key for info in runtime.storage.list(runtime.keys.image_prefix(image_id))}


def test_a_consistent_gallery_is_clean(runtime, upload, later):
    upload(1)
    upload(2, "jpeg")
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.is_clean and report.removed == [] and report.regenerated == []
    assert "Everything is consistent." in report.lines()


def _unindex(runtime: Runtime, image_id: str, *, and_its_hashes: bool = False) -> None:
    """Take an image's entry out of the catalog (and its duplicate-detection claims)."""
    record = runtime.images.record(image_id)
    runtime.images.catalog.apply([Remove(record.key, image_id)])
    if and_its_hashes:
        runtime.images.d.hashes.release({sha: image_id for sha in record.hashes})


def _half_uploaded(runtime: Runtime, image_id: str) -> None:
    """As an upload that stopped before its meta.json and catalog entry leaves it."""
    _unindex(runtime, image_id)
    runtime.storage.delete(runtime.keys.meta(image_id))


def test_orphan_objects_are_found_and_removed(runtime, upload, later):
    keep = upload(1)
    orphan = upload(2)
    _half_uploaded(runtime, orphan)
    orphan_keys = _keys_of(runtime, orphan)

    report = runtime.operations.cleanup(dry_run=False, actor="ada", now=later)
    assert {found.key for found in report.orphans} == orphan_keys
    assert set(report.removed) == orphan_keys
    assert report.removed[0] == runtime.keys.original(orphan)  # original first
    assert _keys_of(runtime, orphan) == set()
    assert runtime.images.get(keep)["id"] == keep
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["removed"]) == ("ada", "gallery.cleanup",
                                                             len(orphan_keys))


def test_a_whole_image_the_catalog_lost_is_put_back_not_removed(runtime, upload, later):
    lost = upload(1, title="Harbour")
    _unindex(runtime, lost)
    keys = _keys_of(runtime, lost)

    dry = runtime.operations.cleanup(dry_run=True, actor="cli", now=later)
    assert dry.unindexed == [lost] and dry.orphans == []
    assert "Whole images missing from the catalog (put back): 1" in dry.lines()
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.regenerated == [f"index:{lost}"] and report.removed == []
    assert runtime.images.get(lost)["title"] == "Harbour"
    assert _keys_of(runtime, lost) == keys
    assert runtime.operations.cleanup(dry_run=True, actor="cli", now=later).is_clean


def test_a_lost_copy_of_a_picture_the_gallery_has_is_removed(runtime, upload, later):
    lost = upload(1)
    _unindex(runtime, lost, and_its_hashes=True)
    again = upload(1)  # the same picture, uploaded again under a new id
    assert again != lost
    dry = runtime.operations.cleanup(dry_run=True, actor="cli", now=later)
    assert dry.unindexed == [lost]  # whole, so a candidate to put back, until it is tried
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.duplicates == [lost] and report.unindexed == []
    assert "Copies of pictures the gallery has (removed): 1" in report.lines()
    assert runtime.keys.original(lost) in report.removed
    assert _keys_of(runtime, lost) == set()
    assert list(catalog_records(runtime.images)) == [again]


def test_an_interrupted_delete_is_finished(runtime, upload, later):
    keep, indexed, unindexed = upload(1), upload(2), upload(3)
    tombstone = b'{"deleted_at": "2026-01-01T00:00:00.000Z", "deleted_by": "ada"}'
    # stopped after its tombstone, before the catalog write:
    runtime.storage.put(runtime.keys.tombstone(indexed), tombstone)
    # stopped after the catalog write, before the objects went:
    runtime.storage.put(runtime.keys.tombstone(unindexed), tombstone)
    _unindex(runtime, unindexed)

    runtime.images.reindex()  # reindex brings neither back
    assert set(catalog_records(runtime.images)) == {keep, indexed}
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert sorted(report.interrupted) == sorted([indexed, unindexed])
    assert report.removed[-1] == runtime.keys.tombstone(report.interrupted[-1])  # the mark goes last
    assert list(catalog_records(runtime.images)) == [keep]
    assert _keys_of(runtime, indexed) == _keys_of(runtime, unindexed) == set()


def test_a_young_tombstone_is_a_delete_in_progress(runtime, upload, later):
    image_id = upload(1)
    runtime.storage.put(runtime.keys.tombstone(image_id), b"{}")
    report = runtime.operations.cleanup(dry_run=False, actor="cli")
    assert report.interrupted == [] and image_id in report.young
    assert runtime.images.get(image_id)["id"] == image_id


def test_dangling_catalog_entry_is_dropped_with_its_leftovers(runtime, upload, later):
    gone = upload(1)
    runtime.storage.delete(runtime.keys.original(gone))

    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.dangling == [gone]
    assert f"index:{gone}" in report.removed
    assert gone not in catalog_records(runtime.images)
    assert _keys_of(runtime, gone) == set()


def test_missing_thumbnail_is_made_again_from_the_original(runtime, upload, later):
    image_id = upload(1, "jpeg")
    key = runtime.keys.variant(image_id, "sm")
    before = runtime.storage.get(key)
    runtime.storage.delete(key)
    runtime.images.reindex()  # the catalog forgets the thumbnail, as after a real loss

    assert "sm" not in runtime.images.get(image_id)["variants"]
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.regenerable == [(image_id, ["sm.webp"])]
    assert report.regenerated == [key]
    assert runtime.storage.get(key) == before  # the pipeline is deterministic
    record = runtime.images.get(image_id)
    assert record["variants"]["sm"]["size"] == len(before)
    meta = orjson.loads(runtime.storage.get(runtime.keys.meta(image_id)))
    assert meta["variants"]["sm"]["size"] == len(before)


def test_missing_meta_is_rewritten_from_the_catalog(runtime, upload, later):
    image_id = upload(1, title="Harbour", description="At dawn")
    runtime.storage.delete(runtime.keys.meta(image_id))

    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.regenerable == [(image_id, ["meta.json"])]
    assert report.regenerated == [runtime.keys.meta(image_id)]
    meta = orjson.loads(runtime.storage.get(runtime.keys.meta(image_id)))
    assert (meta["title"], meta["description"]) == ("Harbour", "At dawn")
    runtime.storage.delete(runtime.keys.index)
    runtime.images.reindex()  # and reindex can use it again
    assert runtime.images.get(image_id)["title"] == "Harbour"


def test_young_objects_are_left_alone(runtime, upload):
    orphan = upload(1)
    _half_uploaded(runtime, orphan)
    keys = _keys_of(runtime, orphan)

    report = runtime.operations.cleanup(dry_run=False, actor="cli")  # now: all is young
    assert report.orphans == [] and report.removed == []
    assert set(report.young) == keys
    assert _keys_of(runtime, orphan) == keys
    assert "younger than 3600 s" in "\n".join(report.lines())


def test_dry_run_changes_nothing_at_all(runtime, upload, later):
    orphan, gone, thin, bare, lost, deleting = (upload(seed) for seed in range(6))
    _half_uploaded(runtime, orphan)
    _unindex(runtime, lost)
    runtime.storage.put(runtime.keys.tombstone(deleting), b"{}")
    runtime.storage.delete(runtime.keys.original(gone))
    runtime.storage.delete(runtime.keys.variant(thin, "sm"))
    runtime.storage.delete(runtime.keys.meta(bare))
    runtime.storage.put(runtime.keys.throttle("0" * 64), b'{"failures": [1.0]}')
    runtime.storage.put("g/notes/readme.txt", b"someone else's")
    before = snapshot_bucket(runtime.storage)

    report = runtime.operations.cleanup(dry_run=True, actor="cli", now=later)
    assert snapshot_bucket(runtime.storage) == before
    assert not report.is_clean and report.removed == [] and report.regenerated == []
    assert report.dangling == [gone]
    assert {runtime.keys.image_id_of(found.key) for found in report.orphans} == {orphan}
    assert (report.unindexed, report.interrupted) == ([lost], [deleting])
    assert {i for i, _ in report.regenerable} == {thin, bare}
    assert [found.key for found in report.expired] == [runtime.keys.throttle("0" * 64)]
    assert [found.key for found in report.unknown] == ["g/notes/readme.txt"]
    assert runtime.audit.latest() == []
    assert "Dry run: nothing was changed." in report.lines()[-1]


def test_expired_counters_go_and_unknown_objects_stay(runtime, later):
    counter = runtime.keys.throttle("a" * 64)
    runtime.storage.put(counter, b'{"failures": [1.0]}')
    runtime.storage.put("g/notes/readme.txt", b"someone else's")

    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert counter in report.removed and not runtime.storage.exists(counter)
    assert runtime.storage.get("g/notes/readme.txt") == b"someone else's"
    fresh = runtime.operations.cleanup(dry_run=False, actor="cli",
                                       now=datetime.now(UTC) + timedelta(seconds=1))
    assert fresh.expired == []


def test_report_as_json(runtime, upload, later):
    orphan = upload(1)
    _half_uploaded(runtime, orphan)
    report = runtime.operations.cleanup(dry_run=True, actor="cli", now=later).to_json()
    assert report["dry_run"] is True and report["is_clean"] is False
    assert {item["key"] for item in report["orphans"]} == _keys_of(runtime, orphan)
    assert all(item["age"] > 3600 for item in report["orphans"])
    orjson.dumps(report)
