"""Location data never reaches visitors; everything else about the original stays faithful."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from io import BytesIO

import pytest
from PIL import Image

from gallery.imaging import process_upload
from gallery.imaging.containers import jpeg_layout, png_layout, riff_layout
from tests.imaging import fixtures as fx

GPS_IFD = 0x8825


def _pixels(data: bytes) -> bytes:
    with Image.open(BytesIO(data)) as im:
        im.load()
        return im.tobytes()


def _exif(data: bytes) -> Image.Exif:
    with Image.open(BytesIO(data)) as im:
        im.load()
        return im.getexif()


def _assert_no_gps(data: bytes) -> None:
    exif = _exif(data)
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    # Nothing of the planted coordinates or the XMP properties is left anywhere.
    assert b"GPSLatitude" not in data and b"GPSAltitude" not in data
    assert b"52,31.2057N" not in data
    # The GPS values themselves (the seconds of latitude, 12.34) were zeroed, not just unlinked.
    assert struct.pack(">II", 1234, 100) not in data and struct.pack("<II", 1234, 100) not in data


def test_jpeg_gps_is_removed_without_touching_the_picture() -> None:
    upload = fx.jpeg_with_gps()
    assert GPS_IFD in _exif(upload)
    result = process_upload(upload)

    assert result.gps_removed
    _assert_no_gps(result.data)
    assert _pixels(result.data) == _pixels(upload)  # lossless: same entropy-coded data
    assert len(result.data) == len(upload)  # edited in place
    # Only metadata segments differ: the image data is the same bytes.
    sos = next(b for b in jpeg_layout(upload).blocks if b.kind == b"\xda").start
    assert result.data[sos:] == upload[sos:]


def test_jpeg_keeps_the_rest_of_its_metadata() -> None:
    result = process_upload(fx.jpeg_with_gps())
    exif = _exif(result.data)
    assert exif[0x010F] == "Acme Optics"
    assert exif[0x0110] == "Model Nine"
    assert exif[0x0112] == 6
    assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
    with Image.open(BytesIO(result.data)) as im:
        assert im.info["icc_profile"] == fx.icc_srgb()
        xmp = im.info["xmp"]
    assert b"Kept title" in xmp
    assert b"GPS" not in xmp
    # Upright size comes from the orientation that was kept.
    assert (result.width, result.height) == (640, 480)


def test_hashes_describe_what_is_stored() -> None:
    upload = fx.jpeg_with_gps()
    result = process_upload(upload)
    assert result.upload_sha256 == hashlib.sha256(upload).hexdigest()
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.sha256 != result.upload_sha256


@pytest.mark.parametrize(
    "make",
    [fx.jpeg, fx.png, fx.png_rgba, fx.gif_animated, fx.webp_still, fx.webp_animated, fx.jpeg_oriented.__wrapped__],
    ids=["jpeg", "png", "png-rgba", "gif", "webp", "webp-animated", "jpeg-exif-without-gps"],
)
def test_without_location_the_original_is_stored_byte_for_byte(make: Callable[..., bytes]) -> None:
    upload = make(6) if make is fx.jpeg_oriented.__wrapped__ else make()
    result = process_upload(upload)
    assert result.data == upload
    assert not result.gps_removed and not result.trailing_data_removed
    assert result.sha256 == result.upload_sha256 == hashlib.sha256(upload).hexdigest()


def test_png_exif_gps_is_removed_losslessly() -> None:
    upload = fx.png_with_gps()
    assert GPS_IFD in _exif(upload)
    result = process_upload(upload)
    assert result.gps_removed
    _assert_no_gps(result.data)
    assert _exif(result.data)[0x0110] == "Model Nine"
    assert _pixels(result.data) == _pixels(upload)
    with Image.open(BytesIO(result.data)) as im:
        im.verify()  # every chunk checksum is right


def test_png_raw_profile_with_gps_is_dropped() -> None:
    upload = fx.png_with_raw_profile_gps()
    assert GPS_IFD in _exif(upload)  # Pillow (and exiftool) read this text chunk as EXIF
    result = process_upload(upload)
    assert result.gps_removed
    assert GPS_IFD not in _exif(result.data)
    assert b"Raw profile type exif" not in result.data
    with Image.open(BytesIO(result.data)) as im:
        assert im.text["Title"] == "Kept title"
    assert _pixels(result.data) == _pixels(upload)


def test_png_xmp_gps_is_blanked() -> None:
    upload = fx.png_with_xmp_gps()
    result = process_upload(upload)
    assert result.gps_removed
    with Image.open(BytesIO(result.data)) as im:
        im.verify()
    with Image.open(BytesIO(result.data)) as im:
        xmp = im.info["XML:com.adobe.xmp"]
    assert "GPS" not in xmp and "Kept title" in xmp
    assert _pixels(result.data) == _pixels(upload)


def test_webp_gps_is_removed_without_reencoding() -> None:
    upload = fx.webp_with_gps()
    assert GPS_IFD in _exif(upload)
    result = process_upload(upload)
    assert result.gps_removed
    _assert_no_gps(result.data)
    assert _exif(result.data)[0x010F] == "Acme Optics"
    assert len(result.data) == len(upload)
    bitstream = [b for b in riff_layout(upload).blocks if b.kind == b"VP8 "][0]
    assert result.data[bitstream.start : bitstream.end] == upload[bitstream.start : bitstream.end]


def test_gps_removal_is_idempotent() -> None:
    once = process_upload(fx.jpeg_with_gps())
    twice = process_upload(once.data)
    assert not twice.gps_removed
    assert twice.data == once.data


def test_trailing_zip_is_dropped_from_the_original() -> None:
    upload = fx.jpeg_zip_appended()
    result = process_upload(upload)
    assert result.trailing_data_removed and not result.gps_removed
    assert b"PK\x03\x04" not in result.data
    assert result.data == fx.jpeg(200, 150)
    assert result.sha256 != result.upload_sha256


def test_data_after_png_end_is_dropped() -> None:
    upload = fx.png() + fx.zip_archive()
    result = process_upload(upload)
    assert result.trailing_data_removed
    assert result.data == fx.png()
    assert png_layout(result.data).end == len(result.data)


def test_mpo_secondary_image_with_gps_is_dropped() -> None:
    upload = fx.mpo_with_gps()
    assert b"Model Nine" in upload  # the second image's EXIF, with GPS
    result = process_upload(upload)
    assert result.format == "JPEG" and result.content_type == "image/jpeg"
    assert result.trailing_data_removed
    assert b"Model Nine" not in result.data
    assert b"MPF\x00" not in result.data  # no pointers to images that are gone
    assert _pixels(result.data) == _pixels(upload)


def test_polyglot_comment_and_text_are_kept_in_the_original_only() -> None:
    # They are images: the original is stored as uploaded (served as image/* with
    # nosniff); the thumbnails, which are all most pages show, carry none of it.
    for upload in (fx.jpeg_html_comment(), fx.png_html_text()):
        result = process_upload(upload)
        assert result.data == upload
        for variant in result.variants:
            assert b"<script" not in variant.data
