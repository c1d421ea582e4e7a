"""Every upload is hostile: what a person sees for each kind of bad or good file."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pytest
from PIL import Image

from gallery.errors import DamagedImage, TooLarge, UnsupportedType
from gallery.imaging import ALLOWED_TYPES, Limits, make_variants, process_upload, validate
from tests.imaging import fixtures as fx

ACCEPTED: list[tuple[Callable[[], bytes], str, int]] = [
    (fx.jpeg, "JPEG", 1),
    (fx.jpeg_cmyk, "JPEG", 1),
    (fx.jpeg_progressive, "JPEG", 1),
    (fx.jpeg_grey, "JPEG", 1),
    (fx.mpo_with_gps, "JPEG", 1),
    (fx.png, "PNG", 1),
    (fx.png_rgba, "PNG", 1),
    (fx.png_palette_trns, "PNG", 1),
    (fx.png_16bit, "PNG", 1),
    (fx.png_la, "PNG", 1),
    (fx.png_apng, "PNG", 3),
    (fx.gif_animated, "GIF", 4),
    (fx.webp_still, "WEBP", 1),
    (fx.webp_animated, "WEBP", 3),
]


@pytest.mark.parametrize(("make", "image_format", "frames"), ACCEPTED, ids=lambda v: getattr(v, "__name__", v))
def test_allowed_images_are_accepted_with_their_type_from_content(
    make: Callable[[], bytes], image_format: str, frames: int
) -> None:
    result = process_upload(make())
    assert result.format == image_format
    assert result.content_type == ALLOWED_TYPES[image_format]
    assert result.extension == {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}[image_format]
    assert result.frames == frames
    assert result.animated is (frames > 1)


REFUSED_TYPES: list[tuple[Callable[[], bytes], str]] = [
    (fx.svg_with_script, "image/svg+xml"),
    (fx.html, "text/html"),
    (fx.eps, "application/postscript"),
    (fx.pdf, "application/pdf"),
    (fx.bmp, "image/bmp"),
    (fx.tiff, "image/tiff"),
    (fx.zip_archive, "application/zip"),
    (fx.random_bytes, "application/octet-stream"),
]


@pytest.mark.parametrize(("make", "detected"), REFUSED_TYPES, ids=lambda v: getattr(v, "__name__", v))
def test_other_types_are_refused_naming_what_was_detected(make: Callable[[], bytes], detected: str) -> None:
    with pytest.raises(UnsupportedType) as caught:
        process_upload(make())
    assert caught.value.status == 415
    assert caught.value.message == (
        f"That file is not an image we accept (detected: {detected}). Allowed: JPEG, PNG, GIF, WebP, HEIC/HEIF, AVIF."
    )


def test_bmp_and_tiff_are_refused_although_pillow_could_decode_them() -> None:
    for data in (fx.bmp(), fx.tiff()):
        with Image.open(BytesIO(data)) as im:
            im.load()  # Pillow can: we still do not accept them
        with pytest.raises(UnsupportedType):
            make_variants(data)


def test_empty_file_is_refused() -> None:
    with pytest.raises(UnsupportedType, match="empty"):
        process_upload(fx.empty())


def test_libmagic_and_pillow_must_agree() -> None:
    # PNG signature and a readable IHDR, but Pillow refuses the header chunk's checksum.
    data = bytearray(fx.png())
    data[29] ^= 0xFF  # IHDR CRC
    with pytest.raises(UnsupportedType, match="looks like image/png but is not a PNG image"):
        process_upload(bytes(data))


def test_too_many_bytes() -> None:
    data = fx.jpeg()
    with pytest.raises(TooLarge) as caught:
        process_upload(data, Limits(max_bytes=len(data) - 1))
    assert caught.value.status == 413
    assert "MB, the limit is" in caught.value.message
    process_upload(data, Limits(max_bytes=len(data)))  # exactly at the limit is fine


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (fx.png_pixel_flood, "30000x30000 (900 megapixels), the limit is 50 megapixels"),
        (fx.gif_huge_screen, "60000x60000 (3600 megapixels), the limit is 50 megapixels"),
        (fx.gif_frame_outside_screen, "20000x20000 (400 megapixels), the limit is 50 megapixels"),
    ],
    ids=["png-flood", "gif-screen", "gif-frame-outside-screen"],
)
def test_pixel_floods_are_refused_from_the_header(make: Callable[[], bytes], shown: str) -> None:
    with pytest.raises(TooLarge) as caught:
        process_upload(make())
    assert caught.value.message == f"That image is {shown}."


def test_pixel_limit_is_configurable() -> None:
    data = fx.jpeg(800, 600)
    with pytest.raises(TooLarge, match=r"800x600 \(0.5 megapixels\), the limit is 0.4 megapixels"):
        process_upload(data, Limits(max_pixels=400_000))
    assert process_upload(data, Limits(max_pixels=480_000)).width == 800


def test_too_many_frames_are_refused_before_decoding() -> None:
    with pytest.raises(TooLarge) as caught:
        process_upload(fx.gif_many_frames(), Limits(max_frames=500))
    assert caught.value.message == "That animation has 2000 frames, the limit is 500."
    with pytest.raises(TooLarge, match="3 frames, the limit is 2"):
        make_variants(fx.webp_animated(), Limits(max_frames=2))
    with pytest.raises(TooLarge, match="3 frames, the limit is 2"):
        make_variants(fx.png_apng(), Limits(max_frames=2))


def test_total_animation_work_is_bounded() -> None:
    # 4 frames of 64x48: 12288 pixels of decoding in all.
    with pytest.raises(TooLarge, match="too large to process"):
        process_upload(fx.gif_animated(), Limits(max_total_pixels=12_287))
    assert process_upload(fx.gif_animated(), Limits(max_total_pixels=12_288)).frames == 4


def test_our_pixel_limit_never_exceeds_pillows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(TooLarge, match="the limit is 0.1 megapixels"):
        process_upload(fx.jpeg(800, 600), Limits(max_pixels=10**12))


@pytest.mark.parametrize("pillow_limit", [300_000, 200_000], ids=["bomb-warning", "bomb-error"])
def test_pillow_bomb_guard_becomes_too_large(monkeypatch: pytest.MonkeyPatch, pillow_limit: int) -> None:
    # Pretend our own check missed: Pillow's DecompressionBombError, and its warning
    # when warnings are errors (as in this suite), must still be a 413.
    monkeypatch.setattr(validate, "pixel_limit", lambda limits: 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    with pytest.raises(TooLarge, match="too large to process") as caught:
        process_upload(fx.jpeg(800, 600))
    assert isinstance(caught.value.__cause__, (Image.DecompressionBombError, Image.DecompressionBombWarning))


DAMAGED: list[tuple[Callable[[], bytes], str]] = [
    (fx.jpeg_truncated, "That JPEG image is damaged: it is incomplete."),
    (fx.png_truncated, "That PNG file is damaged: its header cannot be read."),
    (fx.png_bad_idat_crc, "That PNG image is damaged: it cannot be decoded."),
    (fx.png_value_error, "That PNG image is damaged: it cannot be decoded."),
]


@pytest.mark.parametrize(("make", "message"), DAMAGED, ids=lambda v: getattr(v, "__name__", v))
def test_damaged_images_are_refused_with_422(make: Callable[[], bytes], message: str) -> None:
    with pytest.raises(DamagedImage) as caught:
        process_upload(make())
    assert caught.value.status == 422
    assert caught.value.message == message


def test_png_value_error_is_not_an_oserror_inside() -> None:
    with pytest.raises(DamagedImage) as caught:
        process_upload(fx.png_value_error())
    assert isinstance(caught.value.__cause__, ValueError)
    assert not isinstance(caught.value.__cause__, OSError)


def test_truncated_large_jpeg_is_caught_by_the_reduced_scale_decode() -> None:
    # Large enough that the JPEG is decoded at 1/2 scale: damage must still be found.
    data = fx.jpeg(3400, 1700, quality=80)
    decoded = validate.decode(data, draft_to=1600)
    assert decoded.image.size == (1700, 850)
    for cut in (len(data) // 2, len(data) - 200):
        with pytest.raises(DamagedImage, match="incomplete"):
            make_variants(data[:cut])


def test_truncated_progressive_jpeg_is_damaged() -> None:
    data = fx.jpeg_progressive()
    with pytest.raises(DamagedImage, match="incomplete"):
        process_upload(data[: len(data) * 3 // 4])


def test_damage_in_a_later_frame_is_found() -> None:
    data = fx.gif_animated()
    # Cut inside the last frame's image data.
    with pytest.raises(DamagedImage):
        process_upload(data[:-6])


def test_corrupt_exif_does_not_reject_a_good_picture() -> None:
    data = bytearray(fx.jpeg_oriented(6))
    at = data.index(b"Exif\x00\x00") + 6
    data[at + 4 : at + 8] = b"\xff\xff\xff\x7f"  # IFD0 offset far outside the block
    # Pillow warns about it (a log line in production, where warnings are not errors).
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        result = process_upload(bytes(data))
    assert (result.width, result.height) == (400, 600)  # orientation unreadable: as stored
