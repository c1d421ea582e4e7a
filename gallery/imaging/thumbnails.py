"""Thumbnails: upright, sRGB, WebP without metadata, made from one decode.

The largest variant is resized from the decoded frame (for JPEG already reduced
in the DCT domain by :func:`gallery.imaging.validate.decode`), every smaller one
from the variant before it. Colour is converted to sRGB with the embedded ICC
profile (LittleCMS through ``ImageCms``) after the first resize, where it costs
least; EXIF orientation is applied last, on the smallest image that needs it. With
more than one core, the first resize runs as two halves at once and the largest
variant's WebP encode, the slowest step, overlaps with the smaller ones.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import Generic, TypeVar

from PIL import Image

try:  # LittleCMS is part of Pillow's wheels, but optional when built from source.
    from PIL import ImageCms
except ImportError:  # pragma: no cover
    ImageCms = None  # type: ignore[assignment]

from gallery.imaging.model import VARIANT_SIZES, Variant
from gallery.imaging.validate import Decoded

WEBP_QUALITY = 80
WEBP_METHOD = 4
"""libwebp effort. Measured with bench/thumbnails.py on 12 and 24 MP photos: effort 2
makes the whole thumbnail step about 40% faster for files 3-4% larger; 3 costs as
much as 4; 5 and 6 save under 1% for more time. Thumbnails are made once and
downloaded on every view, so the smaller files win."""

OVERLAP_PIXELS = 500_000
"""From this size up (of the largest variant) a second thread shares the work: the
first resize runs as two halves at once, and the largest WebP encode (about 140 ms
for 1600 px at effort 4) overlaps with making the 800 and 400 px ones (about 60 ms
together). Below it a thread costs more than it saves."""

_CORES = os.cpu_count() or 1

T = TypeVar("T")

RESAMPLE = Image.Resampling.BICUBIC
_PREMULTIPLIED = {"LA": "La", "RGBA": "RGBa"}
REDUCING_GAP = 2.0

# Same table as ImageOps.exif_transpose, applied to the already reduced image.
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def fit(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the longest side is at most ``longest``; never enlarged."""
    side = max(width, height)
    if side <= longest:
        return width, height
    scale = longest / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _sixteen_to_eight(im: Image.Image) -> Image.Image:
    """16-bit greyscale (I;16*, or I holding 16-bit values) to 8-bit L, scaled, not clipped."""
    wide = im if im.mode == "I" else im.convert("I")
    return wide.point(lambda value: value / 257).convert("L")


def normalise_mode(im: Image.Image, keep_cmyk: bool = False) -> Image.Image:
    """Bring any decoded mode to L, LA, RGB, RGBA (or CMYK when ``keep_cmyk``).

    Palette images become RGBA when they have transparency (``convert`` would
    otherwise warn about byte transparency), and greyscale or truecolour images
    with a tRNS colour gain an alpha channel.
    """
    mode = im.mode
    has_trns = im.info.get("transparency") is not None
    if mode.startswith("I;16") or mode == "I":
        return _sixteen_to_eight(im)
    if mode in ("L", "RGB", "LA", "RGBA") and not (has_trns and mode in ("L", "RGB")):
        return im
    if mode == "CMYK" and keep_cmyk:
        return im
    if mode in ("P", "PA"):
        return im.convert("RGBA" if has_trns or mode == "PA" else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode in ("L", "RGB"):  # with a tRNS colour
        return im.convert("LA" if mode == "L" else "RGBA")
    if mode in ("La", "RGBa"):
        return im.convert(mode.replace("a", "A"))
    return im.convert("RGBA" if "A" in mode else "RGB")


def to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert to sRGB with the image's ICC profile; the result is RGB or RGBA.

    A profile LittleCMS cannot use is ignored, as browsers do; without LittleCMS the
    profile is dropped and the values are taken as sRGB.
    """
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    colour = im.convert("L" if im.mode == "LA" else "RGB") if alpha is not None else im
    converted = None
    if icc_profile and ImageCms is not None:
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(colour, source, _srgb(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
    if converted is None:
        converted = colour if colour.mode == "RGB" else colour.convert("RGB")
    if alpha is not None:
        lo, _hi = alpha.getextrema()
        if lo != 255:  # keep alpha only when something is transparent
            converted.putalpha(alpha)
    return converted


def encode_webp(im: Image.Image) -> bytes:
    """WebP at our quality and effort, with no EXIF, ICC or XMP."""
    out = BytesIO()
    im.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return out.getvalue()


def placeholder_colour(im: Image.Image) -> str:
    """The average colour as ``#rrggbb`` (alpha-weighted: transparent pixels do not count)."""
    pixel = im.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return "#{:02x}{:02x}{:02x}".format(*pixel[:3])


class _Background(Generic[T]):
    """Runs one call in its own thread; :meth:`result` joins it and returns or raises.

    libwebp and Pillow's resampling run without the GIL, so work in this thread
    overlaps with the calling thread's.
    """

    def __init__(self, function: Callable[[Image.Image], T], im: Image.Image) -> None:
        self._function, self._im = function, im
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="thumbnails", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._function(self._im)
        except BaseException as err:  # handed to the caller by result()
            self._error = err

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _overlap(im: Image.Image, more_to_come: bool) -> bool:
    """Whether encoding ``im`` in the background is worth a thread."""
    return more_to_come and _CORES > 1 and im.width * im.height >= OVERLAP_PIXELS


def _first_resize(
    im: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float] | None
) -> Image.Image:
    """Resize the decoded frame to the largest variant; big ones as two halves at once.

    Each half is resampled from its own band of the source (``box``) with the
    filter still reading the rows beyond it, so the seam matches a single resize
    to within rounding of the intermediate pass. A picture with alpha is
    premultiplied once here: Pillow would otherwise make a premultiplied copy of
    the whole source for each half, both at once.
    """
    width, height = size
    if _CORES < 2 or width * height < OVERLAP_PIXELS:
        return im.resize(size, RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
    premultiplied = _PREMULTIPLIED.get(im.mode)
    if premultiplied is not None:  # once for both halves, as Pillow would do for each
        return _first_resize(im.convert(premultiplied), size, box).convert(im.mode)
    left, top, right, bottom = box or (0.0, 0.0, float(im.width), float(im.height))
    half = height // 2
    middle = top + (bottom - top) * half / height

    def lower(source: Image.Image) -> Image.Image:
        return source.resize((width, height - half), RESAMPLE, box=(left, middle, right, bottom),
                             reducing_gap=REDUCING_GAP)

    below = _Background(lower, im)
    upper = im.resize((width, half), RESAMPLE, box=(left, top, right, middle),
                      reducing_gap=REDUCING_GAP)
    whole = Image.new(upper.mode, size)
    whole.paste(upper, (0, 0))
    whole.paste(below.result(), (0, half))
    return whole


def build_variants(
    decoded: Decoded, sizes: dict[str, int] = VARIANT_SIZES
) -> tuple[tuple[Variant, ...], str]:
    """Make every variant of ``sizes`` (largest first) and the placeholder colour.

    Returns:
        The variants in the order of ``sizes``, and ``#rrggbb`` of the smallest one.
    """
    names = sorted(sizes, key=sizes.__getitem__, reverse=True)
    upright_w, upright_h = decoded.upright_size
    largest = sizes[names[0]]

    im = normalise_mode(decoded.image, keep_cmyk=bool(decoded.icc_profile))
    target = fit(decoded.width, decoded.height, largest)
    if target != im.size or decoded.box is not None:
        im = _first_resize(im, target, decoded.box)
    im = to_srgb(im, decoded.icc_profile)
    if decoded.orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[decoded.orientation])

    plan = [(name, fit(upright_w, upright_h, sizes[name])) for name in names]
    distinct = len({size for _name, size in plan})
    encoded: dict[tuple[int, int], bytes | _Background] = {}
    for _name, size in plan:
        if size != im.size:
            im = im.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)
        if size in encoded:  # small images: several variants are the same picture
            continue
        if _overlap(im, more_to_come=len(encoded) < distinct - 1):
            encoded[size] = _Background(encode_webp, im)
        else:
            encoded[size] = encode_webp(im)
    done = {
        size: value.result() if isinstance(value, _Background) else value
        for size, value in encoded.items()
    }
    variants = [Variant(name, done[size], size[0], size[1]) for name, size in plan]
    order = {name: index for index, name in enumerate(sizes)}
    variants.sort(key=lambda variant: order[variant.name])
    return tuple(variants), placeholder_colour(im)
