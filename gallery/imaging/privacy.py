"""Keep location data from reaching visitors, without touching the picture.

The stored original stays the upload, byte for byte, unless it carries location
data or bytes after the end of the image. Everything is edited in place in the
container, never by re-encoding pixels:

* EXIF (JPEG APP1, PNG eXIf, WebP EXIF): the GPS IFD pointer is taken out of its
  IFD and the GPS IFD with its values is overwritten with zeros. The EXIF block
  keeps its length, so every other offset (maker notes, thumbnail) stays valid and
  orientation, camera make and model, dates etc. survive untouched.
* XMP (JPEG APP1 incl. extended XMP, PNG iTXt, WebP ``XMP `` chunk, GIF XMP
  application extension): every ``*:GPS*`` property is overwritten with spaces,
  which keeps the packet well-formed and the same length. Compressed PNG XMP is
  rewritten uncompressed.
* PNG ``Raw profile type exif/APP1/xmp`` text chunks (ImageMagick's copies of the
  metadata, read by exiftool) are dropped when they carry GPS.
* HEIC and AVIF: the Exif items are edited like any EXIF block (inside the
  item's bytes, wherever ``iloc`` puts them), XMP items like XMP; a compressed
  XMP item with GPS in it is overwritten with zeros. Metadata boxes of an image
  sequence's movie (``udta``, ``meta`` in ``moov``) that hold a location
  become ``free`` boxes of the same size, and so does a motion photo's video
  (``mpvd``). Every edit keeps every length, so every offset stays valid.
* Bytes after the end of the image (after JPEG EOI, PNG IEND, the GIF trailer,
  the RIFF size of a WebP or the last box of a HEIF file) are dropped: they are
  not part of the picture and may hold anything, e.g. the video of a "motion
  photo" with its own location, the further images of an MPO, or a ZIP archive.
  When they go, a JPEG's MPF segment (which points at those further images)
  goes with them.

Not covered: location *names* (IPTC city, XMP ``photoshop:City``), and GPS inside
an EXIF thumbnail's own EXIF.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from gallery.imaging import heif
from gallery.imaging.containers import (
    Block,
    Malformed,
    gif_scan,
    jpeg_layout,
    png_layout,
    riff_layout,
)

GPS_IFD_TAG = 0x8825
EXIF_IFD_TAG = 0x8769
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_MAX_IFD_ENTRIES = 4096

_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_JPEG_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"
_XMP_GPS = re.compile(
    rb"""
      \s[\w.-]+:GPS[\w.-]*\s*=\s*(?:"[^"]*"|'[^']*')      # attribute form
    | <([\w.-]+:GPS[\w.-]*)(?:\s[^>]*)?/>                  # empty element
    | <([\w.-]+:GPS[\w.-]*)(?:\s[^>]*)?>.*?</\2\s*>       # element with content
    """,
    re.X | re.S,
)
_PNG_RAW_PROFILES = (b"Raw profile type exif", b"Raw profile type APP1", b"Raw profile type xmp")
_MAX_TEXT_CHUNK = 16_000_000


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The bytes to store and what was taken out of them."""

    data: bytes
    gps_removed: bool
    trailing_data_removed: bool


# --- EXIF / TIFF ---------------------------------------------------------------


class _Tiff:
    """In-place editing of a TIFF structure (an EXIF block) inside a larger buffer."""

    def __init__(self, buf: bytearray, start: int, end: int) -> None:
        order = bytes(buf[start : start + 2])
        if order not in (b"II", b"MM"):
            raise Malformed("not a TIFF byte order")
        self.buf, self.base, self.end = buf, start, end
        self.e = "<" if order == b"II" else ">"
        if self._u16(2) != 42:
            raise Malformed("not a TIFF header")

    def _u16(self, offset: int) -> int:
        return self._read("H", offset)

    def _u32(self, offset: int) -> int:
        return self._read("I", offset)

    def _read(self, fmt: str, offset: int) -> int:
        pos = self.base + offset
        if offset < 0 or pos + struct.calcsize(fmt) > self.end:
            raise Malformed("EXIF offset out of range")
        return struct.unpack_from(self.e + fmt, self.buf, pos)[0]

    def _zero(self, offset: int, length: int) -> None:
        start = self.base + offset
        stop = min(start + length, self.end)
        if offset >= 0 and start < stop:
            self.buf[start:stop] = bytes(stop - start)

    def entries(self, ifd: int) -> list[tuple[int, int, int, int]]:
        """(tag, type, count, value-or-offset) of each entry of the IFD at ``ifd``."""
        count = self._u16(ifd)
        if count > _MAX_IFD_ENTRIES:
            raise Malformed("implausible IFD")
        self._u32(ifd + 2 + 12 * count)  # the next-IFD pointer must be in range
        return [
            (self._u16(at), self._u16(at + 2), self._u32(at + 4), self._u32(at + 8))
            for at in range(ifd + 2, ifd + 2 + 12 * count, 12)
        ]

    def ifd0(self) -> int:
        return self._u32(4)

    def next_ifd(self, ifd: int) -> int:
        return self._u32(ifd + 2 + 12 * self._u16(ifd))

    def drop_gps(self, ifd: int) -> bool:
        """Remove GPS pointers from the IFD at ``ifd`` and blank what they point to."""
        entries = self.entries(ifd)
        kept = [entry for entry in entries if entry[0] != GPS_IFD_TAG]
        if len(kept) == len(entries):
            return False
        for tag, _type, _count, value in entries:
            if tag == GPS_IFD_TAG:
                self._blank_ifd(value)
        next_pointer = self.next_ifd(ifd)
        start = self.base + ifd
        rewritten = struct.pack(self.e + "H", len(kept))
        rewritten += b"".join(struct.pack(self.e + "HHII", *entry) for entry in kept)
        rewritten += struct.pack(self.e + "I", next_pointer)
        old_length = 2 + 12 * len(entries) + 4
        self.buf[start : start + old_length] = rewritten + bytes(old_length - len(rewritten))
        return True

    def _blank_ifd(self, ifd: int) -> None:
        """Overwrite an IFD (the GPS IFD) and its out-of-line values with zeros."""
        try:
            entries = self.entries(ifd)
        except Malformed:
            return
        for _tag, kind, count, value in entries:
            size = _TIFF_TYPE_SIZES.get(kind, 0) * count
            if size > 4:
                self._zero(value, size)
        self._zero(ifd, 2 + 12 * len(entries) + 4)


def scrub_exif(buf: bytearray, start: int, end: int) -> bool:
    """Remove the GPS IFD from the EXIF block ``buf[start:end]`` in place.

    ``start`` may point at an ``Exif\\0\\0`` prefix or directly at the TIFF header.
    The block keeps its length. Unreadable EXIF is left alone (no reader can find
    GPS in it either). Returns True when GPS data was removed.
    """
    if buf[start : start + 6] == b"Exif\x00\x00":
        start += 6
    try:
        tiff = _Tiff(buf, start, end)
        ifd0 = tiff.ifd0()
        entries = tiff.entries(ifd0)
        exif_ifd = next((value for tag, _t, _c, value in entries if tag == EXIF_IFD_TAG), None)
        ifd1 = tiff.next_ifd(ifd0)
    except Malformed:
        return False
    removed = False
    for ifd in dict.fromkeys(x for x in (ifd0, exif_ifd, ifd1) if x):
        try:
            removed |= tiff.drop_gps(ifd)
        except Malformed:
            continue
    return removed


def exif_has_gps(exif: bytes) -> bool:
    """Whether an EXIF block carries a GPS IFD pointer."""
    return scrub_exif(bytearray(exif), 0, len(exif))


# --- XMP -----------------------------------------------------------------------


def scrub_xmp(buf: bytearray, start: int, end: int) -> bool:
    """Blank every ``prefix:GPS*`` property in the XMP text ``buf[start:end]``, in place.

    Returns True when something was blanked.
    """
    packet = bytes(buf[start:end])
    if b"GPS" not in packet:
        return False
    cleaned = _XMP_GPS.sub(lambda match: b" " * len(match.group(0)), packet)
    if cleaned == packet:
        return False
    buf[start:end] = cleaned
    return True


# --- per format ----------------------------------------------------------------


def _jpeg(data: bytes) -> Cleaned:
    layout = jpeg_layout(data)
    buf = bytearray(data)
    gps = False
    mpf: list[Block] = []
    for block in layout.blocks:
        marker = block.kind[0]
        if marker == 0xE1:
            body = bytes(buf[block.body : block.body + len(_XMP_JPEG_EXTENDED)])
            if body.startswith(b"Exif\x00\x00"):
                gps |= scrub_exif(buf, block.body, block.body_end)
            elif body.startswith(_XMP_JPEG):
                gps |= scrub_xmp(buf, block.body + len(_XMP_JPEG), block.body_end)
            elif body.startswith(_XMP_JPEG_EXTENDED):
                # GUID (32), full length (4), offset (4), then a piece of the packet.
                gps |= scrub_xmp(buf, block.body + len(_XMP_JPEG_EXTENDED) + 40, block.body_end)
        elif marker == 0xE2 and buf[block.body : block.body + 4] == b"MPF\x00":
            mpf.append(block)
    trailing = layout.end is not None and layout.end < len(data)
    if trailing:
        assert layout.end is not None
        del buf[layout.end :]
        for block in reversed(mpf):
            del buf[block.start : block.end]
    return Cleaned(bytes(buf) if gps or trailing else data, gps, trailing)


def _png_text(buf: bytearray, block: Block) -> tuple[bytes, bytes] | None:
    """(keyword, text) of a tEXt, zTXt or iTXt chunk; None when it cannot be read."""
    body = bytes(buf[block.body : block.body_end])
    keyword, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    try:
        if block.kind == b"tEXt":
            return keyword, rest
        if block.kind == b"zTXt":
            return keyword, _inflate(rest[1:])
        # iTXt: compression flag, method, language\0, translated keyword\0, text
        flag = rest[0]
        _lang, _, rest = rest[2:].partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        return keyword, _inflate(text) if flag else text
    except (IndexError, zlib.error, ValueError):
        return None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, _MAX_TEXT_CHUNK)
    if inflater.unconsumed_tail:
        raise ValueError("text chunk too large")
    return text


def _raw_profile_has_gps(keyword: bytes, text: bytes) -> bool:
    """ImageMagick's hex-encoded metadata copies: "\\nexif\\n   LENGTH\\nHEX..."."""
    try:
        payload = bytes.fromhex("".join(text.decode("ascii").split("\n")[3:]))
    except ValueError:
        return b"GPS" in text
    if keyword == b"Raw profile type xmp":
        return bool(_XMP_GPS.search(payload))
    start = payload.find(b"Exif\x00\x00")
    exif = payload[start:] if start >= 0 else payload
    return exif_has_gps(exif) or bool(_XMP_GPS.search(payload))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png(data: bytes) -> Cleaned:
    layout = png_layout(data)
    buf = bytearray(data)
    gps = False
    # Edits that change a chunk's length are applied last, from the end backwards.
    replacements: list[tuple[Block, bytes]] = []
    for block in layout.blocks:
        changed = False
        if block.kind == b"eXIf":
            changed = scrub_exif(buf, block.body, block.body_end)
        elif block.kind in (b"tEXt", b"zTXt", b"iTXt"):
            text = _png_text(buf, block)
            if text is None:
                continue
            keyword, value = text
            if keyword in _PNG_RAW_PROFILES and _raw_profile_has_gps(keyword, value):
                replacements.append((block, b""))
                gps = True
            elif keyword == b"XML:com.adobe.xmp" and b"GPS" in value:
                xmp = bytearray(value)
                if scrub_xmp(xmp, 0, len(xmp)):
                    body = keyword + b"\x00\x00\x00\x00\x00" + bytes(xmp)
                    replacements.append((block, _png_chunk(b"iTXt", body)))
                    gps = True
        if changed:
            gps = True
            crc = zlib.crc32(bytes(buf[block.start + 4 : block.body_end])) & 0xFFFFFFFF
            buf[block.body_end : block.body_end + 4] = struct.pack(">I", crc)
    trailing = layout.end is not None and layout.end < len(data)
    if trailing:
        del buf[layout.end :]
    for block, chunk in sorted(replacements, key=lambda item: item[0].start, reverse=True):
        buf[block.start : block.end] = chunk
    return Cleaned(bytes(buf) if gps or trailing else data, gps, trailing)


def _webp(data: bytes) -> Cleaned:
    layout = riff_layout(data)
    buf = bytearray(data)
    gps = False
    for block in layout.blocks:
        if block.kind == b"EXIF":
            gps |= scrub_exif(buf, block.body, block.body_end)
        elif block.kind == b"XMP ":
            gps |= scrub_xmp(buf, block.body, block.body_end)
    trailing = layout.end is not None and layout.end < len(data)
    if trailing:
        del buf[layout.end :]
    return Cleaned(bytes(buf) if gps or trailing else data, gps, trailing)


def _gif(data: bytes) -> Cleaned:
    layout = gif_scan(data).layout
    buf = bytearray(data)
    gps = False
    for block in layout.blocks:
        if block.kind == b"XMP DataXMP":
            # XMP in GIF is raw text whose bytes double as sub-block lengths, with a
            # trailer that catches any chain of them: same-length edits are safe.
            gps |= scrub_xmp(buf, block.body, block.body_end)
    trailing = layout.end is not None and layout.end < len(data)
    if trailing:
        del buf[layout.end :]
    return Cleaned(bytes(buf) if gps or trailing else data, gps, trailing)


_MOVIE_LOCATION = (b"\xa9xyz", b"location", b"GPS", b"gps ")
"""What marks a location in a movie's metadata: QuickTime's ``\xa9xyz`` atom, Apple's
``com.apple.quicktime.location.*`` keys, GPS boxes."""


def _item_write(buf: bytearray, item: heif.Item, block: bytes) -> None:
    """Put an item's (edited, same-length) bytes back where ``iloc`` says they are."""
    pos = 0
    for offset, length in item.extents:
        buf[offset : offset + length] = block[pos : pos + length]
        pos += length


def _blank_box(buf: bytearray, box: heif.Box) -> None:
    """Turn a box into a ``free`` box of the same size with nothing in it."""
    buf[box.start + 4 : box.start + 8] = b"free"
    buf[box.body : box.end] = bytes(box.end - box.body)


def _heif(data: bytes) -> Cleaned:
    parsed = heif.parse(data)
    buf = bytearray(data)
    gps = trailing = False
    for item in parsed.metadata_items(b"Exif"):
        if not item.in_file:
            raise Malformed("an Exif item built from other items")
        block = bytearray(item.read(data))
        if len(block) < 4:
            continue
        start = 4 + int.from_bytes(block[:4], "big")  # the TIFF header's offset
        if start < len(block) and scrub_exif(block, start, len(block)):
            _item_write(buf, item, bytes(block))
            gps = True
    for item in parsed.metadata_items(b"xmp"):
        if not item.in_file:
            raise Malformed("an XMP item built from other items")
        block = bytearray(item.read(data))
        if not item.content_encoding.strip():
            if scrub_xmp(block, 0, len(block)):
                _item_write(buf, item, bytes(block))
                gps = True
            continue
        try:  # compressed: cannot be edited in place; blanked when it holds GPS
            text = _inflate(bytes(block)) if b"GPS" not in block else b"GPS"
        except (zlib.error, ValueError):
            text = b"GPS"
        if b"GPS" in text:
            _item_write(buf, item, bytes(len(block)))
            gps = True
    for box in parsed.nested:
        if any(marker in data[box.body : box.end] for marker in _MOVIE_LOCATION):
            _blank_box(buf, box)
            gps = True
    end = parsed.end
    for box in parsed.boxes:
        if box.kind == b"mpvd":
            if box.end == end:  # the last box: dropped with whatever follows
                end = box.start
            else:
                _blank_box(buf, box)
            trailing = True
    if end < len(data):
        del buf[end:]
        trailing = True
    return Cleaned(bytes(buf) if gps or trailing else data, gps, trailing)


_CLEANERS = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp, "GIF": _gif, "HEIF": _heif,
             "AVIF": _heif}


def remove_location(image_format: str, data: bytes) -> Cleaned:
    """Remove GPS data and trailing bytes from an already validated image.

    Returns the input object itself when there is nothing to remove.

    Raises:
        Malformed: the container cannot be walked (cannot happen for bytes that
            passed validation, whose headers were read the same way).
    """
    return _CLEANERS[image_format](data)
