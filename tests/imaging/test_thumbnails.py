"""Thumbnails: upright, right colours, right sizes, WebP without metadata or injected bytes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from gallery.imaging import VARIANT_SIZES, Variant, make_variants, process_upload, thumbnails
from gallery.imaging.containers import riff_layout
from tests.imaging import fixtures as fx


def _close(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def _is_red(colour: tuple[int, ...]) -> bool:
    return _close(colour[:3], fx.RED)


def _variant(variants: tuple[Variant, ...], name: str) -> Variant:
    return next(v for v in variants if v.name == name)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_variant_is_upright(orientation: int) -> None:
    result = process_upload(fx.jpeg_oriented(orientation))
    assert (result.width, result.height) == (600, 400)
    for variant in result.variants:
        im = fx.decode(variant.data).convert("RGB")
        assert im.size == (variant.width, variant.height)
        assert variant.width > variant.height  # landscape, like the upright picture
        w, h = im.size
        assert _is_red(im.getpixel((w // 16, h // 16)))  # top-left
        for corner in ((w - 1 - w // 16, h // 16), (w // 16, h - 1 - h // 16), (w - 1 - w // 16, h - 1 - h // 16)):
            assert not _is_red(im.getpixel(corner))


def test_variant_sizes_are_largest_first_longest_side_and_aspect_kept() -> None:
    result = process_upload(fx.jpeg(2000, 1000))
    assert [v.name for v in result.variants] == list(VARIANT_SIZES) == ["lg", "md", "sm"]
    assert [(v.width, v.height) for v in result.variants] == [(1600, 800), (800, 400), (400, 200)]
    for variant in result.variants:
        assert variant.content_type == "image/webp"
        assert fx.decode(variant.data).format == "WEBP"


def test_small_images_are_never_upscaled() -> None:
    result = process_upload(fx.png_rgba())  # 200x100
    assert [(v.width, v.height) for v in result.variants] == [(200, 100)] * 3
    middle = process_upload(fx.jpeg(800, 600))
    assert [(v.width, v.height) for v in middle.variants] == [(800, 600), (800, 600), (400, 300)]


def test_large_jpeg_is_reduced_on_decode_and_still_accurate() -> None:
    # 3200x1600 decodes at half scale: the thumbnail must still match one made from
    # the full-size decode (measured: 13.8 here; a 1/4-scale decode gives 19.8, 1/8 gives 29.8).
    data = fx.jpeg_checker(3200, 1600)
    lg = _variant(make_variants(data), "lg")
    assert (lg.width, lg.height) == (1600, 800)
    reference = fx.decode(data).convert("RGB").resize((1600, 800), Image.Resampling.LANCZOS)
    ours = fx.decode(lg.data).convert("RGB")
    assert _mean_abs_difference(ours, reference) < 16


def _mean_abs_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_variants_carry_no_metadata() -> None:
    result = process_upload(fx.jpeg_with_gps())
    for variant in result.variants:
        kinds = {block.kind for block in riff_layout(variant.data).blocks}
        assert kinds <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, kinds
        assert b"Exif" not in variant.data and b"Model Nine" not in variant.data
        assert b"xmpmeta" not in variant.data
        info = fx.decode(variant.data).info
        assert "icc_profile" not in info and "exif" not in info and "xmp" not in info


def test_icc_profile_is_converted_to_srgb() -> None:
    # Red pixels under a profile with red and blue primaries swapped are blue in sRGB.
    result = process_upload(fx.jpeg_swapped_primaries())
    colour = fx.decode(_variant(result.variants, "sm").data).convert("RGB").getpixel((32, 32))
    assert colour[2] > 200 and colour[0] < 40, colour
    red, _green, blue = _hex(result.placeholder)
    assert blue > 200 and red < 40


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours() -> None:
    result = process_upload(fx.jpeg_cmyk())
    im = fx.decode(_variant(result.variants, "lg").data)
    assert im.mode == "RGB"
    assert _close(im.getpixel((150, 70)), (240, 25, 25), 45)  # red field
    assert max(im.getpixel((5, 5))) < 60  # black corner


@pytest.mark.parametrize(
    ("make", "where", "expected"),
    [
        (fx.jpeg_grey, (50, 25), (90, 90, 90)),
        (fx.jpeg_cmyk_with_rgb_profile, (50, 25), (255, 25, 25)),  # unusable profile: ignored
        (fx.png_bilevel, (25, 25), (0, 0, 0)),
        (fx.png_bilevel, (75, 25), (255, 255, 255)),
    ],
    ids=["grey-jpeg", "cmyk-with-rgb-profile", "bilevel-black", "bilevel-white"],
)
def test_other_modes_become_rgb(make: Callable[[], bytes], where: tuple[int, int], expected: tuple[int, int, int]) -> None:
    im = fx.decode(process_upload(make()).variants[0].data)
    assert im.mode == "RGB"
    assert _close(im.getpixel(where), expected, 12)


def test_palette_with_transparency_keeps_its_transparency() -> None:
    result = process_upload(fx.png_palette_trns())
    im = fx.decode(_variant(result.variants, "sm").data)
    assert im.mode == "RGBA"
    assert im.getpixel((10, 40))[3] == 0  # transparent half
    assert _close(im.getpixel((100, 40)), (*fx.BLUE, 255), 30)
    assert result.placeholder != "#000000"
    assert _close(_hex(result.placeholder), fx.BLUE, 30)  # transparent pixels do not count


def test_rgba_keeps_alpha_and_opaque_images_drop_it() -> None:
    rgba = fx.decode(process_upload(fx.png_rgba()).variants[0].data)
    assert rgba.mode == "RGBA"
    assert rgba.getpixel((150, 50))[3] == 0 and rgba.getpixel((50, 50))[3] == 255
    opaque = fx.decode(process_upload(fx.png()).variants[0].data)
    assert opaque.mode == "RGB"


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    im = fx.decode(process_upload(fx.png_16bit()).variants[0].data).convert("L")
    left, middle, right = (im.getpixel((x, 32)) for x in (8, 128, 247))
    assert left < 30 and 100 < middle < 160 and right > 225, (left, middle, right)


def test_greyscale_with_alpha() -> None:
    result = process_upload(fx.png_la())
    im = fx.decode(result.variants[0].data)
    assert im.mode == "RGBA"
    assert im.getpixel((10, 25))[3] == 0
    assert _close(im.getpixel((75, 25)), (128, 128, 128, 255), 6)


@pytest.mark.parametrize("make", [fx.gif_animated, fx.webp_animated, fx.png_apng], ids=["gif", "webp", "apng"])
def test_animations_are_thumbnailed_from_their_first_frame(make: Callable[[], bytes]) -> None:
    result = process_upload(make())
    assert result.animated
    for variant in result.variants:
        im = fx.decode(variant.data)
        assert getattr(im, "n_frames", 1) == 1
        assert _is_red(im.convert("RGB").getpixel((40, 30)))
    assert _is_red(_hex(result.placeholder))


def test_placeholder_is_the_average_colour_of_the_small_variant() -> None:
    result = process_upload(fx.jpeg(800, 600))
    sm = fx.decode(_variant(result.variants, "sm").data).convert("RGB")
    average = sm.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert _close(_hex(result.placeholder), average, 3)
    assert len(result.placeholder) == 7 and result.placeholder.startswith("#")


@pytest.mark.parametrize(
    ("make", "injected"),
    [
        (fx.jpeg_html_comment, b"<script"),
        (fx.png_html_text, b"<script"),
        (fx.jpeg_zip_appended, b"PK\x03\x04"),
    ],
    ids=["jpeg-comment", "png-text", "jpeg-zip"],
)
def test_polyglots_are_images_and_their_thumbnails_are_clean(make: Callable[[], bytes], injected: bytes) -> None:
    upload = make()
    assert injected in upload
    result = process_upload(upload)
    assert result.format in ("JPEG", "PNG")
    for variant in result.variants:
        assert b"<script" not in variant.data
        assert b"PK\x03\x04" not in variant.data
        assert b"<html" not in variant.data


def test_make_variants_matches_the_upload_pipeline() -> None:
    data = fx.jpeg_oriented(6)
    assert make_variants(data) == process_upload(data).variants


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_two_threads_make_the_same_thumbnails_as_one(monkeypatch) -> None:
    data = fx.jpeg(2400, 1600)
    together = make_variants(data)
    monkeypatch.setattr(thumbnails, "_CORES", 1)  # no second thread anywhere
    alone = make_variants(data)
    assert [(v.name, v.width, v.height) for v in together] == [(v.name, v.width, v.height) for v in alone]
    for two, one in zip(together, alone, strict=True):
        difference = ImageChops.difference(fx.decode(two.data).convert("RGB"),
                                           fx.decode(one.data).convert("RGB"))
        # The halves differ from one resize by rounding near the seam (see below); the
        # lossy encoder spreads that a little: about one level in 255 on average.
        assert max(ImageStat.Stat(difference).mean) < 1.5


@pytest.mark.parametrize("source, box", [
    ((2000, 1500), None),  # what a JPEG decoded at half scale gives
    ((2000, 1500), (0.0, 0.0, 2000.0, 1499.5)),  # with the draft's box
    ((5000, 3000), None),  # a large PNG: reduced first, then resampled
])
def test_the_resize_in_halves_has_no_seam(monkeypatch, source, box) -> None:
    monkeypatch.setattr(thumbnails, "_CORES", 2)
    im = fx.photo(*source)
    size = thumbnails.fit(*source, 1600)
    halves = thumbnails._first_resize(im, size, box)
    whole = im.resize(size, thumbnails.RESAMPLE, box=box, reducing_gap=thumbnails.REDUCING_GAP)
    assert halves.size == whole.size and halves.mode == whole.mode
    lo, hi = zip(*ImageChops.difference(halves, whole).getextrema(), strict=True)
    assert max(hi) <= 3


def test_an_error_in_the_background_encode_reaches_the_caller(monkeypatch) -> None:
    real = thumbnails.encode_webp

    def fails_when_large(im):
        if im.width >= 1600:
            raise OSError("encoder out of memory")
        return real(im)

    monkeypatch.setattr(thumbnails, "encode_webp", fails_when_large)
    monkeypatch.setattr(thumbnails, "_CORES", 2)
    with pytest.raises(OSError, match="encoder out of memory"):
        make_variants(fx.jpeg(2400, 1600))
