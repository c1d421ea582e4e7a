"""Byte-level readers for the four container formats we accept.

They read structure only (segments, chunks, blocks, header sizes), never pixels,
so they are cheap enough to run on every upload before any decoder sees it. They
serve two purposes: the size and frame limits are enforced from here before
Pillow allocates anything, and the privacy pass uses the offsets to edit metadata
in place.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass


class Malformed(ValueError):
    """The container structure cannot be read."""


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a container: a JPEG segment, a PNG chunk, a RIFF chunk, a GIF extension.

    ``start`` is where the block begins (its marker or length field), ``body`` and
    ``body_end`` delimit its payload, ``end`` is where the next block begins.
    """

    kind: bytes
    start: int
    body: int
    body_end: int
    end: int


@dataclass(frozen=True, slots=True)
class Layout:
    """The blocks of a file, and where the image ends (``None`` when no end marker was found)."""

    blocks: tuple[Block, ...]
    end: int | None


@dataclass(frozen=True, slots=True)
class Header:
    """Sizes read from the container headers, before any decoding.

    ``canvas_width`` x ``canvas_height`` is the largest canvas the decoder will
    allocate: a GIF frame may reach beyond the logical screen and enlarge it.
    """

    width: int
    height: int
    frames: int = 1
    canvas_width: int = 0
    canvas_height: int = 0
    scans: int = 0
    """JPEG: how many scans (SOS segments) the image has; each is a pass over every block."""
    coefficient_samples: float = 0.0
    """JPEG: samples per pixel the decoder keeps as DCT coefficients for the whole image
    (a progressive or multi-scan image), 0 when it decodes row by row."""

    @property
    def canvas(self) -> tuple[int, int]:
        """The canvas size, at least the declared size."""
        return max(self.width, self.canvas_width), max(self.height, self.canvas_height)

    @property
    def pixels(self) -> int:
        """Pixels of :attr:`canvas`."""
        width, height = self.canvas
        return width * height


def _u16be(data: bytes, pos: int) -> int:
    try:
        return struct.unpack_from(">H", data, pos)[0]
    except struct.error as err:
        raise Malformed("unexpected end of file") from err


def _u32be(data: bytes, pos: int) -> int:
    try:
        return struct.unpack_from(">I", data, pos)[0]
    except struct.error as err:
        raise Malformed("unexpected end of file") from err


def _u16le(data: bytes, pos: int) -> int:
    try:
        return struct.unpack_from("<H", data, pos)[0]
    except struct.error as err:
        raise Malformed("unexpected end of file") from err


def _u32le(data: bytes, pos: int) -> int:
    try:
        return struct.unpack_from("<I", data, pos)[0]
    except struct.error as err:
        raise Malformed("unexpected end of file") from err


# --- JPEG ----------------------------------------------------------------------

# A marker inside entropy-coded data: 0xFF not followed by a stuffed 0x00, a
# restart marker (D0-D7) or another fill byte.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
JPEG_EOI, JPEG_SOS = 0xD9, 0xDA


def jpeg_layout(data: bytes) -> Layout:
    """Every marker segment of the first JPEG image in ``data`` up to its EOI.

    Entropy-coded data after each SOS is skipped, so segments between the scans of a
    progressive JPEG are found too. ``end`` is the offset just past EOI.

    Raises:
        Malformed: ``data`` does not start with SOI or a segment is cut short.
    """
    if data[:2] != b"\xff\xd8":
        raise Malformed("no JPEG start marker")
    blocks: list[Block] = []
    pos, size = 2, len(data)
    while pos < size:
        if data[pos] != 0xFF:
            raise Malformed("expected a JPEG marker")
        while pos + 1 < size and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= size:
            break
        marker = data[pos + 1]
        if marker == JPEG_EOI:
            return Layout(tuple(blocks), pos + 2)
        if marker in _JPEG_STANDALONE or marker == 0xD8:
            pos += 2
            continue
        length = _u16be(data, pos + 2)
        if length < 2 or pos + 2 + length > size:
            raise Malformed("JPEG segment runs past the end of the file")
        end = pos + 2 + length
        blocks.append(Block(bytes([marker]), pos, pos + 4, end, end))
        pos = end
        if marker == JPEG_SOS:
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    return Layout(tuple(blocks), None)


def jpeg_header(data: bytes) -> Header:
    """Frame size from the SOF segments (the last one wins, as in Pillow; the largest is kept).

    Also counts the scans (SOS segments) and, for an image the decoder must hold
    whole as coefficients (progressive, or more than one scan), how many samples
    per pixel that is, from the components' sampling factors.

    Raises:
        Malformed: no readable SOF segment.
    """
    layout = jpeg_layout(data)
    width = height = widest = tallest = 0
    scans = 0
    progressive = False
    samples = 0.0
    in_frame = True
    for block in layout.blocks:
        marker = block.kind[0]
        if marker == JPEG_SOS:
            scans += 1
            in_frame = False
        elif marker in JPEG_SOF and in_frame:
            if block.body_end - block.body < 6:
                raise Malformed("JPEG frame header too short")
            height = _u16be(data, block.body + 1)
            width = _u16be(data, block.body + 3)
            widest, tallest = max(widest, width), max(tallest, height)
            progressive = marker in JPEG_PROGRESSIVE_SOF
            samples = _jpeg_samples(data, block)
    if not width or not height:
        raise Malformed("JPEG has no frame size")
    whole = progressive or scans > 1
    return Header(width, height, 1, widest, tallest, scans, samples if whole else 0.0)


def _jpeg_samples(data: bytes, block: Block) -> float:
    """Samples per pixel of a frame: each component's sampling area over the largest."""
    count = data[block.body + 5]
    factors = []
    for index in range(count):
        at = block.body + 6 + 3 * index + 1
        if at >= block.body_end:
            raise Malformed("JPEG frame header too short")
        factors.append((data[at] >> 4, data[at] & 0x0F))
    if not factors or any(h == 0 or v == 0 for h, v in factors):
        raise Malformed("JPEG frame has no valid sampling factors")
    h_max, v_max = max(h for h, _ in factors), max(v for _, v in factors)
    return sum(h * v for h, v in factors) / (h_max * v_max)


# --- PNG -----------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_layout(data: bytes) -> Layout:
    """Every chunk of a PNG up to IEND; ``end`` is the offset just past IEND's CRC.

    Raises:
        Malformed: no PNG signature, or a chunk runs past the end of the file.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise Malformed("no PNG signature")
    blocks: list[Block] = []
    pos, size = len(PNG_SIGNATURE), len(data)
    while pos + 8 <= size:
        length = _u32be(data, pos)
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > size:
            raise Malformed("PNG chunk runs past the end of the file")
        blocks.append(Block(kind, pos, pos + 8, pos + 8 + length, end))
        pos = end
        if kind == b"IEND":
            return Layout(tuple(blocks), end)
    return Layout(tuple(blocks), None)


def png_header(data: bytes) -> Header:
    """Canvas size from IHDR, frame count from acTL (animated PNG).

    Raises:
        Malformed: IHDR is missing, misplaced or empty.
    """
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise Malformed("PNG does not start with IHDR")
    width, height = _u32be(data, 16), _u32be(data, 20)
    if not width or not height:
        raise Malformed("PNG has no size")
    frames = 1
    for block in png_layout(data).blocks:
        if block.kind == b"acTL" and block.body_end - block.body >= 8:
            frames = max(1, _u32be(data, block.body))
        elif block.kind == b"IDAT":
            break
    return Header(width, height, frames)


# --- GIF -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GifScan:
    """What a walk through a GIF's blocks found, without decoding any pixels."""

    header: Header
    layout: Layout


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    size = len(data)
    while True:
        if pos >= size:
            raise Malformed("GIF data runs past the end of the file")
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


def gif_scan(data: bytes) -> GifScan:
    """Walk a GIF's blocks: frame count, the canvas any frame enlarges to, extensions, end.

    Application extensions are recorded as blocks whose kind is their 11-byte
    identifier (``b"XMP DataXMP"`` for XMP) and whose body spans their data.

    Raises:
        Malformed: not a GIF, or a block runs past the end of the file.
    """
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise Malformed("no GIF signature")
    width, height = _u16le(data, 6), _u16le(data, 8)
    if len(data) < 13:
        raise Malformed("GIF header too short")
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, canvas_w, canvas_h = 0, width, height
    blocks: list[Block] = []
    size = len(data)
    while pos < size:
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            return GifScan(_gif_header(width, height, frames, canvas_w, canvas_h), Layout(tuple(blocks), pos + 1))
        if introducer == 0x2C:  # image descriptor
            left, top = _u16le(data, pos + 1), _u16le(data, pos + 3)
            frame_w, frame_h = _u16le(data, pos + 5), _u16le(data, pos + 7)
            if pos + 10 > size:
                raise Malformed("GIF image descriptor too short")
            local = data[pos + 9]
            canvas_w, canvas_h = max(canvas_w, left + frame_w), max(canvas_h, top + frame_h)
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)  # +1: LZW minimum code size
            frames += 1
        elif introducer == 0x21:  # extension
            if pos + 2 > size:
                raise Malformed("GIF extension too short")
            label = data[pos + 1]
            start = pos
            pos += 2
            if label == 0xFF and pos < size and data[pos] == 11:
                ident = data[pos + 1 : pos + 12]
                body = pos + 12
                pos = _skip_sub_blocks(data, body)
                blocks.append(Block(ident, start, body, pos, pos))
            else:
                pos = _skip_sub_blocks(data, pos)
        else:
            raise Malformed("unexpected byte in GIF block stream")
    return GifScan(_gif_header(width, height, frames, canvas_w, canvas_h), Layout(tuple(blocks), None))


def _gif_header(width: int, height: int, frames: int, canvas_w: int, canvas_h: int) -> Header:
    if not width or not height:
        raise Malformed("GIF has no size")
    if not frames:
        raise Malformed("GIF has no image")
    return Header(width, height, frames, canvas_w, canvas_h)


# --- WebP ----------------------------------------------------------------------


def riff_layout(data: bytes) -> Layout:
    """Chunks of a RIFF/WEBP file; ``end`` is where the RIFF size says the file ends.

    Raises:
        Malformed: not RIFF/WEBP, or a chunk runs past the declared end.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("no RIFF/WEBP signature")
    riff_end = 8 + _u32le(data, 4)
    if riff_end > len(data):
        raise Malformed("WebP is shorter than its RIFF header says")
    blocks: list[Block] = []
    pos = 12
    while pos + 8 <= riff_end:
        kind = data[pos : pos + 4]
        length = _u32le(data, pos + 4)
        body_end = pos + 8 + length
        end = body_end + (length & 1)
        if body_end > riff_end:
            raise Malformed("WebP chunk runs past the end of the file")
        blocks.append(Block(kind, pos, pos + 8, body_end, min(end, riff_end)))
        pos = end
    return Layout(tuple(blocks), riff_end)


def webp_header(data: bytes) -> Header:
    """Canvas size from VP8X (or the single VP8/VP8L frame), frames from ANMF chunks.

    Raises:
        Malformed: no chunk that declares a size.
    """
    layout = riff_layout(data)
    if not layout.blocks:
        raise Malformed("WebP has no chunks")
    first = layout.blocks[0]
    body = first.body
    if first.kind == b"VP8X" and first.body_end - body >= 10:
        width = 1 + int.from_bytes(data[body + 4 : body + 7], "little")
        height = 1 + int.from_bytes(data[body + 7 : body + 10], "little")
        frames = sum(1 for block in layout.blocks if block.kind == b"ANMF") or 1
    elif first.kind == b"VP8 " and first.body_end - body >= 10:
        if data[body + 3 : body + 6] != b"\x9d\x01\x2a":
            raise Malformed("VP8 frame has no start code")
        width, height = _u16le(data, body + 6) & 0x3FFF, _u16le(data, body + 8) & 0x3FFF
        frames = 1
    elif first.kind == b"VP8L" and first.body_end - body >= 5:
        if data[body] != 0x2F:
            raise Malformed("VP8L frame has no signature")
        bits = _u32le(data, body + 1)
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        frames = 1
    else:
        raise Malformed("WebP does not declare its size")
    if not width or not height:
        raise Malformed("WebP has no size")
    return Header(width, height, frames)


def read_header(image_format: str, data: bytes) -> Header:
    """Sizes and frame count of ``data`` in ``image_format`` (a Pillow format name).

    Raises:
        Malformed: the headers cannot be read.
    """
    if image_format == "JPEG":
        return jpeg_header(data)
    if image_format == "PNG":
        return png_header(data)
    if image_format == "GIF":
        return gif_scan(data).header
    if image_format == "WEBP":
        return webp_header(data)
    raise Malformed(f"no header reader for {image_format}")
