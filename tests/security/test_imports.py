"""An export is untrusted input: every manifest field is checked, nothing leads outside it.

Exports are made with ``gallery export`` from a source gallery, tampered with,
and imported with ``gallery import`` into the gallery under test, which is then
looked at through its HTTP API.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import orjson
import pytest

from gallery.storage.memory import MemoryStorage
from tests.imaging import fixtures
from tests.web.harness import build_app


@pytest.fixture
def source():
    """A gallery to export from: two images by carol, who has no account in the target."""
    app = build_app(MemoryStorage())
    runtime = app.extensions["gallery"]
    runtime.accounts.create_user("carol", "a long password", "uploader")
    for seed in (1, 2):
        runtime.images.upload(fixtures.jpeg(320 + seed, 240), f"{seed}.jpg", uploaded_by="carol",
                               title=f"Picture {seed}")
    return app


def export(app, dest: Path) -> Path:
    done = app.test_cli_runner().invoke(args=["gallery", "export", str(dest)])
    assert done.exit_code == 0, done.output
    return dest


def load_manifest(folder: Path) -> dict:
    return orjson.loads((folder / "manifest.json").read_bytes())


def save_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))


def gallery_import(app, path: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["gallery", "import", str(path), *extra])


def listed(client) -> list[dict]:
    response = client.get("/api/v1/images", params={"limit": "100"})
    assert response.status_code == 200, response.text
    return response.json()["images"]


BAD_TIMES = ["٢٠٢٦-01-02T03:04:05.000Z", "2026-13-02T03:04:05.000Z", "2026-01-02T03:04:05.000Z\n",
             "2026-02-30T03:04:05.000Z", "2026-01-02T25:04:05.000Z", "2026-01-02T03:04:05Z",
             "2026-01-02T03:04:05.000+00:00", "２０２６-01-02T03:04:05.000Z", 20260102, None,
             "9999-99-99T99:99:99.999Z"]


@pytest.mark.parametrize("value", BAD_TIMES, ids=[repr(v) for v in BAD_TIMES])
def test_a_bad_time_in_a_manifest_is_rejected_and_the_listing_stays_up(
        app, source, anonymous, tmp_path, value):
    folder = export(source, tmp_path / "export")
    manifest = load_manifest(folder)
    manifest["images"][0]["created_at"] = value
    save_manifest(folder, manifest)
    done = gallery_import(app, folder, "--as", "ada")
    assert done.exit_code == 0, done.output
    assert "Imported 1," in done.output and "rejected 1" in done.output
    assert "created_at" in done.output
    images = listed(anonymous)
    assert len(images) == 1
    assert anonymous.get("/").status_code == 200


BAD_FIELDS = [
    ("id", "../../etc/passwd"), ("id", "A" * 32), ("id", "0" * 31), ("id", "0" * 33),
    ("id", "٠" * 32), ("id", 12345), ("id", None),
    ("uploaded_by", "u" * 10_000), ("uploaded_by", ""), ("uploaded_by", ["carol"]),
    ("filename", "f" * 10_000), ("title", "t" * 10_000), ("description", "d" * 100_000),
    ("title", {"a": 1}), ("title", "bell\x07"), ("content_type", "text/html"),
    ("content_type", "image/svg+xml"),
]


@pytest.mark.parametrize(("name", "value"), BAD_FIELDS,
                         ids=[f"{n}={str(v)[:12]!r}" for n, v in BAD_FIELDS])
def test_a_bad_field_in_a_manifest_rejects_that_record(app, source, anonymous, tmp_path,
                                                        name, value):
    folder = export(source, tmp_path / "export")
    manifest = load_manifest(folder)
    manifest["images"][0][name] = value
    save_manifest(folder, manifest)
    done = gallery_import(app, folder, "--as", "ada")
    assert done.exit_code == 0, done.output
    assert "rejected 1" in done.output and name in done.output, done.output
    assert len(listed(anonymous)) == 1


def test_an_uploader_without_an_account_becomes_the_importer_and_is_reported(
        app, source, anonymous, tmp_path):
    folder = export(source, tmp_path / "export")
    done = gallery_import(app, folder, "--as", "bob")
    assert done.exit_code == 0, done.output
    assert "Imported 2," in done.output
    assert done.output.count("'carol' has no account here; uploaded by 'bob'") == 2
    stored = app.extensions["gallery"].images.list_images(limit=100)[0]  # visitors see no usernames
    assert {image["uploaded_by"] for image in stored} == {"bob"}


def test_an_uploader_with_an_account_keeps_the_images(app, source, anonymous, tmp_path):
    folder = export(source, tmp_path / "export")
    app.extensions["gallery"].accounts.create_user("carol", "another password", "uploader")
    done = gallery_import(app, folder, "--as", "bob")
    assert done.exit_code == 0 and "no account" not in done.output, done.output
    stored = app.extensions["gallery"].images.list_images(limit=100)[0]  # visitors see no usernames
    assert {image["uploaded_by"] for image in stored} == {"carol"}


def test_facts_about_the_bytes_are_never_taken_from_the_manifest(app, source, anonymous,
                                                                 tmp_path):
    folder = export(source, tmp_path / "export")
    manifest = load_manifest(folder)
    for record in manifest["images"]:
        record.update(sha256="0" * 64, size=1, width=99999, height=1, content_type="image/jpeg",
                      variants={"sm": {"width": 1, "height": 1, "size": 1}})
    save_manifest(folder, manifest)
    assert gallery_import(app, folder, "--as", "ada").exit_code == 0
    for image in listed(anonymous):
        original = anonymous.get(image["urls"]["original"])
        assert image["sha256"] == hashlib.sha256(original.content).hexdigest()
        assert image["size"] == len(original.content)
        assert image["width"] in (321, 322) and image["height"] == 240


def test_a_claimed_upload_hash_does_not_make_a_later_upload_a_duplicate(
        app, source, uploader, tmp_path):
    """A manifest claiming another picture's hash must not capture that picture's uploads."""
    victim_photo = fixtures.jpeg(500, 300)
    folder = export(source, tmp_path / "export")
    manifest = load_manifest(folder)
    for record in manifest["images"]:
        record["upload_sha256"] = hashlib.sha256(victim_photo).hexdigest()
    save_manifest(folder, manifest)
    assert gallery_import(app, folder, "--as", "ada").exit_code == 0

    response = uploader.api("POST", "/api/v1/images",
                            files={"file": ("mine.jpg", victim_photo, "image/jpeg")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert not body.get("duplicate") and body["uploaded_by"] == "bob"
    assert uploader.get(body["urls"]["original"]).content == victim_photo


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def test_a_manifest_that_inflates_hugely_is_refused_unread(app, anonymous, tmp_path):
    manifest = b'{"format": 1, "images": [], "pad": "' + b" " * 200_000_000 + b'"}'
    path = _zip(tmp_path / "bomb.zip", {"manifest.json": manifest})
    del manifest
    assert path.stat().st_size < 1_000_000
    done = gallery_import(app, path, "--as", "ada")
    assert done.exit_code != 0
    assert "manifest.json" in done.output and ("inflates" in done.output or "larger" in done.output)
    assert listed(anonymous) == []


def test_a_manifest_over_the_size_cap_is_refused(app, tmp_path):
    folder = tmp_path / "big"
    (folder / "originals").mkdir(parents=True)
    with open(folder / "manifest.json", "wb") as out:
        out.write(b'{"format": 1, "images": [], "pad": "')
        block = b"x" * (1 << 20)
        for _ in range(65):
            out.write(block)
        out.write(b'"}')
    done = gallery_import(app, folder, "--as", "ada")
    assert done.exit_code != 0 and "manifest.json is larger than" in done.output, done.output


def test_an_original_that_inflates_hugely_is_rejected(app, source, anonymous, tmp_path):
    zipped = export(source, tmp_path / "export.zip")
    with zipfile.ZipFile(zipped) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    manifest = orjson.loads(members["manifest.json"])
    first = manifest["images"][0]
    members[f"originals/{first['id']}.jpg"] = b"\xff\xd8" + b"\x00" * 20_000_000
    done = gallery_import(app, _zip(tmp_path / "tampered.zip", members), "--as", "ada")
    assert done.exit_code == 0, done.output
    assert "rejected 1" in done.output and "inflates" in done.output
    assert len(listed(anonymous)) == 1


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.jpg", "originals/../../x.jpg",
                                  "C:/windows/x.jpg", "originals\\..\\..\\x.jpg"])
def test_a_zip_with_an_entry_outside_the_export_is_refused(app, source, anonymous, tmp_path,
                                                           name):
    zipped = export(source, tmp_path / "export.zip")
    with zipfile.ZipFile(zipped) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[name] = b"hello"
    done = gallery_import(app, _zip(tmp_path / "tampered.zip", members), "--as", "ada")
    assert done.exit_code != 0
    assert "not a gallery export" in done.output and listed(anonymous) == []


def test_links_out_of_an_export_folder_are_not_followed(app, source, anonymous, tmp_path):
    private = tmp_path / "private.jpg"
    private.write_bytes(fixtures.jpeg(200, 100))
    folder = export(source, tmp_path / "export")
    first, second = load_manifest(folder)["images"]
    (folder / "originals" / f"{first['id']}.jpg").unlink()
    (folder / "originals" / f"{first['id']}.jpg").symlink_to(private)
    (folder / "originals" / f"{second['id']}.jpg").unlink()
    os.mkfifo(folder / "originals" / f"{second['id']}.jpg")  # reading it would block for ever
    done = gallery_import(app, folder, "--as", "ada")
    assert done.exit_code != 0  # every file rejected
    assert "leads outside" in done.output and "not a regular file" in done.output, done.output
    assert listed(anonymous) == []


@pytest.mark.parametrize("target", ["outside", "device", "fifo", "folder-outside"])
def test_links_out_of_an_imported_folder_are_not_followed(app, anonymous, tmp_path, target):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(fixtures.jpeg(200, 100))
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "fine.jpg").write_bytes(fixtures.jpeg(120, 80))
    link = folder / "link.jpg"
    if target == "outside":
        link.symlink_to(outside / "secret.jpg")
    elif target == "device":
        link.symlink_to("/dev/zero")
    elif target == "fifo":
        os.mkfifo(link)
    else:
        (folder / "more").symlink_to(outside, target_is_directory=True)
    done = gallery_import(app, folder, "--as", "ada", "--recursive")
    assert done.exit_code == 0, done.output
    assert "Imported 1," in done.output
    images = listed(anonymous)
    assert [image["filename"] for image in images] == ["fine.jpg"]
