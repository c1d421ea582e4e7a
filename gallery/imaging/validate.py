"""Treat every upload as hostile: identify it by content, bound its cost, decode it fully.

The order matters. Cheap checks run first (size in bytes, libmagic, the container
headers read by :mod:`gallery.imaging.containers` and :mod:`gallery.imaging.heif`),
so that the pixel and frame limits hold before a decoder allocates anything;
only then does Pillow identify, verify and decode the file. Every failure becomes
one of the gallery's errors with a message for the person who uploaded the file.

HEIC is decoded by libheif through ``pi-heif`` (its Pillow opener is registered
on first use), AVIF by libavif inside Pillow. Both keep only the primary
picture of a file (a burst, an image sequence); libheif applies the
container's rotation and mirroring itself, for AVIF they become the EXIF
orientation the thumbnail step applies.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

import magic
from PIL import Image

from gallery.errors import DamagedImage, GalleryError, TooLarge, UnsupportedType
from gallery.imaging import heif
from gallery.imaging.colour import profile_for
from gallery.imaging.containers import Header, Malformed, read_header
from gallery.imaging.model import ALLOWED_LABEL, CONTAINED, DEFAULT_LIMITS, Limits

SNIFF_BYTES = 16384
"""How much of the file libmagic looks at."""

MIME_TO_FORMAT: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/png": "PNG",
    "image/x-png": "PNG",
    "image/apng": "PNG",
    "image/vnd.mozilla.apng": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/x-webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
    "image/heic-sequence": "HEIF",
    "image/heif-sequence": "HEIF",
    "image/avif": "AVIF",
    "image/avif-sequence": "AVIF",
}
"""Content types libmagic reports (they vary between versions) -> Pillow format."""

PILLOW_ALIASES: dict[str, str] = {"MPO": "JPEG"}
"""Pillow formats that are one of ours: camera MPO files are JPEGs with extra images appended."""

LABELS: dict[str, str] = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP",
                          "HEIF": "HEIC", "AVIF": "AVIF"}

CODECS: dict[str, bytes] = {"HEIF": b"hvc1", "AVIF": b"av01"}
"""The picture coding each HEIF-container format is decoded with (the item type)."""

GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"miaf"})
"""Major brands that name the HEIF structure but not the coding of its pictures."""

CODEC_NAMES: dict[bytes, str] = {b"hvc1": "HEVC", b"av01": "AV1", b"jpeg": "JPEG",
                                 b"avc1": "H.264", b"vvc1": "H.266", b"unci": "uncompressed",
                                 b"j2k1": "JPEG 2000"}

HEIF_DECODE_BYTES = 6
"""Bytes per pixel libheif or libavif hold while decoding an 8-bit picture, besides
Pillow's copy: the YCbCr planes and the interleaved RGB(A) they are converted to.
With Pillow's copy and the first resize that makes 12 bytes per pixel; measured
with bench/thumbnails.py, a 12 MP HEIC or AVIF peaks at about 170 MB in all
(interpreter and libraries included), about 11 bytes per pixel. Deeper pictures
take :data:`HEIF_DEEP_BYTES` more (16-bit samples)."""
HEIF_DEEP_BYTES = 6

EXIF_ORIENTATION = 0x0112

MODE_BYTES: dict[str, int] = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2,
                              "I;16N": 2}
"""Bytes per pixel Pillow stores for a mode; every other mode takes 4 (RGB is padded to 4)."""

THUMBNAIL_COPIES: dict[str, int] = {"1": 1, "L": 0, "RGB": 0, "LA": 4, "RGBA": 4, "PA": 8}
"""Bytes per pixel of the full-size copies the thumbnail step makes, by decoded mode.

A picture with transparency is premultiplied once before resizing (a full RGBa
copy); palette and unusual modes are first converted to RGB or RGBA; 16-bit
greyscale is widened to 32 bits and scaled (two copies) before it becomes 8-bit.
Modes not listed take one 4-byte copy.
"""

ANIMATION_COPIES = 3
"""Full canvases held while an animation is decoded: the frame, the one before, the first."""

RESIZE_BYTES = 2
"""Bytes per source pixel the first resize holds in between (its reduced copy and passes)."""


@dataclass(slots=True)
class Decoded:
    """A validated upload, decoded once.

    ``image`` is the first frame, loaded. For JPEG it may have been decoded at a
    reduced DCT scale (see ``decode(draft_to=...)``); ``box`` is then the region of
    ``image`` that covers the whole picture, for ``Image.resize(box=...)``.
    ``width``/``height`` are the stored (not yet rotated) full size; for HEIC the
    size libheif decoded to, upright already. ``icc_profile`` converts the
    colours to sRGB: the embedded profile, or one made from a HEIF ``nclx``
    colour description.
    """

    format: str
    width: int
    height: int
    frames: int
    orientation: int
    image: Image.Image
    box: tuple[float, float, float, float] | None
    icc_profile: bytes | None

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height once EXIF orientation is applied."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def _megabytes(size: int, digits: int = 1) -> str:
    return f"{size / 1_000_000:.{digits}f}".removesuffix(".0")


def pixel_limit(limits: Limits) -> int:
    """Our pixel limit, never above Pillow's own, so that ours always speaks first."""
    pillow = Image.MAX_IMAGE_PIXELS
    return min(limits.max_pixels, pillow) if pillow else limits.max_pixels


def sniff(data: bytes) -> tuple[str, str]:
    """Identify ``data`` by content with libmagic; return (Pillow format, detected type).

    Raises:
        UnsupportedType: empty, or not one of the allowed image types.
    """
    if not data:
        raise UnsupportedType(f"That file is empty. Allowed: {ALLOWED_LABEL}.")
    detected = magic.from_buffer(data[:SNIFF_BYTES], mime=True) or "unknown"
    detected = detected.split(";", 1)[0].strip().lower()
    image_format = MIME_TO_FORMAT.get(detected)
    if image_format is None:
        raise UnsupportedType(
            f"That file is not an image we accept (detected: {detected}). Allowed: {ALLOWED_LABEL}."
        )
    return image_format, detected


def check_header(image_format: str, data: bytes, limits: Limits) -> Header:
    """Read the container headers and enforce the pixel and frame limits from them.

    Raises:
        DamagedImage: the headers cannot be read, or a JPEG has too many scans.
        TooLarge: too many pixels, frames, or pixels across all frames.
    """
    label = LABELS[image_format]
    try:
        header = read_header(image_format, data)
    except Malformed as err:
        raise DamagedImage(f"That {label} file is damaged: its header cannot be read.") from err
    check_pixels(*header.canvas, header.pixels, limits)
    if header.scans > limits.max_scans:
        raise DamagedImage(
            f"That JPEG has {header.scans} scans, the limit is {limits.max_scans} "
            "(a progressive photo has about ten); it would take too long to decode."
        )
    if header.frames > limits.max_frames:
        raise TooLarge(
            f"That animation has {header.frames} frames, the limit is {limits.max_frames}."
        )
    total = header.pixels * header.frames
    if total > limits.max_total_pixels:
        raise TooLarge(
            f"That animation is too large to process ({header.frames} frames of "
            f"{_megapixels(header.pixels)} megapixels), the limit is "
            f"{_megapixels(limits.max_total_pixels)} megapixels in total."
        )
    return header


@dataclass(frozen=True, slots=True)
class HeifFacts:
    """What the container of a HEIC or AVIF says before decoding: the header (the
    primary picture's size from ``ispe``; ``pixels`` what decoding it costs, tiles
    included), its bit depth, colour and orientation. ``format`` is the one its
    picture's coding names when its brand is a generic one (``mif1``, ``msf1``)."""

    format: str
    header: Header
    depth: int
    colour: heif.Colour | None
    orientation: int


def check_heif(image_format: str, data: bytes, limits: Limits) -> HeifFacts:
    """Read a HEIC or AVIF container and enforce the pixel and picture limits from it.

    Raises:
        UnsupportedType: not a HEIF image behind its file-type box (HTML, a script,
            ...), or a picture coded otherwise than the format needs (HEVC, AV1).
        DamagedImage: the structure is damaged or the file is cut short.
        TooLarge: too many pixels (the primary picture, or its tiles together),
            or more pictures than ``limits.max_frames``.
    """
    label = LABELS[image_format]
    try:
        parsed = heif.parse(data)
    except heif.NotHeif as err:
        raise UnsupportedType(
            f"That file has a {label} header but holds no {label} image. Allowed: {ALLOWED_LABEL}."
        ) from err
    except Malformed as err:
        reason = "it is incomplete" if "cut short" in str(err) else "its structure cannot be read"
        raise DamagedImage(f"That {label} file is damaged: {reason}.") from err
    primary = parsed.primary
    coded = parsed.coded_type(primary)
    if parsed.major_brand in GENERIC_BRANDS:  # says nothing of the coding: the items do
        image_format = next((f for f, c in CODECS.items() if c == coded), image_format)
        label = LABELS[image_format]
    if coded != CODECS[image_format]:
        name = CODEC_NAMES.get(coded, "an unknown coding")
        raise UnsupportedType(
            f"That {label} file's picture is coded as {name}, which we do not decode. "
            f"Allowed: {ALLOWED_LABEL}."
        )
    try:
        size = parsed.size_of(data, primary)
        grid = parsed.grid_size(data, primary)
    except Malformed as err:
        raise DamagedImage(f"That {label} file is damaged: its header cannot be read.") from err
    if size is None:
        raise DamagedImage(f"That {label} file is damaged: it does not declare its size.")
    width, height = size
    if not width or not height:
        raise DamagedImage(f"That {label} file is damaged: it has no size.")
    pixels = width * height
    if grid is not None:
        pixels = max(pixels, grid[0] * grid[1])
    tiles = [parsed.size_of(data, tile) for tile in parsed.tiles(primary)]
    pixels = max(pixels, sum(w * h for w, h in (t for t in tiles if t is not None)))
    check_pixels(width, height, pixels, limits)
    pictures = max(len(parsed.pictures()), parsed.track_samples)
    if pictures > limits.max_frames:
        raise TooLarge(
            f"That file holds {pictures} pictures, the limit is {limits.max_frames}."
        )
    source = next(iter(parsed.tiles(primary)), primary)
    depth = max(parsed.bit_depth(data, primary), parsed.bit_depth(data, source))
    colour = parsed.colour_of(data, primary) or parsed.colour_of(data, source)
    header = Header(width, height, 1, *_covering(width, height, pixels))
    return HeifFacts(image_format, header, depth, colour, parsed.orientation(data, primary))


def _covering(width: int, height: int, pixels: int) -> tuple[int, int]:
    """A canvas of ``pixels`` pixels (at least width x height) for :class:`Header`."""
    if pixels <= width * height:
        return width, height
    return width, math.ceil(pixels / width)


_registered = threading.Lock()
_openers: set[str] = set()


def ensure_decoder(image_format: str) -> None:
    """Make Pillow able to open ``image_format``: registers pi-heif's HEIF opener on
    first use (only libheif's HEVC decoder; no thumbnails, depth or auxiliary
    images are read).

    Raises:
        UnsupportedType: the decoder for it is not installed.
    """
    if image_format in _openers or image_format not in CONTAINED:
        return
    with _registered:
        if image_format in _openers:
            return
        if image_format == "HEIF":
            try:
                import pi_heif
            except ImportError as err:  # pragma: no cover - a dependency
                raise UnsupportedType(
                    "HEIC support is not installed on this server (pip install pi-heif)."
                ) from err
            pi_heif.register_heif_opener(thumbnails=False, depth_images=False,
                                         aux_images=False)
        else:
            from PIL import features

            if not features.check("avif"):  # pragma: no cover - Pillow's wheels have it
                raise UnsupportedType(
                    "AVIF support is not installed on this server (Pillow 11.3 or later)."
                )
        _openers.add(image_format)


def _jpeg_scale(width: int, height: int, draft_to: int | None) -> int:
    """The DCT scale (1, 2, 4 or 8) Pillow's ``draft`` picks for a JPEG, as :func:`_load_all` asks."""
    if draft_to is None or max(width, height) <= draft_to:
        return 1
    want_w, want_h = draft_size(width, height, draft_to)
    scale = min(width // want_w, height // want_h)
    return next(s for s in (8, 4, 2, 1) if scale >= s)


def memory_needed(im: Image.Image, image_format: str, header: Header,
                  draft_to: int | None, depth: int = 8) -> int:
    """Bytes that decoding ``im`` (opened, not loaded) and making its thumbnails hold at once.

    Counted from what is known before decoding: the size, the mode Pillow decodes
    to (16-bit colour PNGs become 8-bit RGB or RGBA, 16-bit greyscale stays 16-bit),
    the full-size copies the thumbnail step makes of that mode, every canvas an
    animation keeps, and for a progressive (or multi-scan) JPEG the coefficients
    the decoder holds for the whole picture whatever the scale it decodes at. A
    HEIC or AVIF costs its decoder's planes too (:data:`HEIF_DECODE_BYTES`), for
    every pixel of its tiles (``depth``: bits per sample).
    """
    mode = im.mode
    per_pixel = MODE_BYTES.get(mode, 4)
    copies = THUMBNAIL_COPIES.get(mode, 4)
    if image_format in CONTAINED:
        decoding = HEIF_DECODE_BYTES + (HEIF_DEEP_BYTES if depth > 8 else 0)
        return header.pixels * (decoding + per_pixel + copies + RESIZE_BYTES)
    if mode.startswith("I;16") or mode == "I":
        copies = 9
    elif mode == "P":
        copies = 8 if im.info.get("transparency") is not None else 4
    elif mode in ("L", "RGB") and im.info.get("transparency") is not None:
        copies = 8
    elif mode == "CMYK" and im.info.get("icc_profile"):
        copies = 0  # kept as CMYK; the profile converts it after the first resize
    width, height = im.size
    if image_format == "JPEG":
        scale = _jpeg_scale(width, height, draft_to)
        decoded = math.ceil(width / scale) * math.ceil(height / scale)
        coefficients = int(width * height * header.coefficient_samples * 2)
        return decoded * (per_pixel + copies + RESIZE_BYTES) + coefficients
    if header.frames > 1 or getattr(im, "is_animated", False):
        return header.pixels * 4 * (ANIMATION_COPIES + 1)
    if image_format == "WEBP":
        per_pixel += 4  # libwebp decodes into its own buffer, then Pillow copies it
    return width * height * (per_pixel + copies + RESIZE_BYTES)


def check_memory(needed: int, width: int, height: int, limits: Limits) -> None:
    """Raise TooLarge when decoding would need more than ``limits.max_memory`` bytes.

    Raises:
        TooLarge: over the memory limit.
    """
    if needed > limits.max_memory:
        raise TooLarge(
            f"That image ({width}x{height}) would need about {_megabytes(needed, 0)} MB of "
            f"memory to process, the limit is {_megabytes(limits.max_memory, 0)} MB. "
            "Save it smaller, or without transparency or 16-bit depth."
        )


def check_pixels(width: int, height: int, pixels: int, limits: Limits) -> None:
    """Raise TooLarge when an image of ``pixels`` pixels is over the limit.

    Raises:
        TooLarge: over :func:`pixel_limit`.
    """
    limit = pixel_limit(limits)
    if pixels > limit:
        raise TooLarge(
            f"That image is {width}x{height} ({_megapixels(pixels)} megapixels), "
            f"the limit is {_megapixels(limit)} megapixels."
        )


@contextmanager
def pillow_errors(label: str) -> Iterator[None]:
    """Turn anything Pillow raises while reading an upload into a gallery error.

    Raises:
        TooLarge: Pillow's decompression-bomb guard fired, or memory ran out.
        DamagedImage: any other failure (truncated data, corrupt chunks, ...).
    """
    try:
        yield
    except GalleryError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError) as err:
        raise TooLarge(f"That {label} image is too large to process.") from err
    except Exception as err:
        reason = "it is incomplete" if "truncated" in str(err) else "it cannot be decoded"
        raise DamagedImage(f"That {label} image is damaged: {reason}.") from err


def _open(data: bytes, image_format: str) -> Image.Image:
    """Open with Pillow restricted to the one format libmagic reported."""
    return Image.open(BytesIO(data), formats=[image_format])


def draft_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The smallest size, same shape as (width, height), whose longest side is ``longest``."""
    scale = longest / max(width, height)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS, draft_to: int | None = None) -> Decoded:
    """Validate ``data`` as an allowed image and decode every frame of it.

    Steps: byte limit; type by content (libmagic) that Pillow must confirm; pixel,
    frame and JPEG scan limits from the headers; the memory the decoded mode needs
    (:func:`memory_needed`); ``verify()``; then a fresh open that loads every
    frame. With ``draft_to``, a JPEG is decoded at the smallest DCT scale whose
    longest side is still at least ``draft_to``: libjpeg reads and checks the whole
    entropy-coded stream at any scale, so damage is found just the same, and the
    thumbnails need no second decode. A HEIC or AVIF is decoded as its primary
    picture only.

    Raises:
        TooLarge: over ``limits`` (bytes, pixels, frames, memory) or Pillow's bomb guard.
        UnsupportedType: not JPEG, PNG, GIF, WebP, HEIC or AVIF by content, or
            libmagic and Pillow disagree about what it is.
        DamagedImage: the image cannot be decoded completely, or is a JPEG with
            more scans than ``limits.max_scans``.
    """
    if len(data) > limits.max_bytes:
        raise TooLarge(
            f"That file is {_megabytes(len(data))} MB, the limit is {_megabytes(limits.max_bytes)} MB."
        )
    image_format, detected = sniff(data)
    label = LABELS[image_format]
    facts = None
    if image_format in CONTAINED:
        facts = check_heif(image_format, data, limits)
        image_format, label, header = facts.format, LABELS[facts.format], facts.header
        ensure_decoder(image_format)
    else:
        header = check_header(image_format, data, limits)

    with pillow_errors(label):
        try:
            im = _open(data, image_format)
        except Image.UnidentifiedImageError as err:
            if facts is not None:  # its container is sound: the decoder found it damaged
                raise DamagedImage(f"That {label} image is damaged: it cannot be decoded.") from err
            raise UnsupportedType(
                f"That file looks like {detected} but is not a {label} image we can read. "
                f"Allowed: {ALLOWED_LABEL}."
            ) from err
        try:
            opened = PILLOW_ALIASES.get(im.format or "", im.format)
            if opened != image_format:
                raise UnsupportedType(
                    f"That file is not an image we accept (detected: {detected}). "
                    f"Allowed: {ALLOWED_LABEL}."
                )
            check_pixels(im.width, im.height, im.width * im.height, limits)
            check_memory(memory_needed(im, image_format, header, draft_to,
                                       facts.depth if facts else 8), im.width, im.height, limits)
            if facts is not None:  # verify() checks nothing for these: decoding is the check
                return _load_primary(im, image_format, facts)
            im.verify()
        except BaseException:
            im.close()
            raise
        im.close()
        return _load_all(data, image_format, header, limits, draft_to)


def _load_primary(im: Image.Image, image_format: str, facts: HeifFacts) -> Decoded:
    """Decode the primary picture of a HEIC or AVIF (the first of a sequence).

    libheif hands it over upright (it applies ``irot`` and ``imir``), and pi-heif
    sets the EXIF orientation it reports to 1; libavif does not, so for AVIF the
    container's orientation is applied to the thumbnails.
    """
    im.load()
    orientation = facts.orientation if image_format == "AVIF" else 1
    icc = im.info.get("icc_profile") or profile_for(facts.colour)
    width, height = im.size
    return Decoded(image_format, width, height, 1, orientation, im, None, icc)


def _load_all(
    data: bytes, image_format: str, header: Header, limits: Limits, draft_to: int | None
) -> Decoded:
    """Reopen after ``verify()`` (which leaves the image unusable) and load every frame.

    The first frame is kept, loaded; the others are decoded only to prove they can be.
    """
    im = _open(data, image_format)
    width, height = im.size
    box = None
    if draft_to is not None and image_format == "JPEG" and max(width, height) > draft_to:
        drafted = im.draft(None, draft_size(width, height, draft_to))
        if drafted is not None and im.size != (width, height):
            box = drafted[1]
    im.load()
    orientation = _orientation(im)
    icc = im.info.get("icc_profile") or None
    first = im
    frames = 1
    if image_format != "JPEG" and (header.frames > 1 or getattr(im, "is_animated", False)):
        first = im.copy()
        while True:
            try:
                im.seek(frames)
            except EOFError:
                break
            frames += 1
            if frames > limits.max_frames:
                raise TooLarge(
                    f"That animation has more than {limits.max_frames} frames, "
                    f"the limit is {limits.max_frames}."
                )
            check_pixels(im.width, im.height, im.width * im.height, limits)
            im.load()
        im.close()
    return Decoded(image_format, width, height, frames, orientation, first, box, icc)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when absent or unreadable.

    An unreadable EXIF block does not make the picture undisplayable, so it is not
    a reason to refuse the upload.
    """
    try:
        value = im.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
