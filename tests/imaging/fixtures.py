"""Normal and hostile image files, made in code, small and quick to build.

Every public function returns the bytes of one file, the same bytes on every
call. Other test modules import them: ``from tests.imaging.fixtures import jpeg``.
"""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from functools import cache
from io import BytesIO

from PIL import Image, ImageChops, ImageCms, ImageDraw
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

RED = (220, 20, 30)
BLUE = (20, 40, 200)

# Inverse of the transposition ImageOps.exif_transpose applies for each EXIF
# orientation: storing upright.transpose(STORE[o]) with orientation o displays upright.
STORE: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

GPS_LATITUDE = (IFDRational(52, 1), IFDRational(31, 1), IFDRational(1234, 100))
"""The coordinates planted in the GPS fixtures (Berlin), as EXIF rationals."""


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def noise(size: tuple[int, int], amplitude: int, seed: int) -> Image.Image:
    """Deterministic greyscale noise around mid grey, +/- ``amplitude``."""
    width, height = size
    raw = Image.frombytes("L", size, random.Random(seed).randbytes(width * height))
    return raw.point(lambda value: 128 + (value - 128) * amplitude // 128)


def photo(width: int, height: int) -> Image.Image:
    """A photo-like RGB picture: smooth colour fields, gradients and sensor-like grain.

    Not trivially compressible, like a real photograph; the same pixels for the same size.
    """
    channels = []
    for index, amplitude in enumerate((110, 95, 80)):
        seed = (width * 7919 + height) * 3 + index
        low = noise((max(2, width // 160), max(2, height // 160)), amplitude, seed)
        low = low.resize((width, height), Image.Resampling.BICUBIC)
        mid = noise((max(2, width // 24), max(2, height // 24)), 40, seed + 1)
        mid = mid.resize((width, height), Image.Resampling.BICUBIC)
        grain = noise((width, height), 14, seed + 2)
        gradient = Image.linear_gradient("L")
        if index == 1:
            gradient = gradient.transpose(Image.Transpose.ROTATE_90)
        channel = ImageChops.blend(low, gradient.resize((width, height)), 0.4)
        channel = ImageChops.add(channel, mid, 1, -128)
        channels.append(ImageChops.add(channel, grain, 1, -128))
    return Image.merge("RGB", channels)


# --- normal images -------------------------------------------------------------


@cache
def jpeg(width: int = 800, height: int = 600, quality: int = 90) -> bytes:
    """A photo-like baseline JPEG."""
    return _save(photo(width, height), "JPEG", quality=quality)


@cache
def jpeg_checker(width: int = 3200, height: int = 1600, cell: int = 16) -> bytes:
    """A JPEG with sharp edges everywhere: a checkerboard in red and blue over photo detail.

    Any loss of resolution in the thumbnails shows on it.
    """
    cols, rows = width // cell, height // cell
    cells = Image.frombytes("L", (cols, rows), bytes(((x + y) % 2) * 255 for y in range(rows) for x in range(cols)))
    checker = cells.resize((width, height), Image.Resampling.NEAREST)
    im = Image.merge("RGB", (checker, photo(width, height).getchannel(1), ImageChops.invert(checker)))
    return _save(im, "JPEG", quality=90)


@cache
def jpeg_progressive(width: int = 3300, height: int = 1700) -> bytes:
    """A progressive JPEG, large enough to be decoded at a reduced scale."""
    return _save(photo(width, height), "JPEG", quality=85, progressive=True)


@cache
def jpeg_grey() -> bytes:
    """A greyscale (L) JPEG, mid grey."""
    return _save(Image.new("L", (100, 50), 90), "JPEG", quality=95)


@cache
def jpeg_cmyk_with_rgb_profile() -> bytes:
    """A red CMYK JPEG carrying an RGB ICC profile that cannot apply to it."""
    return _save(Image.new("CMYK", (100, 50), (0, 230, 230, 0)), "JPEG", quality=95, icc_profile=icc_srgb())


@cache
def png_bilevel() -> bytes:
    """A 1-bit PNG: white with a black left half."""
    im = Image.new("1", (100, 50), 1)
    ImageDraw.Draw(im).rectangle((0, 0, 49, 49), fill=0)
    return _save(im, "PNG")


def upright_marked(width: int = 600, height: int = 400) -> Image.Image:
    """Blue picture with a red block in its top-left corner: shows how it is turned."""
    im = Image.new("RGB", (width, height), BLUE)
    ImageDraw.Draw(im).rectangle((0, 0, width // 4, height // 4), fill=RED)
    return im


@cache
def jpeg_oriented(orientation: int) -> bytes:
    """A JPEG whose pixels are stored turned, with the EXIF orientation that turns them back.

    Displayed correctly, it is :func:`upright_marked`: 600x400, red block top-left.
    """
    im = upright_marked()
    if STORE[orientation] is not None:
        im = im.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(im, "JPEG", quality=92, exif=exif)


def _gps_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Acme Optics"  # Make
    exif[0x0110] = "Model Nine"  # Model
    exif[0x0112] = orientation
    exif[0x0131] = "gallery fixtures"  # Software
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[0] = b"\x02\x02\x00\x00"  # GPSVersionID
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (IFDRational(13, 1), IFDRational(24, 1), IFDRational(5678, 100))
    gps[6] = IFDRational(34, 1)  # altitude
    return exif


XMP_WITH_GPS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'exif:GPSLatitude="52,31.2057N" exif:GPSLongitude="13,24.9463E">'
    "<exif:GPSAltitude>34/1</exif:GPSAltitude>"
    "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">Kept title</rdf:li></rdf:Alt></dc:title>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@cache
def icc_srgb() -> bytes:
    """An sRGB ICC profile made by LittleCMS, once: it carries its creation time."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@cache
def jpeg_with_gps() -> bytes:
    """A 640x480 photo, stored turned (orientation 6), with GPS, camera EXIF, ICC and XMP location."""
    im = photo(480, 640)  # stored rotated; upright it is 640x480
    return _save(im, "JPEG", quality=90, exif=_gps_exif(6), icc_profile=icc_srgb(), xmp=XMP_WITH_GPS.encode())


@cache
def png_with_gps() -> bytes:
    """An RGB PNG with an eXIf chunk holding GPS and camera data."""
    return _save(photo(320, 240), "PNG", exif=_gps_exif(1))


@cache
def png_with_raw_profile_gps() -> bytes:
    """A PNG carrying its EXIF (with GPS) only as ImageMagick's hex text chunk."""
    exif = _gps_exif(1).tobytes()
    hexed = exif.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    info = PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(exif):8d}\n{lines}\n", zip=True)
    info.add_text("Title", "Kept title")
    return _save(photo(64, 48), "PNG", pnginfo=info)


@cache
def png_with_xmp_gps() -> bytes:
    """A PNG whose only location data is in its XMP packet."""
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_WITH_GPS)
    return _save(photo(64, 48), "PNG", pnginfo=info)


@cache
def webp_with_gps() -> bytes:
    """A lossy WebP with an EXIF chunk holding GPS data, and XMP with GPS."""
    return _save(photo(320, 240), "WEBP", quality=85, exif=_gps_exif(1), xmp=XMP_WITH_GPS.encode())


@cache
def jpeg_cmyk() -> bytes:
    """A CMYK JPEG (Adobe, inverted as Photoshop writes it) of a red field with a black corner."""
    im = Image.new("CMYK", (200, 100), (0, 230, 230, 0))
    ImageDraw.Draw(im).rectangle((0, 0, 49, 24), fill=(0, 0, 0, 255))
    return _save(im, "JPEG", quality=95)


@cache
def jpeg_swapped_primaries() -> bytes:
    """A pure red JPEG whose ICC profile swaps the red and blue primaries: it is blue in sRGB."""
    profile = bytearray(icc_srgb())
    (count,) = struct.unpack_from(">I", profile, 128)
    tags = {}
    for index in range(count):
        at = 132 + 12 * index
        tags[bytes(profile[at : at + 4])] = at
    red, blue = tags[b"rXYZ"], tags[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return _save(Image.new("RGB", (64, 64), (255, 0, 0)), "JPEG", quality=95, icc_profile=bytes(profile))


@cache
def png_rgba() -> bytes:
    """RGBA: left half opaque green, right half fully transparent (with red hidden in it)."""
    im = Image.new("RGBA", (200, 100), (255, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((0, 0, 99, 99), fill=(0, 160, 0, 255))
    return _save(im, "PNG")


@cache
def png_palette_trns() -> bytes:
    """A palette PNG with a tRNS chunk: index 0 transparent, index 1 opaque blue."""
    im = Image.new("P", (120, 80), 0)
    im.putpalette([255, 0, 0, *BLUE] + [0, 0, 0] * 254)
    ImageDraw.Draw(im).rectangle((60, 0, 119, 79), fill=1)
    return _save(im, "PNG", transparency=0)


@cache
def png_16bit() -> bytes:
    """A 16-bit greyscale (I;16) PNG: a horizontal ramp from 0 to 65535."""
    ramp = Image.linear_gradient("L").rotate(90).resize((256, 64))
    wide = ramp.convert("I").point(lambda value: value * 257)
    return _save(wide.convert("I;16"), "PNG")


@cache
def png_la() -> bytes:
    """A greyscale PNG with alpha (LA): mid grey, left half transparent."""
    im = Image.new("LA", (100, 50), (128, 255))
    ImageDraw.Draw(im).rectangle((0, 0, 49, 49), fill=(0, 0))
    return _save(im, "PNG")


def _frames(count: int, size: tuple[int, int] = (64, 48)) -> list[Image.Image]:
    colours = [RED, BLUE, (0, 160, 0), (240, 200, 0)]
    frames = []
    for index in range(count):
        im = Image.new("RGB", size, colours[index % len(colours)])
        ImageDraw.Draw(im).rectangle((index * 4, 0, index * 4 + 8, 8), fill=(255, 255, 255))
        frames.append(im)
    return frames


@cache
def gif_animated(frames: int = 4) -> bytes:
    """An animated GIF; its first frame is red."""
    first, *rest = _frames(frames)
    return _save(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)


@cache
def webp_animated(frames: int = 3) -> bytes:
    """An animated WebP; its first frame is red."""
    first, *rest = _frames(frames)
    return _save(first, "WEBP", save_all=True, append_images=rest, duration=100, quality=80)


@cache
def webp_still() -> bytes:
    """A lossy still WebP photo."""
    return _save(photo(320, 240), "WEBP", quality=85)


@cache
def png() -> bytes:
    """A plain RGB PNG photo."""
    return _save(photo(320, 240), "PNG")


@cache
def png_apng(frames: int = 3) -> bytes:
    """An animated PNG."""
    first, *rest = _frames(frames)
    return _save(first, "PNG", save_all=True, append_images=rest, duration=100)


@cache
def mpo_with_gps() -> bytes:
    """A two-image MPO (camera stereo/depth JPEG) whose second image carries GPS."""
    first, second = photo(160, 120), photo(160, 120).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    data = _save(first, "MPO", save_all=True, append_images=[second], quality=85)
    second_start = data.index(b"\xff\xd8", data.index(b"\xff\xd9") + 2)
    exif = _gps_exif(1).tobytes()
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    at = second_start + 2
    return data[:at] + app1 + data[at:]


# --- hand-made GIFs ------------------------------------------------------------

_ONE_PIXEL_LZW = b"\x02\x02\x44\x01\x00"  # min code size 2; clear, index 0, end


def gif_raw(screen: tuple[int, int], frames: list[tuple[int, int, int, int]]) -> bytes:
    """A GIF built by hand: a logical screen and frames (left, top, width, height).

    Each frame carries the LZW data of a single pixel: enough to be read, and the
    frame sizes are whatever the caller claims.
    """
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", *screen, 0x80, 0, 0)  # global colour table of 2
    out += b"\x00\x00\x00\xff\xff\xff"
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for left, top, width, height in frames:
        out += b"\x21\xf9\x04\x00\x05\x00\x00\x00"  # graphic control: 50 ms
        out += b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0)
        out += _ONE_PIXEL_LZW
    out += b"\x3b"
    return bytes(out)


@cache
def gif_many_frames(count: int = 2000) -> bytes:
    """A 1x1 GIF animation with ``count`` frames."""
    return gif_raw((1, 1), [(0, 0, 1, 1)] * count)


@cache
def gif_huge_screen() -> bytes:
    """A tiny GIF whose logical screen claims 60000x60000 pixels."""
    return gif_raw((60000, 60000), [(0, 0, 1, 1)])


@cache
def gif_frame_outside_screen() -> bytes:
    """A 10x10 GIF whose second frame reaches out to 20000x20000."""
    return gif_raw((10, 10), [(0, 0, 1, 1), (19999, 19999, 1, 1)])


# --- hostile and broken files --------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@cache
def png_pixel_flood(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


@cache
def jpeg_truncated() -> bytes:
    """A JPEG cut off two thirds of the way into its image data."""
    data = jpeg(400, 300)
    return data[: len(data) * 2 // 3]


@cache
def png_truncated() -> bytes:
    """A PNG cut off halfway."""
    data = png()
    return data[: len(data) // 2]


@cache
def png_bad_idat_crc() -> bytes:
    """A PNG whose image data fails its checksum: Pillow's verify() raises SyntaxError."""
    data = bytearray(png())
    at = data.index(b"IDAT") + 4 + 100
    data[at] ^= 0xFF
    return bytes(data)


@cache
def png_value_error() -> bytes:
    """A PNG that makes Pillow raise ValueError, not OSError (found by :func:`png_fuzzed`).

    Its IHDR says greyscale while its one-byte tRNS chunk only fits a palette.
    """
    return png_fuzzed("IHDR", 9, 0)


def png_fuzzed(chunk: str, offset: int, value: int) -> bytes:
    """The palette PNG with one byte of ``chunk`` changed and the chunk's CRC fixed."""
    data = bytearray(png_palette_trns())
    at = data.index(chunk.encode("ascii")) - 4
    length = struct.unpack_from(">I", data, at)[0]
    data[at + 8 + offset] = value
    crc = zlib.crc32(bytes(data[at + 4 : at + 8 + length]))
    struct.pack_into(">I", data, at + 8 + length, crc)
    return bytes(data)


SCRIPT = b"<script>alert(document.cookie)</script>"


@cache
def jpeg_html_comment() -> bytes:
    """A valid JPEG with an HTML page in its COM segment."""
    return _save(photo(200, 150), "JPEG", quality=85, comment=b"<html><body>" + SCRIPT + b"</body></html>")


@cache
def png_html_text() -> bytes:
    """A valid PNG with an HTML page in a tEXt chunk."""
    info = PngInfo()
    info.add_text("Comment", "<html><body>" + SCRIPT.decode() + "</body></html>")
    return _save(photo(200, 150), "PNG", pnginfo=info)


@cache
def zip_archive() -> bytes:
    """A ZIP archive holding an HTML page with a script."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", b"<html>" + SCRIPT + b"</html>")
    return out.getvalue()


@cache
def jpeg_zip_appended() -> bytes:
    """A valid JPEG with a ZIP archive appended after its EOI."""
    return jpeg(200, 150) + zip_archive()


def svg_with_script() -> bytes:
    """An SVG image that runs a script."""
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<rect width="10" height="10" fill="red"/>' + SCRIPT + b"</svg>\n"
    )


def html() -> bytes:
    """An HTML page (as if renamed to .jpg)."""
    return b"<!DOCTYPE html>\n<html><head><title>x</title></head><body>" + SCRIPT + b"</body></html>\n"


def eps() -> bytes:
    """An Encapsulated PostScript file."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
        b"newpath 0 0 moveto 10 0 lineto 10 10 lineto closepath fill\nshowpage\n%%EOF\n"
    )


@cache
def pdf() -> bytes:
    """A one-page PDF with an image on it."""
    return _save(photo(64, 48), "PDF")


@cache
def bmp() -> bytes:
    """A BMP that Pillow decodes fine, but which we do not accept."""
    return _save(photo(64, 48), "BMP")


@cache
def tiff() -> bytes:
    """A TIFF that Pillow decodes fine, but which we do not accept."""
    return _save(photo(64, 48), "TIFF")


def empty() -> bytes:
    """No bytes at all."""
    return b""


@cache
def random_bytes(size: int = 4096) -> bytes:
    """Deterministic noise."""
    return random.Random(1234).randbytes(size)


def decode(data: bytes) -> Image.Image:
    """Decode image bytes (e.g. a variant) for assertions; ``format`` and ``info`` are kept."""
    im = Image.open(BytesIO(data))
    im.load()
    return im
