"""A gallery moved from a folder to S3 and back with ``gallery export`` and ``gallery import``."""

from __future__ import annotations

from pathlib import Path

from gallery.runtime import Runtime
from gallery.storage.local import FileStorage
from gallery.storage.s3 import S3Storage
from tests.images import catalog_records, make_image
from tests.imaging import fixtures
from tests.operations.conftest import build_runtime

COMPARED = ("id", "filename", "title", "description", "uploaded_by", "created_at", "sha256",
            "content_type", "size", "width", "height")


def _records(runtime: Runtime) -> dict[str, dict]:
    runtime.images.catalog.forget()
    return {i: {k: r.get(k, "") for k in COMPARED}
            for i, r in catalog_records(runtime.images).items()}


def _originals(runtime: Runtime) -> dict[str, bytes]:
    return {i: runtime.storage.get(runtime.keys.original(i)) for i in _records(runtime)}


def _with_accounts(runtime: Runtime) -> Runtime:
    for name in ("alice", "bob"):
        runtime.accounts.create_user(name, "a long password", "uploader")
    return runtime


def test_file_to_s3_to_file(tmp_path: Path, s3_bucket: str) -> None:
    source = build_runtime(FileStorage(tmp_path / "first"))
    source.images.upload(make_image("jpeg", 1), "harbour.jpg", uploaded_by="alice",
                         title="Harbour", description="At dawn")
    source.images.upload(make_image("gif_animated", 2), "loop.gif", uploaded_by="bob")
    assert source.images.upload(fixtures.jpeg_with_gps(), "trip.jpg",
                                uploaded_by="bob").image["gps_removed"]

    assert source.operations.export_to(tmp_path / "to-s3", actor="cli").images == 3
    s3 = S3Storage(s3_bucket, timeout=10)
    try:
        middle = _with_accounts(build_runtime(s3, prefix="photos/"))
        moved = middle.operations.import_from(tmp_path / "to-s3", username="nobody", actor="cli")
        assert (len(moved.imported), moved.duplicates, moved.rejected) == (3, [], [])
        assert _records(middle) == _records(source)
        assert _originals(middle) == _originals(source)
        assert all(info.key.startswith("photos/") for info in s3.list())

        report = middle.operations.export_to(tmp_path / "from-s3.zip", actor="cli")
        assert (report.images, report.missing) == (3, [])
    finally:
        s3.close()

    back = _with_accounts(build_runtime(FileStorage(tmp_path / "again")))
    returned = back.operations.import_from(tmp_path / "from-s3.zip", username="nobody",
                                           actor="cli")
    assert (len(returned.imported), returned.duplicates, returned.rejected) == (3, [], [])
    assert _records(back) == _records(source)
    assert _originals(back) == _originals(source)
    for image_id, record in catalog_records(back.images).items():
        assert set(record["variants"]) == set(source.images.get(image_id)["variants"])
