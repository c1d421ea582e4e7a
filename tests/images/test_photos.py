"""Phone and camera photos in the domain: HEIC and AVIF uploads, camera details, the date
taken, and the backfill of images stored before they were read; memory and file backends."""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

import orjson
import pytest
from PIL import Image

from gallery.albums.model import order, taken_or_uploaded
from gallery.catalog import Change
from gallery.errors import DamagedImage, UnsupportedType
from gallery.images.backfill import wants_details
from gallery.images.record import ImageRecord
from gallery.images.service import Images
from gallery.storage.base import Storage
from tests.images import make_images, sha256, stored_records
from tests.imaging import heif_files as files
from tests.imaging.fixtures import photo

CAMERA = {
    "make": "Acme Optics", "model": "Model Nine", "lens": "RF 50mm F1.8 STM",
    "focal_length": 50, "f_number": 1.8, "exposure_time": "1/250", "iso": 400,
}
GPS_BYTES = [struct.pack(order + "II", 1234, 100) for order in "<>"]

UPLOADS = {
    # kind: (make the file, format, content type, width, height)
    "heic": (files.heic_with_gps, "HEIF", "image/heic", 96, 64),
    "avif": (files.avif_with_gps, "AVIF", "image/avif", 96, 64),
    "heic-turned": (lambda: files.heif_turned("heic", files.marked_stored(
        Image.Transpose.ROTATE_270), [files.irot(1)]), "HEIF", "image/heic", 240, 160),
    "avif-turned": (lambda: files.heif_turned("avif", files.marked_stored(
        Image.Transpose.ROTATE_270), [files.irot(1)]), "AVIF", "image/avif", 240, 160),
    "avif-sequence": (files.avif_sequence, "AVIF", "image/avif", 64, 48),
    "heic-10-bit": (lambda: files.encode_heic(depth=10), "HEIF", "image/heic", 96, 64),
}


def every_object(images: Images) -> dict[str, bytes]:
    storage: Storage = images.d.storage
    return {info.key: storage.get(info.key) for info in storage.list(images.d.keys.images_prefix)}


@pytest.mark.parametrize("kind", sorted(UPLOADS))
def test_heic_and_avif_uploads_are_stored_and_shown(images: Images, kind: str) -> None:
    make, fmt, content_type, width, height = UPLOADS[kind]
    data = make()
    result = images.upload(data, "IMG_0001.HEIC" if fmt == "HEIF" else "photo.avif",
                           uploaded_by="alice")
    image = result.image
    assert not result.duplicate
    assert (image["format"], image["content_type"]) == (fmt, content_type)
    assert (image["width"], image["height"], image["frames"]) == (width, height, 1)
    keys, image_id = images.d.keys, image["id"]
    original, info = images.d.storage.read(keys.original(image_id))
    assert info.content_type == content_type and sha256(original) == image["sha256"]
    for name, variant in image["variants"].items():
        stored, vinfo = images.d.storage.read(keys.variant(image_id, name))
        assert vinfo.content_type == "image/webp" and len(stored) == variant["size"]
        with Image.open(BytesIO(stored)) as thumb:
            assert thumb.size == (variant["w"], variant["h"])
            assert thumb.size[0] * height == thumb.size[1] * width  # the shape shown upright
    media = images.media(image_id)
    assert media.content_type == content_type
    with images.open_media(media) as served:
        assert served.read() == original
    meta = orjson.loads(images.d.storage.get(keys.meta(image_id)))
    assert meta == stored_records(images)[image_id]
    assert images.get(image_id) == image


@pytest.mark.parametrize("kind", ["heic", "avif"])
def test_no_stored_or_served_byte_carries_the_location(images: Images, kind: str) -> None:
    make = UPLOADS[kind][0]
    image = images.upload(make(), f"p.{kind}", uploaded_by="alice").image
    assert image["gps_removed"] is True
    objects = every_object(images)
    assert len(objects) == 5  # original, three thumbnails, meta.json
    for key, data in objects.items():
        assert not any(marker in data for marker in GPS_BYTES), key
        assert b"GPSLatitude" not in data and b"52,31.2057N" not in data, key
    for name in [None, *image["variants"]]:
        media = images.media(image["id"], name)
        with images.open_media(media) as served:
            body = served.read()
        assert not any(marker in body for marker in GPS_BYTES)


@pytest.mark.parametrize("kind", ["heic", "avif"])
def test_camera_details_and_date_taken_are_recorded(images: Images, kind: str) -> None:
    image = images.upload(UPLOADS[kind][0](), f"p.{kind}", uploaded_by="alice").image
    assert image["camera"] == CAMERA
    assert image["taken_at"] == "2026-07-14T18:03:12+02:00"
    stored = stored_records(images)[image["id"]]
    assert stored["camera"] == CAMERA and stored["taken_at"] == image["taken_at"]


def test_an_image_without_exif_has_empty_details_and_a_lean_record(images: Images) -> None:
    image = images.upload(files.encode_heic(), "plain.heic", uploaded_by="alice").image
    assert image["camera"] == {} and image["taken_at"] is None
    stored = stored_records(images)[image["id"]]
    assert "camera" not in stored and "taken_at" not in stored


@pytest.mark.parametrize(("make", "error"), [
    (files.html_behind_ftyp, UnsupportedType),
    (lambda: files.encode_avif()[:-50], DamagedImage),
])
def test_refused_files_leave_nothing_behind(images: Images, make, error) -> None:
    with pytest.raises(error):
        images.upload(make(), "bad.heic", uploaded_by="alice")
    assert every_object(images) == {} and images.view().total == 0


# --- the record ---------------------------------------------------------------------


def _record(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "0" * 32, "filename": "a.heic", "content_type": "image/heic", "format": "HEIF",
        "size": 10, "width": 4, "height": 3, "sha256": "a" * 64,
        "created_at": "2026-11-21T08:30:00.123Z", "uploaded_by": "alice", "title": "a",
        "frames": 1, "variants": {},
    }
    return base | changes


def test_a_record_keeps_valid_details_and_drops_the_rest() -> None:
    record = ImageRecord.from_json(_record(
        taken_at="2026-07-14T18:03:12+02:00",
        camera={"make": "Acme", "iso": 400, "f_number": 1.8, "exposure_time": "1/250",
                "focal_length": 50, "model": "x\x00y", "lens": 7, "iso_speed": 1,
                "extra": {"deep": True}}))
    assert dict(record.camera) == {"make": "Acme", "iso": 400, "f_number": 1.8,
                                   "exposure_time": "1/250", "focal_length": 50}
    assert record.to_json()["camera"] == dict(record.camera)
    assert record.public()["taken_at"] == "2026-07-14T18:03:12+02:00"
    with pytest.raises(TypeError):
        record.camera["make"] = "changed"  # type: ignore[index]
    hash(record)  # records stay usable in sets


@pytest.mark.parametrize("taken_at", [
    "2026-07-14 18:03:12", "2026-02-30T10:00:00", "yesterday", 20260714, "2026-07-14T18:03:12Z",
    "2026-07-14T18:03:12+02:00\n",
])
def test_a_bad_taken_at_is_not_known(taken_at) -> None:
    record = ImageRecord.from_json(_record(taken_at=taken_at, camera=["not", "a", "mapping"]))
    assert record.taken_at is None and dict(record.camera) == {}
    assert record.public()["taken_at"] is None and record.public()["camera"] == {}
    assert "taken_at" not in record.to_json() and "camera" not in record.to_json()


def test_taken_time_sorts_by_the_instant_even_across_offsets() -> None:
    def record(n: int, taken_at: str | None, created_at: str) -> ImageRecord:
        return ImageRecord.from_json(_record(id=f"{n:032x}", taken_at=taken_at,
                                             created_at=created_at))

    tokyo = record(1, "2026-07-14T18:00:00+09:00", "2026-11-21T08:30:00.001Z")  # 09:00 UTC
    berlin = record(2, "2026-07-14T12:00:00+02:00", "2026-11-21T08:30:00.002Z")  # 10:00 UTC
    local = record(3, "2026-07-14T09:30:00", "2026-11-21T08:30:00.003Z")  # as if UTC
    never = record(4, None, "2026-07-14T09:45:00.000Z")  # uploaded time stands in
    assert berlin.taken_sort_key == "2026-07-14T10:00:00.000Z"
    assert taken_or_uploaded(never) == never.created_at
    shuffled = [berlin, never, tokyo, local]
    assert [r.id for r in order(shuffled, "taken_asc")] == [
        tokyo.id, local.id, never.id, berlin.id]
    assert [r.id for r in order(shuffled, "taken_desc")] == [
        berlin.id, never.id, local.id, tokyo.id]


# --- backfill -----------------------------------------------------------------------


def _forget_details(images: Images) -> None:
    """Make every record look as it did before camera details were read."""
    view = images.view()
    ops = [Change(r.key, r.id, lambda current: current.with_changes(camera={}, taken_at=None))
           for r in view.records()]
    for record in images.d.catalog.apply(ops).values():
        images.d.store.write_meta(record)


def test_backfill_fills_in_details_of_images_stored_without_them(storage: Storage) -> None:
    images = make_images(storage, prefix="g/")
    with_exif = {
        kind: images.upload(make(), f"x.{kind}", uploaded_by="alice").image["id"]
        for kind, make in {
            "heic": files.heic_with_gps, "avif": files.avif_with_gps,
            "jpeg": lambda: files_jpeg(offset=None),
        }.items()
    }
    plain = images.upload(files.encode_avif(), "plain.avif", uploaded_by="alice").image["id"]
    _forget_details(images)
    assert all(wants_details(r) for r in images.view().records())
    before = {r.id: r for r in images.view().records()}

    seen: list[tuple[int, int]] = []
    report = images.backfill(batch=2, progress=lambda done, total: seen.append((done, total)))
    assert (report.checked, report.updated, report.nothing_found) == (4, 3, 1)
    assert not report.failed and not report.missing
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert report.lines()[0] == (
        "Checked 4 images: 3 got camera details or a date taken, 1 have none in their file.")
    after = {r.id: r for r in images.view().records()}
    assert dict(after[with_exif["heic"]].camera) == CAMERA
    assert after[with_exif["avif"]].taken_at == "2026-07-14T18:03:12+02:00"
    assert after[with_exif["jpeg"]].taken_at == "2026-07-14T18:03:12"
    assert after[plain] == before[plain]
    for image_id in with_exif.values():  # meta.json learnt it too; nothing else changed
        meta = images.d.store.read_meta(image_id)
        assert meta == after[image_id]
        assert after[image_id].with_changes(camera={}, taken_at=None) == before[image_id]

    again = images.backfill()
    assert (again.checked, again.updated, again.skipped) == (1, 0, 3)
    assert {r.id: r for r in images.view().records()} == after


def test_backfill_reports_a_missing_original_and_goes_on(storage: Storage) -> None:
    images = make_images(storage, prefix="g/")
    gone = images.upload(files.heic_with_gps(), "a.heic", uploaded_by="alice").image["id"]
    kept = images.upload(files.avif_with_gps(), "b.avif", uploaded_by="alice").image["id"]
    _forget_details(images)
    images.d.storage.delete(images.d.keys.original(gone))
    report = images.backfill()
    assert report.missing == [gone] and report.updated == 1
    assert images.record(kept).camera == CAMERA
    assert any(gone in line for line in report.lines())


def test_backfill_skips_gifs_and_images_that_have_details(images: Images) -> None:
    from tests.images import make_image

    images.upload(make_image("gif"), "a.gif", uploaded_by="alice")
    images.upload(files.heic_with_gps(), "b.heic", uploaded_by="alice")
    report = images.backfill()
    assert (report.checked, report.updated, report.skipped) == (0, 0, 2)


def files_jpeg(offset: str | None) -> bytes:
    out = BytesIO()
    photo(64, 48).save(out, "JPEG", exif=files.camera_exif(offset=offset))
    return out.getvalue()

