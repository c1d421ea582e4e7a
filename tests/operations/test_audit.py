"""The audit log: one object per entry, newest first, and a failed write never fails the action."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from gallery.audit import AuditEntry, AuditLog
from gallery.errors import Forbidden
from gallery.keys import Keys
from gallery.storage.memory import MemoryStorage
from tests.images import ADMIN, ALICE, BOB
from tests.support.faulty import FaultyStorage


class Ticks:
    """A clock that moves one millisecond per call, so every entry has its own time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def test_latest_is_newest_first_and_reads_one_page(storage):
    log = AuditLog(storage, Keys("g/"), clock=Ticks())
    for n in range(30):
        log.record("ada", "user.create", f"user{n}", role="uploader")
    latest = log.latest(5)
    assert [e.target for e in latest] == ["user29", "user28", "user27", "user26", "user25"]
    assert latest[0] == AuditEntry("2026-11-21T08:00:00.030Z", "ada", "user.create", "user29",
                                   {"role": "uploader"})
    assert len(log.latest()) == 20 and len(log.latest(1000)) == 30
    assert len(list(storage.list("g/audit/"))) == 30  # one object per entry


def test_latest_reads_only_what_it_returns():
    counting = FaultyStorage(MemoryStorage())
    log = AuditLog(counting, Keys(), clock=Ticks())
    for n in range(50):
        log.record("cli", "token.revoke", str(n))
    reads_before = counting.calls["read"]
    assert [e.target for e in log.latest(3)] == ["49", "48", "47"]
    assert counting.calls["read"] - reads_before == 3
    assert counting.calls["list_page"] == 1


def test_entries_survive_a_new_process_and_damaged_ones_are_skipped(storage):
    AuditLog(storage, Keys()).record("ada", "user.role", "bob", role="admin")
    AuditLog(storage, Keys()).record("ada", "user.disable", "bob")
    storage.put(Keys().audit(datetime(2000, 1, 1, tzinfo=UTC)), b"not json")
    entries = AuditLog(storage, Keys()).latest(10)
    assert [e.action for e in entries] == ["user.disable", "user.role"]


def test_a_failed_audit_write_keeps_the_action_and_logs_an_error(caplog):
    inner = MemoryStorage()
    faulty = FaultyStorage(inner, fail_on=lambda op, key: op == "put" and "/audit/" in f"/{key}")
    from tests.images import catalog_records, make_image
    from tests.operations.conftest import build_runtime

    runtime = build_runtime(faulty)
    image_id = runtime.images.upload(make_image("png", 1), "a.png", uploaded_by="alice").image["id"]
    with caplog.at_level(logging.ERROR, logger="gallery.audit"):
        runtime.images.delete(image_id, actor=ALICE)
    assert image_id not in catalog_records(runtime.images)
    assert not list(inner.list(runtime.keys.image_prefix(image_id)))
    assert "audit entry not saved (image.delete by alice" in caplog.text
    assert runtime.audit.latest() == []


def test_deletes_are_audited(runtime, upload):
    one = upload(1, by="alice")
    two, three = upload(2, by="bob"), upload(3, by="bob")
    runtime.images.delete(one, actor=ALICE)
    runtime.images.delete_many([two, three], actor=ADMIN)
    many, single = runtime.audit.latest(2)
    assert (single.actor, single.action, single.target) == ("alice", "image.delete", one)
    assert (many.actor, many.action, many.details) == (
        "root", "images.delete", {"count": 2, "ids": [two, three],
                                  "titles": ["photo-2", "photo-3"]})
    assert single.details == {"title": "photo-1"}
    with pytest.raises(Forbidden):
        runtime.images.delete_many([upload(4, by="alice")], actor=BOB)
    assert len(runtime.audit.latest()) == 2  # a refused delete is not recorded
