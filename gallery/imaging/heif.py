"""HEIF and AVIF containers (ISO/IEC 23008-12 over the ISO base media file format).

A HEIC or AVIF file is a tree of boxes: ``ftyp`` names the brands, ``meta``
describes *items* (the coded pictures, tiles of a grid, thumbnails, the Exif
and XMP blocks) and where their bytes are (``iloc``), and ``mdat`` (or
``idat``) holds those bytes. Each item's *properties* (``ispe`` its size,
``irot``/``imir`` its rotation and mirroring, ``colr`` its colours, ``pixi``
its bit depth) are listed once in ``ipco`` and tied to items by ``ipma``.

This module reads that structure only, never pixels: the limits are enforced
from it before a decoder runs, the privacy pass finds the Exif and XMP items
through it, and the colour conversion reads ``colr`` from it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from functools import cache

from PIL import Image

from gallery.imaging.containers import Malformed


class NotHeif(Malformed):
    """The bytes after the file-type box are not a HEIF image (e.g. HTML behind a
    HEIC ``ftyp`` box): the file is not an image of this kind at all."""


MAX_BOXES = 20_000
"""Boxes read from one file; a real photo has under a hundred (an iPhone grid about 150)."""
MAX_ITEMS = 10_000
MAX_DEPTH = 8

#: Top-level boxes a HEIF file may hold (ISO/IEC 14496-12 and 23008-12).
TOP_LEVEL = frozenset({
    b"ftyp", b"meta", b"mdat", b"moov", b"free", b"skip", b"uuid", b"wide", b"pdin",
    b"moof", b"mfra", b"styp", b"sidx", b"ssix", b"prft", b"meco", b"etyp", b"mpvd",
    b"otyp", b"imda",
})
#: Item types that are pictures (coded, or derived from other items).
IMAGE_ITEMS = frozenset({b"hvc1", b"av01", b"grid", b"iden", b"iovl", b"jpeg", b"unci",
                         b"vvc1", b"avc1", b"j2k1", b"tmap", b"mski"})
#: Item references that make an item part of another picture rather than one of its own.
PART_REFERENCES = (b"thmb", b"auxl", b"dimg", b"base", b"prem")

_BOX_TYPE = re.compile(rb"[A-Za-z0-9 \xa9._-]{4}")


def _u8(data: bytes, pos: int) -> int:
    if pos >= len(data):
        raise Malformed("unexpected end of a HEIF box")
    return data[pos]


def _unpack(fmt: str, data: bytes, pos: int) -> int:
    try:
        return struct.unpack_from(fmt, data, pos)[0]
    except struct.error as err:
        raise Malformed("unexpected end of a HEIF box") from err


def _uint(data: bytes, pos: int, size: int) -> int:
    """A big-endian unsigned number of ``size`` bytes (0, 2, 4 or 8)."""
    if size == 0:
        return 0
    if size not in (2, 4, 8) or pos + size > len(data):
        raise Malformed("bad number size in a HEIF box")
    return int.from_bytes(data[pos : pos + size], "big")


@dataclass(frozen=True, slots=True)
class Box:
    """One box: ``kind`` (its four-character type) spans ``start:end``; its payload
    starts at ``body`` (after the size, type, large size and uuid, but before a full
    box's version and flags)."""

    kind: bytes
    start: int
    body: int
    end: int


def read_box(data: bytes, pos: int, end: int, budget: list[int]) -> Box:
    """The box starting at ``pos``, which must end by ``end``.

    Raises:
        Malformed: the box runs past ``end`` or is smaller than its header, or there
            are more than :data:`MAX_BOXES` boxes in all (``budget`` counts them down).
    """
    if end - pos < 8:
        raise Malformed("a HEIF box header is cut short")
    size, kind, header = _unpack(">I", data, pos), data[pos + 4 : pos + 8], 8
    if size == 1:
        size, header = _unpack(">Q", data, pos + 8), 16
    elif size == 0:
        size = end - pos
    if kind == b"uuid":
        header += 16
    if size < header or pos + size > end:
        raise Malformed(f"the HEIF {kind.decode('latin-1')!r} box runs past its end")
    budget[0] -= 1
    if budget[0] < 0:
        raise Malformed("too many boxes in a HEIF file")
    return Box(kind, pos, pos + header, pos + size)


def read_boxes(data: bytes, start: int, end: int, budget: list[int]) -> list[Box]:
    """The boxes one after another in ``data[start:end]``.

    Raises:
        Malformed: as :func:`read_box`, for any of them.
    """
    found: list[Box] = []
    pos = start
    while pos < end:
        box = read_box(data, pos, end, budget)
        found.append(box)
        pos = box.end
    return found


def _cstring(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """A NUL-terminated string from ``pos`` (a missing NUL ends it at ``end``)."""
    stop = data.find(b"\x00", pos, end)
    if stop < 0:
        return data[pos:end], end
    return data[pos:stop], stop + 1


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the ``meta`` box.

    ``extents`` are (offset, length) pairs into the file, in order; ``in_file`` is
    False when the item's bytes are built from other items (``iloc`` construction
    method 2), which this reader does not follow.
    """

    id: int
    type: bytes
    hidden: bool = False
    content_type: str = ""
    content_encoding: str = ""
    extents: tuple[tuple[int, int], ...] = ()
    in_file: bool = True

    @property
    def size(self) -> int:
        return sum(length for _offset, length in self.extents)

    def read(self, data: bytes) -> bytes:
        """The item's bytes."""
        return b"".join(data[offset : offset + length] for offset, length in self.extents)


@dataclass(frozen=True, slots=True)
class Colour:
    """An item's ``colr`` property: an ICC profile, or the coding-independent code
    points (ITU-T H.273) of an ``nclx`` one."""

    icc: bytes | None = None
    primaries: int = 2
    transfer: int = 2
    matrix: int = 2
    full_range: bool = False


@dataclass(slots=True)
class HeifFile:
    """What :func:`parse` read: the brands, boxes, items, properties and tracks."""

    major_brand: bytes
    brands: frozenset[bytes]
    boxes: list[Box]
    end: int
    """Where the image ends: bytes after this are not part of any box of the file."""
    primary: int
    items: dict[int, Item]
    properties: list[Box]
    associations: dict[int, list[tuple[int, bool]]]
    references: list[tuple[bytes, int, tuple[int, ...]]]
    track_samples: int = 0
    nested: list[Box] = field(default_factory=list)
    """Boxes inside ``moov`` (and its tracks) that may carry metadata (``udta``, ``meta``)."""

    # -- properties ------------------------------------------------------------------

    def properties_of(self, item_id: int) -> list[Box]:
        """The properties associated with an item, in the order ``ipma`` lists them."""
        boxes = []
        for index, _essential in self.associations.get(item_id, []):
            if 1 <= index <= len(self.properties):
                boxes.append(self.properties[index - 1])
        return boxes

    def property(self, item_id: int, kind: bytes) -> Box | None:
        """The first property of type ``kind`` of an item, if it has one."""
        return next((box for box in self.properties_of(item_id) if box.kind == kind), None)

    def size_of(self, data: bytes, item_id: int) -> tuple[int, int] | None:
        """An item's ``ispe``: its width and height before rotation, if declared."""
        box = self.property(item_id, b"ispe")
        if box is None or box.end - box.body < 12:
            return None
        return _unpack(">I", data, box.body + 4), _unpack(">I", data, box.body + 8)

    def colour_of(self, data: bytes, item_id: int) -> Colour | None:
        """An item's colour property: the ICC profile if it has one, else its ``nclx``."""
        nclx = None
        for box in self.properties_of(item_id):
            if box.kind != b"colr" or box.end - box.body < 4:
                continue
            kind = data[box.body : box.body + 4]
            if kind in (b"prof", b"rICC"):
                return Colour(icc=data[box.body + 4 : box.end])
            if kind == b"nclx" and box.end - box.body >= 11 and nclx is None:
                nclx = Colour(
                    primaries=_unpack(">H", data, box.body + 4),
                    transfer=_unpack(">H", data, box.body + 6),
                    matrix=_unpack(">H", data, box.body + 8),
                    full_range=bool(data[box.body + 10] & 0x80),
                )
        return nclx

    def bit_depth(self, data: bytes, item_id: int) -> int:
        """The largest bits per channel ``pixi`` declares for an item (8 when absent)."""
        box = self.property(item_id, b"pixi")
        if box is None or box.end - box.body < 6:
            return 8
        count = data[box.body + 4]
        depths = data[box.body + 5 : min(box.end, box.body + 5 + count)]
        return max(depths, default=8) or 8

    def orientation(self, data: bytes, item_id: int) -> int:
        """The EXIF orientation (1-8) equal to an item's ``irot`` and ``imir``.

        Rotation (``irot``, anticlockwise quarter turns) and mirroring (``imir``)
        apply in the order the item lists them (see :func:`orientation_of`).
        """
        steps: list[tuple[str, int]] = []
        for box in self.properties_of(item_id):
            if box.kind == b"irot" and box.end > box.body:
                steps.append(("rotate", data[box.body] & 3))
            elif box.kind == b"imir" and box.end > box.body:
                steps.append(("mirror", data[box.body] & 1))
        return orientation_of(tuple(steps))

    # -- items -----------------------------------------------------------------------

    def references_from(self, item_id: int, kind: bytes) -> tuple[int, ...]:
        """The items ``item_id`` refers to with references of type ``kind``."""
        return tuple(to for ref, src, targets in self.references if ref == kind and src == item_id
                     for to in targets)

    def pictures(self) -> list[int]:
        """The pictures of their own: image items that are not a tile, thumbnail, alpha
        or depth map of another picture, and not hidden."""
        parts = {src for ref, src, _ in self.references if ref in (b"thmb", b"auxl", b"prem")}
        parts |= {to for ref, _src, targets in self.references if ref in (b"dimg", b"base")
                  for to in targets}
        return [item.id for item in self.items.values()
                if item.type in IMAGE_ITEMS and not item.hidden and item.id not in parts]

    def coded_type(self, item_id: int) -> bytes:
        """The codec of a picture: its own item type, or for a derived one (grid,
        identity, overlay) that of the first item it is made from."""
        seen: set[int] = set()
        current = item_id
        while current not in seen:
            seen.add(current)
            item = self.items.get(current)
            if item is None:
                return b""
            if item.type not in (b"grid", b"iden", b"iovl"):
                return item.type
            sources = self.references_from(current, b"dimg")
            if not sources:
                return b""
            current = sources[0]
        return b""

    def tiles(self, item_id: int) -> tuple[int, ...]:
        """The items a derived picture (grid, overlay) is made from."""
        item = self.items.get(item_id)
        if item is None or item.type not in (b"grid", b"iovl", b"iden"):
            return ()
        return self.references_from(item_id, b"dimg")

    def grid_size(self, data: bytes, item_id: int) -> tuple[int, int, int] | None:
        """A grid item's (output width, output height, tile count), if it is a grid."""
        item = self.items.get(item_id)
        if item is None or item.type != b"grid" or not item.in_file:
            return None
        body = item.read(data)
        if len(body) < 8:
            raise Malformed("a HEIF grid is cut short")
        wide = body[1] & 1
        rows, columns = body[2] + 1, body[3] + 1
        size = 4 if wide else 2
        width, height = _uint(body, 4, size), _uint(body, 4 + size, size)
        return width, height, rows * columns

    def metadata_items(self, kind: bytes) -> list[Item]:
        """Items of type ``kind`` (``Exif``), or ``mime`` items whose content type is
        XMP's when ``kind`` is ``b"xmp"``."""
        if kind == b"xmp":
            return [item for item in self.items.values() if item.type == b"mime"
                    and item.content_type.strip().lower() == "application/rdf+xml"]
        return [item for item in self.items.values() if item.type == kind]

    def exif_for(self, item_id: int) -> Item | None:
        """The Exif item describing a picture (``cdsc`` reference), else the first one."""
        exif = self.metadata_items(b"Exif")
        for item in exif:
            if item_id in self.references_from(item.id, b"cdsc"):
                return item
        return exif[0] if exif else None


_STEPS: dict[tuple[str, int], Image.Transpose] = {
    ("rotate", 1): Image.Transpose.ROTATE_90,  # Pillow turns anticlockwise, as irot does
    ("rotate", 2): Image.Transpose.ROTATE_180,
    ("rotate", 3): Image.Transpose.ROTATE_270,
    ("mirror", 0): Image.Transpose.FLIP_TOP_BOTTOM,
    ("mirror", 1): Image.Transpose.FLIP_LEFT_RIGHT,
}
_EXIF: dict[int, Image.Transpose | None] = {
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}


@cache
def orientation_of(steps: tuple[tuple[str, int], ...]) -> int:
    """The EXIF orientation (1-8) that does what a sequence of HEIF transformations does.

    Each step is ``("rotate", quarter turns anticlockwise)`` or ``("mirror", mode)``
    (mode 0: the top and bottom exchanged; 1: left and right, as ISO/IEC
    23008-12:2022 and libheif and libavif read it). Found by applying the steps to
    a tiny picture whose every pixel differs, and comparing with the eight EXIF
    orientations.
    """
    probe = Image.new("L", (3, 2))
    probe.putdata(range(6))
    result = probe
    for step in steps:
        if step in _STEPS:
            result = result.transpose(_STEPS[step])
    for value, transpose in _EXIF.items():
        candidate = probe if transpose is None else probe.transpose(transpose)
        if candidate.size == result.size and candidate.tobytes() == result.tobytes():
            return value
    return 1  # pragma: no cover - the eight orientations are every possible outcome


# --- parsing -----------------------------------------------------------------------


def _check_ftyp(data: bytes) -> tuple[bytes, frozenset[bytes], int]:
    if len(data) < 16 or data[4:8] != b"ftyp":
        raise NotHeif("no HEIF file-type box")
    size = _unpack(">I", data, 0)
    if size < 16 or size > min(len(data), 4096) or (size - 16) % 4:
        raise NotHeif("a bad HEIF file-type box")
    brands = frozenset(data[pos : pos + 4] for pos in range(16, size, 4))
    return data[8:12], brands | {data[8:12]}, size


def _top_level(data: bytes, budget: list[int]) -> tuple[list[Box], int]:
    """The top-level boxes and where the last one ends.

    Bytes after the file-type box that are not a box at all mean the file is not
    a HEIF image (:class:`NotHeif`): HTML, a script, anything else with a HEIF
    header in front. A known box that runs past the end means a truncated file;
    once the ``meta`` box was read, anything that does not look like a box is
    trailing data, which ends the image.
    """
    _major, _brands, pos = _check_ftyp(data)
    boxes = [Box(b"ftyp", 0, 8, pos)]
    seen_meta = False
    size = len(data)
    while pos < size:
        kind = data[pos + 4 : pos + 8]
        length = _unpack(">I", data, pos) if size - pos >= 8 else 0
        plausible = size - pos >= 8 and _BOX_TYPE.fullmatch(kind) is not None and (
            length in (0, 1) or length >= 8)
        if not plausible or kind not in TOP_LEVEL:
            if not seen_meta:
                raise NotHeif("no HEIF boxes after the file-type box")
            break
        try:
            box = read_box(data, pos, size, budget)
        except Malformed:
            # A known box cut short: the file was truncated.
            raise Malformed(f"the HEIF file is cut short (in its {kind.decode('latin-1')!r} box)"
                            ) from None
        boxes.append(box)
        seen_meta = seen_meta or kind == b"meta"
        pos = box.end
        if length == 0:
            break
    if not seen_meta:
        raise NotHeif("no HEIF meta box: there is no image in this file")
    return boxes, pos


def _read_in(data: bytes, body: int, end: int, budget: list[int]) -> dict[bytes, Box]:
    """The first box of each kind among the children of a box."""
    found: dict[bytes, Box] = {}
    for box in read_boxes(data, body, end, budget):
        found.setdefault(box.kind, box)
    return found


def _parse_pitm(data: bytes, box: Box) -> int:
    version = _u8(data, box.body)
    return _unpack(">I" if version else ">H", data, box.body + 4)


def _parse_iinf(data: bytes, box: Box, budget: list[int]) -> dict[int, Item]:
    version = _u8(data, box.body)
    start = box.body + 4 + (4 if version else 2)
    items: dict[int, Item] = {}
    for entry in read_boxes(data, start, box.end, budget):
        if entry.kind != b"infe":
            continue
        if len(items) >= MAX_ITEMS:
            raise Malformed("too many items in a HEIF file")
        pos = entry.body
        infe_version = _u8(data, pos)
        hidden = bool(_unpack(">I", data, pos) & 1)
        pos += 4
        if infe_version < 2:
            item_id = _unpack(">H", data, pos)
            items[item_id] = Item(item_id, b"")
            continue
        if infe_version == 2:
            item_id, pos = _unpack(">H", data, pos), pos + 2
        else:
            item_id, pos = _unpack(">I", data, pos), pos + 4
        pos += 2  # protection index
        item_type = data[pos : pos + 4]
        if len(item_type) < 4:
            raise Malformed("a HEIF item entry is cut short")
        _name, pos = _cstring(data, pos + 4, entry.end)
        content_type = encoding = b""
        if item_type == b"mime":
            content_type, pos = _cstring(data, pos, entry.end)
            encoding, pos = _cstring(data, pos, entry.end)
        items[item_id] = Item(item_id, item_type, hidden, content_type.decode("latin-1"),
                              encoding.decode("latin-1"))
    return items


def _parse_iloc(data: bytes, box: Box, idat: Box | None
                ) -> dict[int, tuple[tuple[tuple[int, int], ...], bool]]:
    pos = box.body
    version = _u8(data, pos)
    if version > 2:
        raise Malformed("unknown HEIF item location version")
    sizes = _u8(data, pos + 4), _u8(data, pos + 5)
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version else 0
    pos += 6
    count = _unpack(">I" if version == 2 else ">H", data, pos)
    pos += 4 if version == 2 else 2
    if count > MAX_ITEMS:
        raise Malformed("too many items in a HEIF file")
    located: dict[int, tuple[tuple[tuple[int, int], ...], bool]] = {}
    for _ in range(count):
        if version == 2:
            item_id, pos = _unpack(">I", data, pos), pos + 4
        else:
            item_id, pos = _unpack(">H", data, pos), pos + 2
        method = 0
        if version:
            method, pos = _unpack(">H", data, pos) & 15, pos + 2
        pos += 2  # data reference index
        base, pos = _uint(data, pos, base_size), pos + base_size
        extent_count, pos = _unpack(">H", data, pos), pos + 2
        extents = []
        for _ in range(extent_count):
            pos += index_size
            offset, pos = _uint(data, pos, offset_size), pos + offset_size
            length, pos = _uint(data, pos, length_size), pos + length_size
            extents.append((base + offset, length))
        if pos > box.end:
            raise Malformed("the HEIF item locations run past their box")
        if method == 2:
            located[item_id] = ((), False)
            continue
        if method == 1:
            if idat is None:
                raise Malformed("a HEIF item lies in an idat box that is missing")
            origin, limit = idat.body, idat.end
        elif method == 0:
            origin, limit = 0, len(data)
        else:
            raise Malformed("unknown HEIF item construction method")
        placed = []
        for offset, length in extents:
            start = origin + offset
            if length == 0 and extent_count == 1:
                length = limit - start
            if start < origin or start + length > limit or length < 0:
                raise Malformed("the HEIF file is cut short: an item's data is missing")
            placed.append((start, length))
        located[item_id] = (tuple(placed), True)
    return located


def _parse_iprp(data: bytes, box: Box, budget: list[int]
                ) -> tuple[list[Box], dict[int, list[tuple[int, bool]]]]:
    inside = read_boxes(data, box.body, box.end, budget)
    ipco = next((child for child in inside if child.kind == b"ipco"), None)
    properties = read_boxes(data, ipco.body, ipco.end, budget) if ipco else []
    associations: dict[int, list[tuple[int, bool]]] = {}
    for ipma in (child for child in inside if child.kind == b"ipma"):
        pos = ipma.body
        version = _u8(data, pos)
        wide = _unpack(">I", data, pos) & 1
        pos += 4
        count, pos = _unpack(">I", data, pos), pos + 4
        if count > MAX_ITEMS:
            raise Malformed("too many items in a HEIF file")
        for _ in range(count):
            if version < 1:
                item_id, pos = _unpack(">H", data, pos), pos + 2
            else:
                item_id, pos = _unpack(">I", data, pos), pos + 4
            n, pos = _u8(data, pos), pos + 1
            listed = associations.setdefault(item_id, [])
            for _ in range(n):
                if wide:
                    value, pos = _unpack(">H", data, pos), pos + 2
                    listed.append((value & 0x7FFF, bool(value & 0x8000)))
                else:
                    value, pos = _u8(data, pos), pos + 1
                    listed.append((value & 0x7F, bool(value & 0x80)))
        if pos > ipma.end:
            raise Malformed("the HEIF property associations run past their box")
    return properties, associations


def _parse_iref(data: bytes, box: Box, budget: list[int]) -> list[tuple[bytes, int, tuple[int, ...]]]:
    version = _u8(data, box.body)
    size = 4 if version else 2
    fmt = ">I" if version else ">H"
    refs = []
    for ref in read_boxes(data, box.body + 4, box.end, budget):
        pos = ref.body
        src, pos = _unpack(fmt, data, pos), pos + size
        count, pos = _unpack(">H", data, pos), pos + 2
        if pos + count * size > ref.end:
            raise Malformed("a HEIF item reference runs past its box")
        targets = tuple(_unpack(fmt, data, pos + i * size) for i in range(count))
        refs.append((ref.kind, src, targets))
    return refs


def _parse_moov(data: bytes, moov: Box, budget: list[int]) -> tuple[int, list[Box]]:
    """Samples in all tracks (``stsz``), and the metadata boxes inside the movie."""
    samples = 0
    nested: list[Box] = []

    def walk(box: Box, depth: int) -> None:
        nonlocal samples
        if depth > MAX_DEPTH:
            return
        for child in read_boxes(data, box.body, box.end, budget):
            if child.kind in (b"udta", b"meta"):
                nested.append(child)
            elif child.kind in (b"trak", b"mdia", b"minf", b"stbl"):
                walk(child, depth + 1)
            elif child.kind in (b"stsz", b"stz2") and child.end - child.body >= 12:
                samples += _unpack(">I", data, child.body + 8)

    walk(moov, 0)
    return samples, nested


def parse(data: bytes) -> HeifFile:
    """Read a HEIF or AVIF file's structure.

    Raises:
        NotHeif: it has a HEIF file-type box but no HEIF image behind it.
        Malformed: the structure is damaged or cut short.
    """
    budget = [MAX_BOXES]
    top, end = _top_level(data, budget)
    major, brands, _ = _check_ftyp(data)
    meta_box = next(box for box in top if box.kind == b"meta")
    meta = _read_in(data, meta_box.body + 4, meta_box.end, budget)
    handler = meta.get(b"hdlr")
    if handler is None or data[handler.body + 8 : handler.body + 12] != b"pict":
        raise NotHeif("the HEIF meta box does not describe pictures")
    if b"pitm" not in meta:
        raise Malformed("the HEIF file names no primary image")
    primary = _parse_pitm(data, meta[b"pitm"])
    items = _parse_iinf(data, meta[b"iinf"], budget) if b"iinf" in meta else {}
    located = _parse_iloc(data, meta[b"iloc"], meta.get(b"idat")) if b"iloc" in meta else {}
    for item_id, (extents, in_file) in located.items():
        if item_id in items:
            item = items[item_id]
            items[item_id] = Item(item.id, item.type, item.hidden, item.content_type,
                                  item.content_encoding, extents, in_file)
    properties, associations = (_parse_iprp(data, meta[b"iprp"], budget) if b"iprp" in meta
                                else ([], {}))
    references = _parse_iref(data, meta[b"iref"], budget) if b"iref" in meta else []
    samples, nested = 0, []
    for box in top:
        if box.kind == b"moov":
            found, inner = _parse_moov(data, box, budget)
            samples, nested = samples + found, nested + inner
    if primary not in items:
        raise Malformed("the HEIF primary image is not among its items")
    if any(offset + length > end for item in items.values() for offset, length in item.extents):
        raise Malformed("HEIF item data lies outside the file's boxes")
    return HeifFile(major, brands, top, end, primary, items, properties, associations,
                    references, samples, nested)
