"""Export to a folder or zip, import into an empty bucket, import a folder of images."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import orjson
import pytest

from gallery.errors import BadRequest
from gallery.storage.base import Storage
from gallery.storage.memory import MemoryStorage
from tests.images import catalog_records, make_image, stored_records
from tests.imaging import fixtures
from tests.operations.conftest import build_runtime
from tests.support.faulty import FaultyStorage

COMPARED = ("id", "filename", "title", "description", "uploaded_by", "created_at", "sha256",
            "content_type", "size", "width", "height")


@pytest.fixture
def gallery(runtime, upload):
    """A small gallery: three images, two uploaders, edited texts, one image with GPS removed."""
    upload(1, "jpeg", by="alice", title="Harbour", description="At dawn")
    upload(2, "gif_animated", by="bob")
    gps = runtime.images.upload(fixtures.jpeg_with_gps(), "trip.jpg", uploaded_by="bob")
    assert gps.image["gps_removed"]
    return runtime


def _records(runtime) -> dict[str, dict]:
    runtime.images.catalog.forget()
    return {i: {k: r.get(k, "") for k in COMPARED}
            for i, r in catalog_records(runtime.images).items()}


def _with_accounts(runtime, *names: str):
    """``runtime`` with uploader accounts ``names``: accounts are made again on the new side."""
    for name in names:
        runtime.accounts.create_user(name, "a long password", "uploader")
    return runtime


def _fresh(tmp_path: Path, backend: str) -> Storage:
    if backend == "memory":
        return MemoryStorage()
    from gallery.storage.local import FileStorage

    return FileStorage(tmp_path / "other-bucket")


@pytest.mark.parametrize("dest_name", ["backup", "backup.zip"])
@pytest.mark.parametrize("target", ["memory", "file"])
def test_export_then_import_reproduces_the_gallery(gallery, tmp_path, dest_name, target):
    dest = tmp_path / dest_name
    report = gallery.operations.export_to(dest, actor="cli")
    assert (report.images, report.missing) == (3, [])

    empty = _with_accounts(build_runtime(_fresh(tmp_path, target), prefix="other/"),
                           "alice", "bob")
    imported = empty.operations.import_from(dest, username="nobody", actor="cli")
    assert (len(imported.imported), imported.duplicates, imported.rejected) == (3, [], [])
    assert _records(empty) == _records(gallery)
    for image_id, record in catalog_records(empty.images).items():
        assert empty.storage.get(empty.keys.original(image_id)) == \
            gallery.storage.get(gallery.keys.original(image_id))
        assert set(record["variants"]) == set(gallery.images.get(image_id)["variants"])

    # the image whose GPS was removed is still known by the file first uploaded
    again = empty.images.upload(fixtures.jpeg_with_gps(), "trip.jpg", uploaded_by="carol")
    assert again.duplicate

    twice = empty.operations.import_from(dest, username="nobody", actor="cli")
    assert (twice.imported, len(twice.duplicates)) == ([], 3)
    entry = empty.audit.latest(1)[0]
    assert (entry.action, entry.details["duplicates"]) == ("gallery.import", 3)


def test_export_folder_layout(gallery, tmp_path):
    gallery.operations.export_to(tmp_path / "out", actor="ada")
    manifest = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())
    assert manifest["format"] == 2 and manifest["exported_at"].endswith("Z")
    assert manifest["albums"] == 0
    assert orjson.loads((tmp_path / "out" / "albums.json").read_bytes()) == {
        "format": 1, "albums": []}
    assert [r["id"] for r in manifest["images"]] == sorted(
        _records(gallery), key=lambda i: gallery.images.get(i)["created_at"])
    files = sorted(p.name for p in (tmp_path / "out" / "originals").iterdir())
    assert files == sorted(f"{r['id']}.{'gif' if r['content_type'] == 'image/gif' else 'jpg'}"
                           for r in manifest["images"])
    # the catalog as one JSON object, in the shape of an earlier release's index
    exported = orjson.loads((tmp_path / "out" / "index.json").read_bytes())
    assert exported == {"format": 1, "images": stored_records(gallery.images)}
    assert list(exported["images"]) == [r["id"] for r in manifest["images"]]
    entry = gallery.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["images"]) == ("ada", "gallery.export", 3)


def test_export_refuses_to_overwrite(gallery, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(BadRequest, match="not an empty folder"):
        gallery.operations.export_to(tmp_path / "full", actor="cli")
    (tmp_path / "old.zip").write_bytes(b"mine")
    with pytest.raises(BadRequest, match="exists already"):
        gallery.operations.export_to(tmp_path / "old.zip", actor="cli")
    assert (tmp_path / "old.zip").read_bytes() == b"mine"


def test_streamed_zip_is_valid_and_produced_incrementally(storage, tmp_path):
    counting = FaultyStorage(storage)  # no faults: it only counts the calls
    runtime = build_runtime(counting)
    for seed in range(6):
        runtime.images.upload(make_image("png", seed, size=(64, 64)), f"{seed}.png",
                               uploaded_by="alice")
    opened_before = counting.calls["open"]

    chunks = runtime.operations.iter_export_zip(actor="ada")
    first = next(chunks)
    assert first and counting.calls["open"] - opened_before < 6  # not everything read up front
    body = first + b"".join(chunks)
    assert counting.calls["open"] - opened_before == 6

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest = orjson.loads(archive.read("manifest.json"))
        for record in manifest["images"]:
            name = f"originals/{record['id']}.png"
            assert archive.read(name) == runtime.storage.get(runtime.keys.original(record["id"]))
    assert names[:2] == ["index.json", "albums.json"] and names[-1] == "manifest.json"
    assert len(names) == 9
    assert runtime.audit.latest(1)[0].action == "gallery.export"

    path = tmp_path / "download.zip"
    path.write_bytes(body)
    copy = _with_accounts(build_runtime(MemoryStorage()), "alice")
    assert len(copy.operations.import_from(path, username="x", actor="cli").imported) == 6


def test_import_folder_resumes_and_reports_rejects(runtime, tmp_path):
    runtime.accounts.create_user("ada", "a long password", "admin")
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(make_image("jpeg", 1))
    (folder / "no-extension").write_bytes(make_image("png", 2))  # judged by content
    (folder / "fake.png").write_bytes(fixtures.html())
    (folder / "truncated.png").write_bytes(fixtures.png_truncated())
    (folder / "drawing.svg").write_bytes(fixtures.svg_with_script())
    (folder / ".hidden.jpg").write_bytes(make_image("jpeg", 3))
    (folder / "nested" / "deep.webp").write_bytes(make_image("webp", 4))

    first = runtime.operations.import_from(folder, username="Ada", actor="cli")
    assert sorted(path for path, _ in first.imported) == ["a.jpg", "no-extension"]
    rejected = dict(first.rejected)
    assert set(rejected) == {"fake.png", "truncated.png", "drawing.svg"}
    assert "not an image we accept" in rejected["fake.png"]
    assert all(reason for reason in rejected.values())
    uploaders = {r["uploaded_by"] for r in catalog_records(runtime.images).values()}
    assert uploaders == {"ada"}

    again = runtime.operations.import_from(folder, username="ada", recursive=True, actor="cli")
    assert [path for path, _ in again.imported] == ["nested/deep.webp"]
    assert sorted(path for path, _ in again.duplicates) == ["a.jpg", "no-extension"]
    assert len(again.rejected) == 3
    assert len(catalog_records(runtime.images)) == 3
    assert "rejected fake.png:" in "\n".join(again.lines())


def test_import_refuses_unknown_user_and_missing_folder(runtime, tmp_path):
    with pytest.raises(BadRequest, match="no user"):
        runtime.operations.import_from(tmp_path, username="ghost", actor="cli")
    with pytest.raises(BadRequest, match="does not exist"):
        runtime.operations.import_from(tmp_path / "nope", username="ghost", actor="cli")


def test_import_of_a_damaged_manifest_is_refused(runtime, tmp_path):
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(BadRequest, match="manifest.json is damaged"):
        runtime.operations.import_from(tmp_path, username="x", actor="cli")


def test_export_with_a_hostile_original_rejects_it_on_import(gallery, tmp_path):
    dest = tmp_path / "backup"
    gallery.operations.export_to(dest, actor="cli")
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    victim = manifest["images"][0]
    (dest / "originals" / f"{victim['id']}.jpg").write_bytes(fixtures.jpeg_zip_appended()[:200])
    manifest["images"][1]["id"] = "../../etc"
    (dest / "manifest.json").write_bytes(orjson.dumps(manifest))

    empty = _with_accounts(build_runtime(MemoryStorage()), "alice", "bob")
    report = empty.operations.import_from(dest, username="x", actor="cli")
    assert len(report.imported) == 1 and len(report.rejected) == 2
    assert "not an image id" in dict(report.rejected)["record 2"]


def test_a_manifest_record_without_an_id_is_rejected_not_a_crash(runtime, upload, tmp_path):
    upload(1)
    dest = tmp_path / "export"
    runtime.operations.export_to(dest, actor="cli")
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    manifest["images"][0].pop("id")
    (dest / "manifest.json").write_bytes(orjson.dumps(manifest))
    fresh = build_runtime(MemoryStorage())
    report = fresh.operations.import_from(dest, username="ada", actor="cli")
    assert report.imported == [] and report.rejected[0][0] == "record 1"
    assert "not an image id" in report.rejected[0][1]


def test_heic_and_avif_originals_keep_their_type_through_export_and_import(
        runtime, tmp_path):
    from tests.imaging.heif_files import encode_avif, encode_heic, photo

    avif = runtime.images.upload(encode_avif(photo(80, 60)), "phone.avif",
                                 uploaded_by="ada")
    heic = runtime.images.upload(encode_heic(seed="export"), "phone.heic", uploaded_by="ada")
    runtime.operations.export_to(tmp_path / "out", actor="cli")
    files = sorted(p.name for p in (tmp_path / "out" / "originals").iterdir())
    assert files == sorted([f"{avif.image['id']}.avif", f"{heic.image['id']}.heic"])

    empty = _with_accounts(build_runtime(MemoryStorage(), prefix="other/"), "ada")
    imported = empty.operations.import_from(tmp_path / "out", username="nobody", actor="cli")
    assert (len(imported.imported), imported.rejected) == (2, [])
    assert {r["content_type"] for r in catalog_records(empty.images).values()} == {
        "image/avif", "image/heic"}
