"""Camera details and the date taken, from the EXIF of every format that carries it."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from gallery.imaging import process_upload
from gallery.imaging.exif import (
    NOTHING,
    clean_text,
    exposure_text,
    read_details,
    read_tiff,
    taken_text,
)
from tests.imaging import heif_files as files
from tests.imaging.fixtures import gif_animated, photo

CAMERA = {
    "make": "Acme Optics", "model": "Model Nine", "lens": "RF 50mm F1.8 STM",
    "focal_length": 50, "f_number": 1.8, "exposure_time": "1/250", "iso": 400,
}


def _save(fmt: str, exif: bytes) -> bytes:
    out = BytesIO()
    photo(64, 48).save(out, fmt, exif=exif, **({"quality": 85} if fmt != "PNG" else {}))
    return out.getvalue()


MAKERS = {
    "jpeg": lambda exif: _save("JPEG", exif),
    "png": lambda exif: _save("PNG", exif),  # an eXIf chunk
    "webp": lambda exif: _save("WEBP", exif),
    "avif": lambda exif: _save("AVIF", exif),
    "heic": lambda exif: files.Heif.read(files.encode_heic()).with_exif(exif).to_bytes(),
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_camera_and_date_taken_are_read_from_every_format(kind):
    result = process_upload(MAKERS[kind](files.camera_exif()))
    assert result.camera == CAMERA
    assert result.taken_at == "2026-07-14T18:03:12+02:00"
    assert result.gps_removed  # and the location went, as ever


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_without_an_offset_the_time_has_none(kind):
    result = process_upload(MAKERS[kind](files.camera_exif(offset=None, gps=False)))
    assert result.taken_at == "2026-07-14T18:03:12" and result.camera == CAMERA
    assert not result.gps_removed


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_no_exif_is_nothing_known(kind):
    data = files.encode_avif() if kind == "avif" else (
        files.encode_heic() if kind == "heic" else _save(kind.upper(), b""))
    result = process_upload(data)
    assert result.camera == {} and result.taken_at is None


def test_a_gif_has_no_camera_details():
    assert read_details("GIF", gif_animated()) is NOTHING


def _exif(**fields: object) -> bytes:
    """EXIF with IFD0 tags and Exif IFD tags given by number: ``_exif(t0x010F="x", e0x9003=...)``."""
    exif = Image.Exif()
    for name, value in fields.items():
        tag = int(name[1:], 16)
        if name.startswith("t"):
            exif[tag] = value
        else:
            exif.get_ifd(0x8769)[tag] = value
    return exif.tobytes()


@pytest.mark.parametrize(("fields", "camera"), [
    ({"t0x010F": "  NIKON CORPORATION   ", "t0x0110": "NIKON D750\x00junk"},
     {"make": "NIKON CORPORATION", "model": "NIKON D750"}),
    ({"t0x010F": "Evil\x7fCam\x1b[31m\nNext\t"}, {"make": "Evil Cam [31m Next"}),
    ({"t0x0110": "x" * 500}, {"model": "x" * 100}),
    ({"t0x010F": "\x00\x00"}, {}),
    ({"e0x829A": IFDRational(1, 0), "e0x829D": IFDRational(0, 1)}, {}),  # no zero divisions
    ({"e0x829A": IFDRational(10, 2500)}, {"exposure_time": "1/250"}),
    ({"e0x829A": IFDRational(1, 3)}, {"exposure_time": "0.3"}),
    ({"e0x829A": IFDRational(30, 1)}, {"exposure_time": "30"}),
    ({"e0x829A": IFDRational(5, 10)}, {"exposure_time": "0.5"}),
    ({"e0x9201": IFDRational(8, 1)}, {"exposure_time": "1/256"}),  # APEX shutter speed
    ({"e0x9202": IFDRational(2, 1)}, {"f_number": 2}),  # APEX aperture
    ({"e0x829D": IFDRational(178, 100), "e0x920A": IFDRational(6765, 1000)},
     {"f_number": 1.78, "focal_length": 6.76}),
    ({"e0x8827": 65535, "e0x8833": 102400}, {"iso": 102400}),
    ({"e0x8827": 0}, {}),
], ids=["padded", "controls", "long", "empty", "zero-division", "fraction", "third",
        "long-exposure", "half", "apex-shutter", "apex-aperture", "phone", "iso-speed",
        "iso-zero"])
def test_bad_and_odd_values_are_cleaned_or_dropped(fields, camera):
    assert read_tiff(_exif(**fields)).camera == camera


@pytest.mark.parametrize(("date", "offset", "expected"), [
    ("2026:07:14 18:03:12", "+02:00", "2026-07-14T18:03:12+02:00"),
    ("2026:07:14 18:03:12", "-05:30", "2026-07-14T18:03:12-05:30"),
    ("2026:07:14 18:03:12", None, "2026-07-14T18:03:12"),
    ("2026:07:14 18:03:12", "+25:00", "2026-07-14T18:03:12"),  # not an offset: left out
    ("2026:07:14 18:03:12", "garbage", "2026-07-14T18:03:12"),
    ("2026-07-14T18:03:12", None, "2026-07-14T18:03:12"),
    ("0000:00:00 00:00:00", "+02:00", None),
    ("2026:02:30 10:00:00", None, None),
    ("    :  :     :  :  ", None, None),
    ("1066:10:14 09:00:00", None, None),
])
def test_taken_at_is_iso_8601(date, offset, expected):
    assert taken_text(date, offset) == expected


@pytest.mark.parametrize(("seconds", "shown"), [
    (1 / 8000, "1/8000"), (1 / 60, "1/60"), (0.25, "1/4"), (0.3, "0.3"), (1.3, "1.3"),
    (2.0, "2"), (0.0, None), (-1.0, None), (1e9, None),
])
def test_exposure_text(seconds, shown):
    assert exposure_text(seconds) == shown


def test_clean_text():
    assert clean_text(b"Caf\xc3\xa9 \x00rest") == "Caf\u00e9"
    assert clean_text(b"Caf\xe9") == "Caf\u00e9"  # Latin-1 when not UTF-8
    assert clean_text("a\u200bb\u0007c") == "a b c"
    assert clean_text(" \t ") is None


def _broken_tiff(body: bytes) -> bytes:
    return b"Exif\x00\x00" + body


@pytest.mark.parametrize("block", [
    b"",
    b"Exif\x00\x00",
    _broken_tiff(b"II*\x00"),
    _broken_tiff(b"II*\x00\xff\xff\xff\x7f"),
    _broken_tiff(b"MM\x00*\x00\x00\x00\x08\xff\xff"),
    _broken_tiff(b"MM\x00*\x00\x00\x00\x08\x00\x01\x87\x69\x00\x04\x00\x00\x00\x01\x7f\xff\xff\xff"),
    _broken_tiff(b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1) + struct.pack(
        "<HHII", 0x010F, 2, 0xFFFFFF, 0xFFFFFFF0)),
], ids=["empty", "prefix", "no-ifd", "far-ifd", "huge-count", "far-exif-ifd", "far-value"])
def test_broken_exif_never_fails_an_upload(block):
    data = files.Heif.read(files.encode_heic()).with_exif(block).to_bytes() if block else (
        files.encode_heic())
    result = process_upload(data)
    assert result.camera == {} and result.taken_at is None
