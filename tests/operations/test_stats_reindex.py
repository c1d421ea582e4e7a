"""Stats on a known gallery; reindex through Operations while other processes upload."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from gallery.storage.local import FileStorage
from tests.images import catalog_records, make_image
from tests.operations.conftest import build_runtime, set_clock
from tests.support.upload_worker import run_upload_workers

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class Days:
    """A clock that hands out the given moments in turn."""

    def __init__(self, *moments: datetime) -> None:
        self.moments = list(moments)

    def __call__(self) -> datetime:
        return self.moments.pop(0)


def test_stats_on_a_known_gallery(runtime):
    set_clock(runtime, Days(NOW - timedelta(days=40), NOW - timedelta(days=29),
                            NOW - timedelta(days=2), NOW - timedelta(days=2, hours=1),
                            NOW - timedelta(minutes=5)))
    uploads = [("png", 1), ("jpeg", 2), ("png", 3), ("gif", 4), ("webp", 5)]
    images = [runtime.images.upload(make_image(kind, seed, size=(40 + 10 * seed, 30)),
                                    f"{seed}.{kind}", uploaded_by="alice").image
              for kind, seed in uploads]
    runtime.audit.record("ada", "user.create", "bob")
    runtime.storage.put("g/elsewhere/x.bin", b"12345")

    stats = runtime.operations.stats(now=NOW)
    assert stats.image_count == 5
    assert stats.by_content_type == {"image/png": 2, "image/jpeg": 1, "image/gif": 1,
                                     "image/webp": 1}
    assert len(stats.per_day) == 30
    assert stats.per_day[0] == ("2026-10-23", 1)  # 29 days ago: the oldest day shown
    assert stats.per_day[-1] == ("2026-11-21", 1)
    assert dict(stats.per_day)["2026-11-19"] == 2
    assert sum(count for _, count in stats.per_day) == 4  # 40 days ago is out of range

    listing = list(runtime.storage.list("g/"))
    assert stats.total_bytes == sum(info.size for info in listing)
    assert stats.bytes_by_kind["originals"] == sum(image["size"] for image in images)
    assert stats.bytes_by_kind["variants"] == sum(
        v["size"] for image in images for v in image["variants"].values())
    catalog = [runtime.keys.index] + [
        info.key for info in runtime.storage.list(runtime.keys.catalog_prefix)]
    assert stats.bytes_by_kind["index"] == sum(runtime.storage.stat(key).size for key in catalog)
    assert stats.bytes_by_kind["other"] >= 5
    by_size = sorted(images, key=lambda image: -image["size"])
    assert [r["id"] for r in stats.largest] == [image["id"] for image in by_size]
    assert stats.backend == runtime.storage.scheme
    assert stats.index_version == runtime.storage.stat(runtime.keys.index).version
    assert stats.last_rebuild is None
    assert [e.action for e in stats.audit] == ["user.create"]

    set_clock(runtime, lambda: NOW)
    runtime.operations.reindex(actor="ada")
    again = runtime.operations.stats(now=NOW).to_json()
    assert again["last_rebuild"] == "2026-11-21T12:00:00.000Z"
    assert [e["action"] for e in again["audit"]] == ["gallery.reindex", "user.create"]
    assert again["audit"][0]["details"]["total"] == 5


def test_stats_never_show_credentials(tmp_path):
    runtime = build_runtime(FileStorage(tmp_path / "bucket"))
    stats = runtime.operations.stats()
    assert stats.backend == "file" and stats.location == str(tmp_path / "bucket")
    assert stats.per_day[-1][0] == datetime.now(UTC).date().isoformat()


def test_reindex_while_other_processes_upload_loses_nothing(tmp_path):
    bucket = tmp_path / "bucket"
    runtime = build_runtime(FileStorage(bucket))
    runtime.images.upload(make_image("png", 99), "before.png", uploaded_by="ada")
    printed: list[list[str]] = []
    failure: list[BaseException] = []

    def workers() -> None:
        try:
            printed.extend(run_upload_workers(f"file://{bucket}", "g/", processes=2, uploads=6))
        except BaseException as err:  # handed to the test thread below
            failure.append(err)

    thread = threading.Thread(target=workers)
    thread.start()
    rounds = 0
    while thread.is_alive() and rounds < 500:
        runtime.operations.reindex(actor="cli")
        rounds += 1
    thread.join(timeout=180)
    assert not failure, failure
    assert rounds >= 1
    runtime.operations.reindex(actor="cli")
    runtime.images.catalog.forget()
    indexed = set(catalog_records(runtime.images))
    uploaded = {image_id for ids in printed for image_id in ids}
    assert len(uploaded) == 12
    assert uploaded <= indexed and len(indexed) == 13
