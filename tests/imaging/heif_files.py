"""HEIC and AVIF files made in code: encoded, then taken apart and put together again.

The pictures are encoded by real encoders: HEVC through libvips (pyvips, whose
libheif carries x265; in a child process), AV1 through Pillow's libavif, and 10- and 12-bit AV1
through libavif's ``avifenc`` (Debian's ``libavif-bin``). :class:`Heif` then
rebuilds a file from its items and properties, which gives every feature a
test needs: rotation and mirroring properties, Exif and XMP items, bursts,
sequences, a motion photo's video, lies in the headers.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from gallery.imaging import heif
from tests.imaging.fixtures import RED, XMP_WITH_GPS, _gps_exif, photo, upright_marked


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, body: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + body)


@dataclass
class Item:
    """One item: its type, bytes and properties (whole boxes, with the essential flag)."""

    type: bytes
    data: bytes = b""
    properties: list[tuple[bytes, bool]] = field(default_factory=list)
    hidden: bool = False
    content_type: str = ""
    content_encoding: str = ""


@dataclass
class Heif:
    """A HEIF file as items and references; :meth:`to_bytes` writes it."""

    major: bytes
    compatible: list[bytes]
    items: dict[int, Item]
    primary: int
    references: list[tuple[bytes, int, tuple[int, ...]]] = field(default_factory=list)
    after: list[bytes] = field(default_factory=list)
    """Whole top-level boxes (or any bytes) written after ``mdat``."""
    before: list[bytes] = field(default_factory=list)
    """Whole top-level boxes written between ``meta`` and ``mdat``."""

    @classmethod
    def read(cls, data: bytes) -> Heif:
        parsed = heif.parse(data)
        items = {}
        for item_id, item in parsed.items.items():
            props = []
            for index, essential in parsed.associations.get(item_id, []):
                prop = parsed.properties[index - 1]
                props.append((data[prop.start : prop.end], essential))
            items[item_id] = Item(item.type, item.read(data), props, item.hidden,
                                  item.content_type, item.content_encoding)
        brands = [b for b in sorted(parsed.brands) if b != parsed.major_brand]
        return cls(parsed.major_brand, [parsed.major_brand, *brands], items, parsed.primary,
                   list(parsed.references))

    def copy(self) -> Heif:
        return replace(self, items={i: replace(it, properties=list(it.properties))
                                    for i, it in self.items.items()},
                       references=list(self.references), after=list(self.after),
                       before=list(self.before),
                       compatible=list(self.compatible))

    # -- edits -----------------------------------------------------------------------

    def add_property(self, item_id: int, prop: bytes, essential: bool = True) -> Heif:
        self.items[item_id].properties.append((prop, essential))
        return self

    def without_exif(self) -> Heif:
        gone = {i for i, item in self.items.items() if item.type == b"Exif"}
        self.items = {i: item for i, item in self.items.items() if i not in gone}
        self.references = [r for r in self.references if r[1] not in gone]
        return self

    def add_item(self, item: Item, describes: int | None = None, ref: bytes = b"cdsc") -> int:
        item_id = max(self.items) + 1
        self.items[item_id] = item
        if describes is not None:
            self.references.append((ref, item_id, (describes,)))
        return item_id

    def with_exif(self, exif: bytes) -> Heif:
        """Replace the Exif items with one holding ``exif`` (with its ``Exif\\0\\0`` prefix)."""
        if not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        self.without_exif()
        self.add_item(Item(b"Exif", struct.pack(">I", 6) + exif), describes=self.primary)
        return self

    def with_xmp(self, xmp: bytes) -> Heif:
        self.add_item(Item(b"mime", xmp, content_type="application/rdf+xml"),
                      describes=self.primary)
        return self

    def merge(self, other: Heif, hidden: bool = False) -> int:
        """Add ``other``'s items (renumbered); returns the id its primary picture got."""
        shift = max(self.items)
        for item_id, item in other.items.items():
            if item.type in (b"Exif", b"mime"):
                continue
            self.items[item_id + shift] = replace(item, properties=list(item.properties),
                                                  hidden=item.hidden or hidden)
        kept = set(other.items) - {i for i, it in other.items.items() if it.type in (b"Exif", b"mime")}
        self.references += [(kind, src + shift, tuple(t + shift for t in to))
                            for kind, src, to in other.references if src in kept]
        return other.primary + shift

    # -- writing ---------------------------------------------------------------------

    def _meta(self, base: int) -> tuple[bytes, bytes]:
        ids = sorted(self.items)
        hdlr = full_box(b"hdlr", 0, 0, bytes(4) + b"pict" + bytes(12) + b"\x00")
        pitm = full_box(b"pitm", 0, 0, struct.pack(">H", self.primary))
        entries = b""
        for item_id in ids:
            item = self.items[item_id]
            body = struct.pack(">HH", item_id, 0) + item.type + b"\x00"
            if item.type == b"mime":
                body += item.content_type.encode() + b"\x00" + item.content_encoding.encode() + b"\x00"
            entries += full_box(b"infe", 2, 1 if item.hidden else 0, body)
        iinf = full_box(b"iinf", 0, 0, struct.pack(">H", len(ids)) + entries)
        mdat = b""
        locations = b""
        for item_id in ids:
            data = self.items[item_id].data
            locations += struct.pack(">HHHHII", item_id, 0, 0, 1, base + len(mdat), len(data))
            mdat += data
        iloc = full_box(b"iloc", 1, 0, bytes([0x44, 0x00]) + struct.pack(">H", len(ids)) + locations)
        props: list[bytes] = []
        assoc = b""
        for item_id in ids:
            listed = []
            for prop, essential in self.items[item_id].properties:
                props.append(prop)
                listed.append(len(props) | (0x8000 if essential else 0))
            if listed:
                assoc += struct.pack(">HB", item_id, len(listed)) + b"".join(
                    struct.pack(">H", v) for v in listed)
        count = sum(1 for i in ids if self.items[i].properties)
        ipma = full_box(b"ipma", 0, 1, struct.pack(">I", count) + assoc)
        iprp = box(b"iprp", box(b"ipco", b"".join(props)) + ipma)
        refs = b"".join(box(kind, struct.pack(">HH", src, len(to)) + b"".join(
            struct.pack(">H", t) for t in to)) for kind, src, to in self.references)
        iref = full_box(b"iref", 0, 0, refs) if self.references else b""
        meta = full_box(b"meta", 0, 0, hdlr + pitm + iloc + iinf + iref + iprp)
        return meta, mdat

    def to_bytes(self) -> bytes:
        ftyp = box(b"ftyp", self.major + bytes(4) + b"".join(self.compatible))
        between = b"".join(self.before)
        meta, mdat = self._meta(0)
        meta, mdat = self._meta(len(ftyp) + len(meta) + len(between) + 8)
        return ftyp + meta + between + box(b"mdat", mdat) + b"".join(self.after)


def irot(quarter_turns: int) -> bytes:
    """An ``irot`` property: turn the picture ``quarter_turns`` x 90 degrees anticlockwise."""
    return box(b"irot", bytes([quarter_turns]))


def imir(mode: int) -> bytes:
    """An ``imir`` property: 0 exchanges top and bottom, 1 left and right."""
    return box(b"imir", bytes([mode]))


def ispe(width: int, height: int) -> bytes:
    return full_box(b"ispe", 0, 0, struct.pack(">II", width, height))


def nclx(primaries: int, transfer: int, matrix: int = 9, full_range: bool = True) -> bytes:
    return box(b"colr", b"nclx" + struct.pack(">HHHB", primaries, transfer, matrix,
                                              0x80 if full_range else 0))


def movie(samples: int, location: bool = True) -> bytes:
    """A ``moov`` box of one track of ``samples`` pictures, with a QuickTime location."""
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 0, samples) + bytes(4 * samples))
    trak = box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stsz))))
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", 17, 0) + b"+52.5200+013.4050/"))
    return box(b"moov", full_box(b"mvhd", 0, 0, bytes(96)) + trak + (udta if location else b""))


# --- encoders ------------------------------------------------------------------------


_HEIC_ENCODER = """
import sys
import pyvips
depth = int(sys.argv[1])
image = pyvips.Image.new_from_buffer(sys.stdin.buffer.read(), "")
if depth > 8:
    image = (image.cast("ushort") * 257).copy(interpretation="rgb16")
sys.stdout.buffer.write(image.heifsave_buffer(compression="hevc", Q=90, bitdepth=depth))
"""


def _heic(im: Image.Image, depth: int = 8) -> bytes:
    """HEVC through libvips, in a process of its own: libvips brings the system's
    libheif, and two libheifs in one process (pi-heif bundles its own) crash it."""
    png = BytesIO()
    im.convert("RGB").save(png, "PNG")
    done = subprocess.run([sys.executable, "-c", _HEIC_ENCODER, str(depth)], input=png.getvalue(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
        if os.environ.get("CI"):
            pytest.fail(f"libvips cannot write HEIC: {reason}")
        pytest.skip(f"libvips cannot write HEIC: {reason}")  # pragma: no cover
    return done.stdout


@cache
def encode_heic(width: int = 96, height: int = 64, depth: int = 8, seed: str = "photo") -> bytes:
    """An HEVC-coded HEIC of a photo-like picture, by libheif's x265 (through libvips)."""
    im = photo(width, height)
    if seed != "photo":
        im = Image.blend(im, Image.new("RGB", im.size, (0, 120, 255)), 0.3)
    return _heic(im, depth)


def heic_of(picture: Image.Image) -> bytes:
    """A HEIC of ``picture``'s pixels (lossy, at high quality)."""
    return _heic(picture)


def encode_avif(picture: Image.Image | None = None, **params: object) -> bytes:
    """An AVIF of ``picture`` (default: a 96x64 photo) by Pillow's libavif."""
    out = BytesIO()
    (picture if picture is not None else photo(96, 64)).save(out, "AVIF", quality=85, **params)
    return out.getvalue()


def avifenc_available() -> bool:
    return shutil.which("avifenc") is not None


def require_avifenc() -> str:
    """The ``avifenc`` command; skips the test where it is missing, fails it on CI."""
    found = shutil.which("avifenc")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("avifenc is missing (apt-get install libavif-bin)")
        pytest.skip("avifenc is not installed (apt-get install libavif-bin)")
    return found


@cache
def encode_avif_deep(depth: int, cicp: str = "1/13/6", picture_size: tuple[int, int] = (96, 64),
                     grey: int | None = None) -> bytes:
    """A ``depth``-bit AVIF by avifenc, with the given nclx code points (P/T/M)."""
    command = require_avifenc()
    if grey is not None:
        im: Image.Image = Image.new("RGB", picture_size, (grey, grey, grey))
    else:
        im = photo(*picture_size)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.png", Path(tmp) / "out.avif"
        im.save(source)
        subprocess.run([command, "--depth", str(depth), "--cicp", cicp, "-r", "full",
                        "-s", "10", "--min", "0", "--max", "12", "--yuv", "444", str(source), str(target)],
                       check=True, capture_output=True)
        return target.read_bytes()


# --- the files the tests use -----------------------------------------------------------


def camera_exif(orientation: int | None = None, gps: bool = True, offset: str | None = "+02:00"
                ) -> bytes:
    """EXIF with camera details, the date taken and (by default) GPS."""
    exif = _gps_exif(orientation or 1) if gps else Image.Exif()
    if not gps:
        exif[0x010F] = "Acme Optics"
        exif[0x0110] = "Model Nine"
    if orientation is None:
        exif.pop(0x0112, None)
    elif not gps:
        exif[0x0112] = orientation
    details = exif.get_ifd(0x8769)
    details[0x9003] = "2026:07:14 18:03:12"
    if offset:
        details[0x9011] = offset
    details[0x829A] = IFDRational(1, 250)  # ExposureTime
    details[0x829D] = IFDRational(18, 10)  # FNumber
    details[0x8827] = 400  # ISO
    details[0x920A] = IFDRational(50, 1)  # FocalLength
    details[0xA434] = "RF 50mm F1.8 STM"  # LensModel
    return exif.tobytes()


@cache
def heic_with_gps() -> bytes:
    """A HEIC whose Exif item has GPS and camera details, with XMP holding GPS too."""
    model = Heif.read(encode_heic()).with_exif(camera_exif()).with_xmp(XMP_WITH_GPS.encode())
    return model.to_bytes()


@cache
def avif_with_gps() -> bytes:
    """An AVIF written by Pillow with EXIF holding GPS and camera details."""
    return encode_avif(exif=camera_exif())


def marked_stored(transpose: Image.Transpose | None, *more: Image.Transpose) -> Image.Image:
    """:func:`upright_marked` (240x160, red top-left) stored turned by ``transpose``..."""
    im = upright_marked(240, 160)
    for step in (transpose, *more):
        if step is not None:
            im = im.transpose(step)
    return im


def heif_turned(kind: str, stored: Image.Image, properties: list[bytes]) -> bytes:
    """A HEIC or AVIF of ``stored`` with transformation properties on its primary picture."""
    model = Heif.read(heic_of(stored) if kind == "heic" else encode_avif(stored))
    for prop in properties:
        model.add_property(model.primary, prop)
    return model.to_bytes()


def burst(kind: str = "heic") -> bytes:
    """Three pictures in one file (a burst); the primary is the second, tinted blue."""
    first = Heif.read(encode_heic(96, 64) if kind == "heic" else encode_avif())
    tinted = photo(96, 64)
    tinted = Image.blend(tinted, Image.new("RGB", tinted.size, (0, 0, 255)), 0.8)
    second = Heif.read(heic_of(tinted) if kind == "heic" else encode_avif(tinted))
    third = Heif.read(encode_heic(96, 64, seed="other") if kind == "heic" else encode_avif(
        Image.new("RGB", (96, 64), RED)))
    primary = first.merge(second)
    first.merge(third)
    first.primary = primary
    return first.to_bytes()


def avif_sequence(frames: int = 3, location: bool = True) -> bytes:
    """An AVIF image sequence by libavif (a primary picture and a track), whose
    track carries a QuickTime location (``udta``/``\xa9xyz``) in place of its
    optional edit list, so that every offset stays as libavif wrote it."""
    colours = [(200, 30, 40), (30, 200, 40), (30, 40, 200), (200, 200, 40)]
    pictures = [Image.new("RGB", (64, 48), colours[i % len(colours)]) for i in range(frames)]
    out = BytesIO()
    pictures[0].save(out, "AVIF", save_all=True, append_images=pictures[1:], duration=100)
    data = bytearray(out.getvalue())
    if location:
        at = data.find(b"edts") - 4
        size = struct.unpack_from(">I", data, at)[0]
        text = b"+52.5200+013.4050/"
        text += b"0" * (size - 8 - 12 - len(text))
        udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(text), 0) + text))
        assert len(udta) == size
        data[at : at + size] = udta
    return bytes(data)


def heic_sequence_brand() -> bytes:
    """A HEIC branded as an image sequence (``msf1``), holding its primary picture."""
    model = Heif.read(encode_heic())
    model.major = b"msf1"
    model.compatible = [b"msf1", b"mif1", b"heic"]
    return model.to_bytes()


def heic_broken_track() -> bytes:
    """A HEIC sequence whose movie track is not a valid track."""
    model = Heif.read(heic_sequence_brand())
    model.after.append(movie(12))
    return model.to_bytes()


def motion_photo() -> bytes:
    """A HEIC with a motion photo's video (``mpvd``) after its data, carrying a location."""
    model = Heif.read(encode_heic())
    model.after.append(box(b"mpvd", b"\x00\x00\x00\x18ftypmp42" + bytes(12) + b"\xa9xyz+52.52+013.40/"))
    return model.to_bytes()


def html_behind_ftyp() -> bytes:
    """A HEIC file-type box followed by a web page with a script."""
    return box(b"ftyp", b"heic" + bytes(4) + b"mif1heic") + (
        b"<html><body><script>alert(document.cookie)</script></body></html>")


def script_behind_ftyp() -> bytes:
    return box(b"ftyp", b"heic" + bytes(4) + b"mif1heic") + b"#!/bin/sh\nrm -rf ~\n"
