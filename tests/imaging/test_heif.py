"""HEIC and AVIF uploads: by content, within the limits, upright, sRGB, without location."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from PIL import Image

from gallery.errors import DamagedImage, GalleryError, TooLarge, UnsupportedType
from gallery.imaging import Limits, make_variants, process_upload
from gallery.imaging import heif as heif_container
from gallery.imaging.privacy import exif_has_gps
from gallery.imaging.validate import sniff
from tests.imaging import heif_files as files
from tests.imaging.fixtures import BLUE, RED, photo


def decoded(variant_data: bytes) -> Image.Image:
    im = Image.open(BytesIO(variant_data))
    im.load()
    return im.convert("RGB")


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def exif_items(data: bytes) -> list[bytes]:
    parsed = heif_container.parse(data)
    return [item.read(data) for item in parsed.metadata_items(b"Exif")]


# --- accepted by content ------------------------------------------------------------


@pytest.mark.parametrize(("make", "fmt", "content_type", "extension"), [
    (files.encode_heic, "HEIF", "image/heic", "heic"),
    (files.encode_avif, "AVIF", "image/avif", "avif"),
], ids=["heic", "avif"])
def test_heic_and_avif_are_accepted_and_get_webp_thumbnails(make, fmt, content_type, extension):
    data = make()
    result = process_upload(data)
    assert (result.format, result.content_type, result.extension) == (fmt, content_type, extension)
    assert (result.width, result.height, result.frames, result.animated) == (96, 64, 1, False)
    assert result.data is data and not result.gps_removed
    for variant in result.variants:
        thumb = Image.open(BytesIO(variant.data))
        assert thumb.format == "WEBP" and thumb.size == (96, 64)
        assert "exif" not in thumb.info and "icc_profile" not in thumb.info
    # The picture survived: the thumbnail looks like the photo it was made from.
    source = photo(96, 64).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert close(decoded(result.variants[-1].data).resize((1, 1)).getpixel((0, 0)), source, 6)


@pytest.mark.parametrize(("make", "detected"), [
    (files.encode_heic, "image/heic"),
    (files.encode_avif, "image/avif"),
    (files.heic_sequence_brand, "image/heif-sequence"),
    (files.avif_sequence, "image/avif"),
], ids=["heic", "avif", "heif-sequence", "avif-sequence"])
def test_libmagic_names_them_as_debian_does(make, detected):
    fmt, seen = sniff(make())
    assert seen == detected and fmt == ("AVIF" if "avif" in detected else "HEIF")


def test_make_variants_regenerates_heic_thumbnails_like_an_upload():
    data = files.heic_with_gps()
    upload = process_upload(data)
    again = make_variants(upload.data)
    assert [(v.name, v.width, v.height) for v in again] == [
        (v.name, v.width, v.height) for v in upload.variants]


# --- deep colour, HDR, wide gamut ---------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: files.encode_heic(depth=10),
    lambda: files.encode_heic(depth=12),
    lambda: files.encode_avif_deep(10),
    lambda: files.encode_avif_deep(12),
], ids=["heic-10", "heic-12", "avif-10", "avif-12"])
def test_ten_and_twelve_bit_pictures_become_8_bit_srgb_thumbnails(make):
    result = process_upload(make())
    thumb = Image.open(BytesIO(result.variants[0].data))
    assert thumb.mode == "RGB" and thumb.size == (96, 64)
    source = photo(96, 64).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert close(decoded(result.variants[0].data).resize((1, 1)).getpixel((0, 0)), source, 8)


def _pq_signal(nits: float) -> int:
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = (nits / 10000) ** m1
    return round(((c1 + c2 * y) / (1 + c3 * y)) ** m2 * 255)


@pytest.mark.parametrize(("cicp", "signal", "expected"), [
    ("9/16/9", _pq_signal(203), 240),  # PQ reference white: near white, not grey
    ("9/16/9", _pq_signal(10), 63),  # PQ shadows stay as dark as they are (10 nits)
    ("9/16/9", _pq_signal(4000), 255),  # highlights roll off into white
    ("9/18/9", 191, 240),  # HLG reference white (75 %)
], ids=["pq-white", "pq-shadow", "pq-highlight", "hlg-white"])
def test_hdr_is_tone_mapped_to_srgb(cicp, signal, expected):
    data = files.encode_avif_deep(10, cicp, (64, 48), grey=signal)
    result = process_upload(data)
    pixel = decoded(result.variants[0].data).getpixel((32, 24))
    assert close(pixel, (expected,) * 3, 6), pixel


def test_display_p3_colours_are_converted_to_srgb():
    """P3 (200, 100, 50) is more saturated than sRGB (200, 100, 50): in sRGB it is about
    (215, 93, 31) (the standard P3 to sRGB matrix); shown untouched it would be dull."""
    im = Image.new("RGB", (64, 48), (200, 100, 50))
    encoded = files.encode_avif(im)
    model = files.Heif.read(encoded)
    props = model.items[model.primary].properties
    props[:] = [(p, e) for p, e in props if p[4:8] != b"colr"] + [(files.nclx(12, 13, 6), False)]
    result = process_upload(model.to_bytes())
    pixel = decoded(result.variants[0].data).getpixel((32, 24))
    assert close(pixel, (215, 93, 31), 5), pixel


# --- rotation and mirroring ---------------------------------------------------------

T = Image.Transpose
TURNS = [
    # properties on the primary picture, and how its pixels are stored so that
    # applying them shows the marked picture upright (ISO/IEC 23008-12:2022).
    ([files.irot(1)], [T.ROTATE_270]),  # shown turned 90 degrees anticlockwise
    ([files.irot(2)], [T.ROTATE_180]),
    ([files.irot(3)], [T.ROTATE_90]),
    ([files.imir(0)], [T.FLIP_TOP_BOTTOM]),  # top and bottom exchanged
    ([files.imir(1)], [T.FLIP_LEFT_RIGHT]),  # left and right exchanged
    ([files.irot(1), files.imir(0)], [T.FLIP_TOP_BOTTOM, T.ROTATE_270]),  # turn, then mirror
]


@pytest.mark.parametrize("kind", ["heic", "avif"])
@pytest.mark.parametrize(("properties", "stored"), TURNS,
                         ids=["irot1", "irot2", "irot3", "imir0", "imir1", "irot1-imir0"])
def test_rotation_and_mirroring_of_the_container_are_applied(kind, properties, stored):
    data = files.heif_turned(kind, files.marked_stored(*stored), properties)
    result = process_upload(data)
    assert (result.width, result.height) == (240, 160)
    thumb = decoded(result.variants[0].data)
    assert thumb.size == (240, 160)
    assert close(thumb.getpixel((15, 10)), RED, 40), "the red corner is top-left"
    assert close(thumb.getpixel((225, 150)), BLUE, 40)
    assert close(thumb.getpixel((225, 10)), BLUE, 40) and close(thumb.getpixel((15, 150)), BLUE, 40)


def test_exif_orientation_is_not_applied_twice_to_a_heic():
    """HEIF readers take the container's rotation; the EXIF orientation copy is ignored."""
    stored = files.marked_stored(T.ROTATE_270)
    model = files.Heif.read(files.heic_of(stored)).with_exif(files.camera_exif(orientation=6))
    model.add_property(model.primary, files.irot(1))
    result = process_upload(model.to_bytes())
    thumb = decoded(result.variants[0].data)
    assert thumb.size == (240, 160) and close(thumb.getpixel((15, 10)), RED, 40)


# --- bursts and sequences -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["heic", "avif"])
def test_a_burst_keeps_its_primary_picture(kind):
    result = process_upload(files.burst(kind))
    assert (result.frames, result.animated) == (1, False)
    red, green, blue = (int(result.placeholder[i : i + 2], 16) for i in (1, 3, 5))
    assert blue > 180 and blue > red + 100, result.placeholder  # the tinted second picture


def test_an_avif_sequence_keeps_its_first_picture_and_loses_its_location():
    data = files.avif_sequence()
    assert b"\xa9xyz" in data
    result = process_upload(data)
    assert (result.frames, result.animated) == (1, False)
    assert close(decoded(result.variants[0].data).getpixel((32, 24)), (200, 30, 40), 12)
    assert result.gps_removed and len(result.data) == len(data)
    assert b"\xa9xyz" not in result.data and b"+52.52" not in result.data
    process_upload(result.data)  # what is stored still decodes


def test_the_picture_limit_counts_every_picture_of_a_sequence_before_decoding():
    with pytest.raises(TooLarge) as caught:
        process_upload(files.avif_sequence(frames=4), Limits(max_frames=3))
    assert caught.value.message == "That file holds 4 pictures, the limit is 3."


def test_the_picture_limit_counts_a_burst():
    with pytest.raises(TooLarge) as caught:
        process_upload(files.burst(), Limits(max_frames=2))
    assert caught.value.status == 413 and "3 pictures" in caught.value.message


@pytest.mark.parametrize("make", [files.heic_sequence_brand, files.heic_broken_track],
                         ids=["no-track", "broken-track"])
def test_a_heic_sequence_libheif_cannot_read_is_a_clear_422(make):
    with pytest.raises(DamagedImage) as caught:
        process_upload(make())
    assert caught.value.status == 422
    assert caught.value.message == "That HEIC image is damaged: it cannot be decoded."


# --- hostile and damaged files ------------------------------------------------------


@pytest.mark.parametrize("make", [files.html_behind_ftyp, files.script_behind_ftyp],
                         ids=["html", "script"])
def test_a_heic_header_in_front_of_a_web_page_or_script_is_415(make):
    with pytest.raises(UnsupportedType) as caught:
        process_upload(make())
    assert caught.value.status == 415
    assert caught.value.message.startswith("That file has a HEIC header but holds no HEIC image.")


@pytest.mark.parametrize(("make", "label"), [
    (files.encode_avif, "AVIF"), (files.encode_heic, "HEIC"),
], ids=["avif", "heic"])
@pytest.mark.parametrize("cut", [40, 200, 0.5])
def test_a_truncated_file_is_422(make, label, cut):
    data = make()
    keep = int(len(data) * cut) if isinstance(cut, float) else len(data) - cut
    with pytest.raises(DamagedImage) as caught:
        process_upload(data[:keep])
    assert caught.value.status == 422
    assert caught.value.message.startswith(f"That {label} ")


def test_an_av1_picture_in_a_heic_branded_file_is_415():
    model = files.Heif.read(files.encode_avif())
    model.major, model.compatible = b"heic", [b"heic", b"mif1"]
    with pytest.raises(UnsupportedType) as caught:
        process_upload(model.to_bytes())
    assert "coded as AV1, which we do not decode" in caught.value.message


@pytest.mark.parametrize(("make", "fmt"), [(files.encode_avif, "AVIF"), (files.encode_heic, "HEIF")],
                         ids=["avif", "heic"])
def test_a_generic_brand_is_decoded_as_its_pictures_coding(make, fmt):
    model = files.Heif.read(make())
    model.major = b"mif1"
    model.compatible = [b"mif1", b"miaf", b"avif" if fmt == "AVIF" else b"heic"]
    result = process_upload(model.to_bytes())
    assert result.format == fmt and (result.width, result.height) == (96, 64)


def _with_size(data: bytes, width: int, height: int) -> bytes:
    model = files.Heif.read(data)
    for item in model.items.values():
        item.properties = [(files.ispe(width, height) if p[4:8] == b"ispe" else p, e)
                           for p, e in item.properties]
    return model.to_bytes()


@pytest.mark.parametrize("make", [files.encode_heic, files.encode_avif], ids=["heic", "avif"])
def test_pixel_limit_holds_from_the_declared_size_before_decoding(make):
    with pytest.raises(TooLarge) as caught:
        process_upload(_with_size(make(), 40000, 30000))
    assert caught.value.message == (
        "That image is 40000x30000 (1200 megapixels), the limit is 50 megapixels.")


def test_memory_limit_holds_from_the_declared_size_before_decoding():
    with pytest.raises(TooLarge) as caught:
        process_upload(_with_size(files.encode_avif(), 6000, 4000), Limits(max_memory=100_000_000))
    assert "would need about" in caught.value.message and "(6000x4000)" in caught.value.message


def test_a_file_without_a_declared_size_is_422():
    model = files.Heif.read(files.encode_avif())
    for item in model.items.values():
        item.properties = [(p, e) for p, e in item.properties if p[4:8] != b"ispe"]
    with pytest.raises(DamagedImage) as caught:
        process_upload(model.to_bytes())
    assert caught.value.message == "That AVIF file is damaged: it does not declare its size."


def test_too_many_pictures_are_refused_before_anything_is_decoded():
    model = files.Heif.read(files.encode_avif())
    coded = model.items[model.primary]
    for _ in range(600):
        model.add_item(files.Item(coded.type, coded.data, list(coded.properties)))
    with pytest.raises(TooLarge) as caught:
        process_upload(model.to_bytes())
    assert caught.value.message == "That file holds 601 pictures, the limit is 500."


def _fuzzed(data: bytes, at: float, value: int) -> bytes:
    buf = bytearray(data)
    pos = int(len(buf) * at)
    buf[pos : pos + 4] = bytes([value]) * 4
    return bytes(buf)


@pytest.mark.parametrize("make", [files.encode_heic, files.encode_avif], ids=["heic", "avif"])
@pytest.mark.parametrize("at", [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99])
@pytest.mark.parametrize("value", [0x00, 0xFF, 0x7F])
def test_damaged_bytes_anywhere_are_refused_with_4xx_or_accepted_never_5xx(make, at, value):
    try:
        result = process_upload(_fuzzed(make(), at, value))
    except GalleryError as err:
        assert 400 <= err.status < 500, err
    else:
        assert result.variants


# --- location -----------------------------------------------------------------------

GPS_BYTES = [struct.pack(order + "II", 1234, 100) for order in "<>"]
"""The latitude's seconds as an EXIF rational (see fixtures.GPS_LATITUDE), either byte order."""


@pytest.mark.parametrize(("make", "has_xmp"), [(files.heic_with_gps, True),
                                               (files.avif_with_gps, False)], ids=["heic", "avif"])
def test_gps_is_removed_in_place_and_the_rest_of_the_exif_kept(make, has_xmp):
    data = make()
    assert any(exif_has_gps(block[4:]) for block in exif_items(data))
    result = process_upload(data)
    assert result.gps_removed and len(result.data) == len(data)
    assert result.sha256 != result.upload_sha256
    blocks = exif_items(result.data)
    assert blocks and not any(exif_has_gps(block[4:]) for block in blocks)
    assert not any(marker in result.data for marker in GPS_BYTES)
    assert b"GPSLatitude" not in result.data and b"52,31.2057N" not in result.data
    assert b"Acme Optics" in result.data
    assert (b"Kept title" in result.data) is has_xmp  # the rest of the XMP stays
    again = process_upload(result.data)  # the stored original is a valid image, without GPS
    assert not again.gps_removed and again.camera == result.camera
    assert result.camera["make"] == "Acme Optics"
    with Image.open(BytesIO(result.data)) as im:
        assert not im.getexif().get_ifd(0x8825)
    for variant in result.variants:
        assert not any(marker in variant.data for marker in GPS_BYTES)
        assert b"Exif" not in variant.data


def test_a_motion_photos_video_and_bytes_after_the_file_are_dropped():
    data = files.motion_photo() + b"PK\x03\x04" + bytes(60)
    result = process_upload(data)
    assert result.trailing_data_removed and not result.gps_removed
    assert b"mpvd" not in result.data and b"PK\x03\x04" not in result.data
    assert b"\xa9xyz" not in result.data
    assert process_upload(result.data).data == result.data


def test_a_motion_photos_video_before_the_picture_data_is_blanked_in_place():
    model = files.Heif.read(files.encode_heic())
    model.before.append(files.box(b"mpvd", b"\xa9xyz+52.52+013.40/" + bytes(30)))
    data = model.to_bytes()
    result = process_upload(data)
    assert result.trailing_data_removed and len(result.data) == len(data)
    assert b"\xa9xyz" not in result.data and b"mpvd" not in result.data
    assert process_upload(result.data).data == result.data


def test_a_compressed_xmp_item_with_gps_is_blanked():
    import zlib

    model = files.Heif.read(files.encode_avif())
    packet = zlib.compress(b'<x:xmpmeta exif:GPSLatitude="52,31.2057N"/>')
    model.add_item(files.Item(b"mime", packet, content_type="application/rdf+xml",
                              content_encoding="deflate"), describes=model.primary)
    result = process_upload(model.to_bytes())
    assert result.gps_removed and packet not in result.data
