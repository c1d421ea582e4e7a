"""Decoding-cost bombs: small files that are expensive to decode, made in code.

Each builder returns the bytes of one file (cached: some take a second to make).
They are small on disk and cheap to send, and each aims at one way a decoder can
be made to spend far more time or memory than the file's size suggests.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from io import BytesIO

from PIL import Image


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF
    )


def _png(width: int, height: int, bit_depth: int, colour_type: int, row_bytes: int,
         extra: bytes = b"", after: bytes = b"") -> bytes:
    """A PNG of blank rows (filter 0, zero samples), deflated in a stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + row_bytes)
    rows_per_chunk = max(1, (4 << 20) // len(row))
    block = row * rows_per_chunk
    parts = []
    left = height
    while left > 0:
        take = min(left, rows_per_chunk)
        parts.append(packer.compress(block if take == rows_per_chunk else row * take))
        left -= take
    parts.append(packer.flush())
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra
            + _chunk(b"IDAT", b"".join(parts)) + after + _chunk(b"IEND", b""))


# --- JPEG ----------------------------------------------------------------------------------


def _split_scans(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(everything before the first SOS, each scan with its entropy data, EOI)."""
    first = data.index(b"\xff\xda")
    scans: list[bytes] = []
    pos = first
    while data[pos:pos + 2] == b"\xff\xda":
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        end = pos + 2 + length
        while True:  # entropy data runs to the next marker that is not stuffing or RST
            end = data.index(b"\xff", end)
            if data[end + 1] in (0x00, *range(0xD0, 0xD8)):
                end += 2
                continue
            break
        # tables (DHT) between scans belong to the scan that follows
        scans.append(data[pos:end])
        pos = end
        while data[pos:pos + 2] not in (b"\xff\xda", b"\xff\xd9"):
            length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
            scans[-1] += data[pos:pos + 2 + length]
            pos += 2 + length
    return data[:first], scans, data[pos:]


@cache
def jpeg_many_scans(scans: int = 3000, side: int = 4000) -> bytes:
    """A progressive JPEG whose last (tiny, flat) scan is repeated ``scans`` times.

    Every scan makes the decoder walk every block of the picture again, so the
    decoding time grows with the number of scans while the file stays small.
    """
    flat = Image.new("L", (side, side), 128)
    base = _save(flat, "JPEG", progressive=True, quality=50)
    head, found, tail = _split_scans(base)
    return head + b"".join(found) + found[-1] * max(0, scans - len(found)) + tail


# --- PNG -----------------------------------------------------------------------------------


@cache
def png_16bit_rgba(width: int = 7000, height: int = 7000) -> bytes:
    """49 megapixels of 16-bit RGBA (8 bytes a pixel) in a few hundred kilobytes."""
    return _png(width, height, 16, 6, width * 8)


@cache
def png_8bit_rgba(width: int = 7000, height: int = 7000) -> bytes:
    """49 megapixels of 8-bit RGBA (4 bytes a pixel) in a few hundred kilobytes."""
    return _png(width, height, 8, 6, width * 4)


@cache
def png_huge_iccp(inflated: int = 200_000_000) -> bytes:
    """A small PNG whose colour profile (iCCP) inflates to ``inflated`` bytes."""
    packer = zlib.compressobj(9)
    profile = packer.compress(b"\x00" * inflated) + packer.flush()
    return _png(64, 64, 8, 2, 64 * 3, extra=_chunk(b"iCCP", b"icc\x00\x00" + profile))


@cache
def png_text_flood(chunks: int = 2000, inflated: int = 1_000_000) -> bytes:
    """Many zTXt chunks, each inflating to ``inflated`` bytes: a lot of work for little."""
    packer = zlib.compressobj(9)
    body = packer.compress(b"A" * inflated) + packer.flush()
    text = _chunk(b"zTXt", b"Comment\x00\x00" + body)
    return _png(64, 64, 8, 2, 64 * 3, extra=text * chunks)


@cache
def png_text_after_image(chunks: int = 2000, inflated: int = 1_000_000) -> bytes:
    """Like :func:`png_text_flood`, with the chunks after the image data."""
    packer = zlib.compressobj(9)
    body = packer.compress(b"A" * inflated) + packer.flush()
    text = _chunk(b"zTXt", b"Comment\x00\x00" + body)
    return _png(64, 64, 8, 2, 64 * 3, after=text * chunks)


def _exif_loop(entries: int = 2000) -> bytes:
    """A TIFF-structured EXIF block: many entries, IFDs that point at each other."""
    count = entries
    ifd0 = 8
    size = 2 + count * 12 + 4
    ifd1 = ifd0 + size
    out = bytearray(b"MM\x00\x2a" + struct.pack(">I", ifd0))
    for _offset, next_ifd in ((ifd0, ifd1), (ifd1, ifd0)):  # 0 -> 1 -> 0 -> ...
        out += struct.pack(">H", count)
        for index in range(count):
            # ExifIFD / GPSIFD pointers back at the start, and long undefined values
            tag = (0x8769, 0x8825)[index % 2] if index < 4 else 0x9000 + index
            out += struct.pack(">HHII", tag, 4 if index < 4 else 7, 1 if index < 4 else 1 << 20,
                               ifd0)
        out += struct.pack(">I", next_ifd)
    return bytes(out)


@cache
def png_exif_bomb() -> bytes:
    """A PNG with an eXIf chunk whose IFDs loop and whose values claim huge sizes."""
    return _png(64, 64, 8, 2, 64 * 3, extra=_chunk(b"eXIf", _exif_loop()))


@cache
def jpeg_exif_bomb() -> bytes:
    """A JPEG whose APP1 EXIF has looping IFDs and values that claim huge sizes."""
    base = _save(Image.new("RGB", (64, 64), (90, 120, 150)), "JPEG")
    exif = b"Exif\x00\x00" + _exif_loop(2600)[:65000]
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return base[:2] + app1 + base[2:]


@cache
def webp_huge_icc(profile_bytes: int = 20_000_000) -> bytes:
    """A still WebP carrying a colour profile of ``profile_bytes`` (garbage) bytes."""
    plain = _save(Image.new("RGB", (64, 64), (10, 200, 30)), "WEBP", lossless=True)
    bitstream = plain[12:]  # the VP8L chunk
    icc = b"\x00" * profile_bytes
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x20, 0, 0, 0]) + (63).to_bytes(3, "little") \
        + (63).to_bytes(3, "little")
    iccp = b"ICCP" + struct.pack("<I", len(icc)) + icc
    body = b"WEBP" + vp8x + iccp + bitstream
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- animations ----------------------------------------------------------------------------


@cache
def gif_frames_bomb(frames: int = 490, width: int = 2000, height: int = 1000) -> bytes:
    """``frames`` one-pixel frames on a ``width`` x ``height`` screen: each costs a whole screen."""
    out = bytearray(b"GIF89a" + struct.pack("<HH", width, height) + bytes([0xF0, 0, 0]))
    out += bytes([0, 0, 0, 255, 255, 255])  # a two-colour global table
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    # one pixel, LZW with a 2-bit minimum code size: clear, 0, end (3-bit codes)
    frame = (b"\x21\xf9\x04\x04\x00\x00\x00\x00"
             + b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00"
             + b"\x02\x02\x44\x01\x00")
    out += frame * frames + b"\x3b"
    return bytes(out)


@cache
def webp_frames_bomb(frames: int = 240, side: int = 2000) -> bytes:
    """An animated WebP: ``frames`` alternating flat frames of ``side`` x ``side``."""
    images = [Image.new("RGB", (side, side), (index % 2 * 255, 0, 0)) for index in range(2)]
    one = _save(images[0], "WEBP", save_all=True, append_images=[images[1]], lossless=True,
                duration=40, loop=0, method=0)
    # repeat the two ANMF chunks to reach the frame count
    riff = one[12:]
    chunks = []
    pos = 0
    while pos + 8 <= len(riff):
        kind = riff[pos:pos + 4]
        length = struct.unpack("<I", riff[pos + 4:pos + 8])[0]
        end = pos + 8 + length + (length & 1)
        chunks.append((kind, riff[pos:end]))
        pos = end
    head = b"".join(raw for kind, raw in chunks if kind != b"ANMF")
    anmf = [raw for kind, raw in chunks if kind == b"ANMF"]
    body = b"WEBP" + head + b"".join(anmf[index % 2] for index in range(frames))
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- the largest files still accepted: what one upload may cost at worst ------------------


@cache
def png_rgba_at_memory_limit() -> bytes:
    """8-bit RGBA just under the memory limit (decoded, plus its premultiplied copy)."""
    return _png(5400, 5400, 8, 6, 5400 * 4)


@cache
def png_rgb_at_pixel_limit() -> bytes:
    """8-bit RGB of 49 megapixels, just under the pixel limit."""
    return _png(7000, 7000, 8, 2, 7000 * 3)


@cache
def png_grey16_at_memory_limit() -> bytes:
    """16-bit greyscale just under the memory limit (widened twice while thumbnailing)."""
    return _png(4700, 4700, 16, 0, 4700 * 2)


@cache
def jpeg_progressive_at_limits() -> bytes:
    """A progressive 4:4:4 colour JPEG of 36 megapixels with 100 scans (the scan limit)."""
    flat = Image.new("RGB", (6000, 6000), (120, 130, 140))
    base = _save(flat, "JPEG", progressive=True, quality=50, subsampling=0)
    head, found, tail = _split_scans(base)
    return head + b"".join(found) + found[-1] * (100 - len(found)) + tail


@cache
def webp_frames_at_limit() -> bytes:
    """An animated WebP of 150 frames of 4 megapixels: 600 megapixels, the total limit."""
    return webp_frames_bomb(150, 2000)


@cache
def gif_frames_at_limit() -> bytes:
    """300 one-pixel frames on a 2-megapixel screen: 600 megapixels, the total limit."""
    return gif_frames_bomb(300, 2000, 1000)
