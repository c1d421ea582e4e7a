"""The trash in maintenance: cleanup deletes for good what was kept long enough (and says so
in its dry run), never puts a trashed image back nor drops its album memberships, and
resolves a move that stopped half-way; stats count the trash; exports leave it out."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from gallery.images.results import Actor
from gallery.runtime import Runtime
from tests.images import StepClock, make_image
from tests.operations.conftest import build_runtime, set_clock, snapshot_bucket

ALICE = Actor("alice")


@pytest.fixture
def runtime(storage) -> Runtime:
    return build_runtime(storage, trash_days=30)


def add(runtime: Runtime, seed: int) -> str:
    return runtime.images.upload(make_image("png", seed), f"p{seed}.png", uploaded_by="alice",
                                 title=f"Picture {seed}").image["id"]


def test_cleanup_keeps_the_trash_until_its_period_is_over_then_deletes_it(runtime, later):
    clock = StepClock()
    set_clock(runtime, clock)
    keep, old, recent = add(runtime, 1), add(runtime, 2), add(runtime, 3)
    album = runtime.albums.create(title="A", visibility="public", actor=ALICE)
    runtime.albums.change_images(album.id, actor=ALICE, add=[keep, old, recent])
    runtime.images.delete(old, actor=ALICE)
    clock.now += timedelta(days=20)
    runtime.images.delete(recent, actor=ALICE)
    clock.now += timedelta(days=11)
    now = max(later, clock.now)

    before = snapshot_bucket(runtime.storage)
    dry = runtime.operations.cleanup(dry_run=True, actor="cli", now=now)
    assert snapshot_bucket(runtime.storage) == before  # a dry run writes nothing
    assert dry.trash_expired == [old] and dry.album_members == [] and dry.unindexed == []
    assert any("kept in the trash for the whole keep period" in line for line in dry.lines())
    assert dry.to_json()["trash_expired"] == [old]

    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=now)
    assert runtime.keys.original(old) in report.removed
    assert runtime.keys.trash(old) in report.removed
    assert runtime.images.trash_ids() == {recent}
    assert runtime.albums.get(album.id).image_ids == [keep, recent]  # the trashed one kept
    entry = next(e for e in runtime.audit.latest(5) if e.action == "image.purge")
    assert entry.details == {"title": "Picture 2", "reason": "expired"}
    assert runtime.operations.cleanup(dry_run=True, actor="cli", now=now).is_clean


def test_a_half_done_move_is_resolved_in_favour_of_the_catalog(runtime, later):
    image_id = add(runtime, 1)
    record = runtime.images.record(image_id)
    runtime.storage.put(runtime.keys.trash(image_id), orjson.dumps({
        "format": 1, "record": record.to_json(), "trashed_at": record.created_at,
        "trashed_by": "alice"}))
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.trash_stale == [image_id]
    assert runtime.keys.trash(image_id) in report.removed
    assert runtime.images.trash_ids() == set()
    assert runtime.images.get(image_id)["id"] == image_id  # still in the gallery


def test_a_purge_that_stopped_is_finished(runtime, later):
    image_id = add(runtime, 1)
    runtime.images.delete(image_id, actor=ALICE)
    runtime.storage.delete(runtime.keys.original(image_id))  # the purge stopped here
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert report.trash_incomplete == [image_id] and report.unindexed == []
    assert runtime.images.trash_ids() == set()
    assert not list(runtime.storage.list(runtime.keys.image_prefix(image_id)))


def test_doctor_does_not_count_album_members_in_the_trash_as_gone(runtime):
    image_id = add(runtime, 1)
    album = runtime.albums.create(title="A", visibility="public", actor=ALICE)
    runtime.albums.change_images(album.id, actor=ALICE, add=[image_id])
    runtime.images.delete(image_id, actor=ALICE)
    check = next(c for c in runtime.operations.doctor() if c.name == "albums and links")
    assert check.ok, check.message


def test_stats_count_the_trash_and_its_bytes(runtime):
    add(runtime, 1)
    image_id = add(runtime, 2)
    size = sum(i.size for i in runtime.storage.list(runtime.keys.image_prefix(image_id)))
    runtime.images.delete(image_id, actor=ALICE)
    stats = runtime.operations.stats()
    assert (stats.image_count, stats.trash_count, stats.trash_bytes) == (1, 1, size)
    assert stats.to_json()["trash_count"] == 1
    assert f"Trash: 1 image, {size} bytes" in stats.lines()


def test_an_export_leaves_the_trash_out_and_imports_cleanly(runtime, storage, tmp_path):
    keep, image_id = add(runtime, 1), add(runtime, 2)
    album = runtime.albums.create(title="A", visibility="public", actor=ALICE)
    runtime.albums.change_images(album.id, actor=ALICE, add=[keep, image_id])
    runtime.accounts.create_user("alice", "a long password", "admin")
    runtime.images.delete(image_id, actor=ALICE)
    report = runtime.operations.export_to(tmp_path / "out", actor="cli")
    assert (report.images, report.in_trash) == (1, 1)
    assert "Left out 1 image in the trash (restore them first to export them)." in report.lines()

    from gallery.storage.memory import MemoryStorage

    target = build_runtime(MemoryStorage(), trash_days=30)
    target.accounts.create_user("alice", "a long password", "admin")
    imported = target.operations.import_from(tmp_path / "out", username="alice", actor="cli")
    assert [i for _, i in imported.imported] == [keep] and not imported.rejected
    assert target.albums.get(album.id).image_ids == [keep]


def test_an_import_of_an_image_in_the_trash_says_so(runtime, tmp_path):
    image_id = add(runtime, 1)
    runtime.accounts.create_user("alice", "a long password", "admin")
    runtime.operations.export_to(tmp_path / "out", actor="cli")
    runtime.images.delete(image_id, actor=ALICE)
    again = runtime.operations.import_from(tmp_path / "out", username="alice", actor="cli")
    assert not again.imported
    [(_, why)] = again.rejected
    assert "trash" in why
    assert runtime.images.trash_ids() == {image_id}
