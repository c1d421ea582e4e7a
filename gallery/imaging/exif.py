"""Camera details and the time a photo was taken, read from its EXIF.

The EXIF block is found by the container readers (JPEG APP1, PNG ``eXIf``, WebP
``EXIF``, the Exif item of a HEIC or AVIF) and read by a small TIFF reader of
our own: bounded, read-only, and silent (no warnings, whatever the bytes). Bad
EXIF never fails an upload: what cannot be read is simply not known.

What comes out (:class:`Details`):

* ``camera``: the known ones of ``make``, ``model``, ``lens`` (strings, control
  and formatting characters removed, whitespace collapsed, at most
  :data:`MAX_TEXT` characters), ``focal_length`` (mm) and ``f_number``
  (numbers, at most two decimals), ``exposure_time`` (a string as photographers
  write it: ``"1/250"`` up to a quarter of a second, else seconds such as
  ``"0.5"`` or ``"30"``) and ``iso`` (an integer).
* ``taken_at``: ``DateTimeOriginal`` as ISO 8601, ``"2026-07-14T18:03:12"``,
  with ``OffsetTimeOriginal`` appended where the camera wrote one
  (``"2026-07-14T18:03:12+02:00"``). Without it the time is the camera's local
  time, without an offset.
"""

from __future__ import annotations

import logging
import math
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gallery.imaging import heif
from gallery.imaging.containers import Malformed, jpeg_layout, png_layout, riff_layout

log = logging.getLogger(__name__)

MAX_TEXT = 100
"""The longest make, model or lens name kept."""
MAX_IFD_ENTRIES = 1000

TAG_MAKE, TAG_MODEL = 0x010F, 0x0110
TAG_EXIF_IFD = 0x8769
TAG_EXPOSURE_TIME, TAG_F_NUMBER = 0x829A, 0x829D
TAG_ISO, TAG_ISO_SPEED = 0x8827, 0x8833
TAG_DATE_TIME_ORIGINAL, TAG_OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
TAG_SHUTTER_SPEED, TAG_APERTURE = 0x9201, 0x9202
TAG_FOCAL_LENGTH = 0x920A
TAG_LENS_MODEL = 0xA434

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_DATE = re.compile(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"\s*([+-])(\d{2}):?(\d{2})\s*")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Details:
    """What the EXIF says about the camera and the time (see the module's docstring)."""

    camera: dict[str, Any] = field(default_factory=dict)
    taken_at: str | None = None


NOTHING = Details()


class _Tiff:
    """Read-only access to a TIFF structure (an EXIF block)."""

    def __init__(self, data: bytes) -> None:
        if data[:2] not in (b"II", b"MM"):
            raise Malformed("not a TIFF byte order")
        self.data = data
        self.order = "<" if data[:2] == b"II" else ">"
        if self._unpack("H", 2) != 42:
            raise Malformed("not a TIFF header")

    def _unpack(self, fmt: str, offset: int) -> Any:
        try:
            return struct.unpack_from(self.order + fmt, self.data, offset)[0]
        except struct.error as err:
            raise Malformed("EXIF offset out of range") from err

    def ifd(self, offset: int) -> dict[int, tuple[int, int, int]]:
        """Tag -> (type, count, where its value is) of the IFD at ``offset``."""
        if offset <= 0:
            return {}
        count = self._unpack("H", offset)
        if count > MAX_IFD_ENTRIES:
            raise Malformed("implausible EXIF directory")
        entries: dict[int, tuple[int, int, int]] = {}
        for at in range(offset + 2, offset + 2 + 12 * count, 12):
            tag, kind, n = self._unpack("H", at), self._unpack("H", at + 2), self._unpack("I", at + 4)
            size = _TYPE_SIZES.get(kind, 0) * n
            where = at + 8 if size <= 4 else self._unpack("I", at + 8)
            if size and where + size <= len(self.data):
                entries.setdefault(tag, (kind, n, where))
        return entries

    def first(self) -> int:
        return self._unpack("I", 4)

    def numbers(self, entry: tuple[int, int, int], limit: int = 4) -> list[float]:
        """The numeric values of an entry (rationals divided out), at most ``limit``."""
        kind, count, where = entry
        out: list[float] = []
        for index in range(min(count, limit)):
            if kind == 3:
                out.append(self._unpack("H", where + 2 * index))
            elif kind == 4:
                out.append(self._unpack("I", where + 4 * index))
            elif kind == 9:
                out.append(self._unpack("i", where + 4 * index))
            elif kind in (5, 10):
                fmt = "I" if kind == 5 else "i"
                top = self._unpack(fmt, where + 8 * index)
                bottom = self._unpack(fmt, where + 8 * index + 4)
                if bottom == 0:
                    continue
                out.append(top / bottom)
            elif kind in (1, 7):
                out.append(self.data[where + index])
            elif kind == 11:
                out.append(self._unpack("f", where + 4 * index))
            elif kind == 12:
                out.append(self._unpack("d", where + 8 * index))
        return [value for value in out if math.isfinite(value)]

    def text(self, entry: tuple[int, int, int]) -> bytes:
        kind, count, where = entry
        if kind not in (2, 7, 1):
            return b""
        return self.data[where : where + min(count, 4 * MAX_TEXT)]


def clean_text(raw: bytes | str, limit: int = MAX_TEXT) -> str | None:
    """A name from EXIF fit to show: up to the first NUL, UTF-8 (else Latin-1), no
    control or formatting characters, whitespace collapsed, at most ``limit``
    characters; ``None`` when nothing is left."""
    if isinstance(raw, bytes):
        raw = raw.split(b"\x00", 1)[0]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw.split("\x00", 1)[0]
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()[:limit].strip()
    return text or None


def _number(value: float, low: float, high: float) -> int | float | None:
    """``value`` rounded to two decimals when within (low, high]; integral values as int."""
    if not low < value <= high:
        return None
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def exposure_text(seconds: float) -> str | None:
    """``1/250`` for exposures up to 1/4 s, ``0.5`` or ``30`` (seconds) for longer ones."""
    if not 0 < seconds <= 86_400:
        return None
    if seconds <= 0.25 + 1e-9:
        return f"1/{round(1 / seconds)}"
    return f"{round(seconds, 1):g}"


def taken_text(date: str, offset: str | None) -> str | None:
    """``DateTimeOriginal`` (and ``OffsetTimeOriginal``) as ISO 8601, or None when not a time."""
    match = _DATE.match(date)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if not 1800 <= moment.year <= 2999:
        return None
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if offset:
        if offset.strip().upper() == "Z":
            return stamp + "+00:00"
        found = _OFFSET.fullmatch(offset)
        if found is not None:
            sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3))
            if hours <= 14 and minutes < 60 and (hours, minutes) <= (14, 0):
                return f"{stamp}{sign}{hours:02d}:{minutes:02d}"
    return stamp


def read_tiff(block: bytes) -> Details:
    """Camera and time from an EXIF block (with or without the ``Exif\\0\\0`` prefix).

    Raises:
        Malformed: not a TIFF structure at all (entries that cannot be read are skipped).
    """
    if block.startswith(b"Exif\x00\x00"):
        block = block[6:]
    tiff = _Tiff(block)
    ifd0 = tiff.ifd(tiff.first())
    exif: dict[int, tuple[int, int, int]] = {}
    if TAG_EXIF_IFD in ifd0:
        pointer = tiff.numbers(ifd0[TAG_EXIF_IFD], 1)
        if pointer:
            try:
                exif = tiff.ifd(int(pointer[0]))
            except Malformed:
                exif = {}
    camera: dict[str, Any] = {}

    def text(entries: dict[int, tuple[int, int, int]], tag: int) -> str | None:
        return clean_text(tiff.text(entries[tag])) if tag in entries else None

    def first(tag: int) -> float | None:
        if tag not in exif:
            return None
        values = tiff.numbers(exif[tag], 1)
        return values[0] if values else None

    for name, value in (("make", text(ifd0, TAG_MAKE)), ("model", text(ifd0, TAG_MODEL)),
                        ("lens", text(exif, TAG_LENS_MODEL))):
        if value:
            camera[name] = value
    focal = first(TAG_FOCAL_LENGTH)
    if focal is not None and (value := _number(focal, 0, 10_000)) is not None:
        camera["focal_length"] = value
    f_number = first(TAG_F_NUMBER)
    if f_number is None and (apex := first(TAG_APERTURE)) is not None and -2 < apex < 64:
        f_number = 2 ** (apex / 2)
    if f_number is not None and (value := _number(f_number, 0, 1000)) is not None:
        camera["f_number"] = value
    exposure = first(TAG_EXPOSURE_TIME)
    if exposure is None and (apex := first(TAG_SHUTTER_SPEED)) is not None and -20 < apex < 40:
        exposure = 2 ** -apex
    if exposure is not None and (shown := exposure_text(exposure)) is not None:
        camera["exposure_time"] = shown
    iso = first(TAG_ISO)
    if iso == 65535 or iso is None:  # the field is full: the real value is ISOSpeed
        iso = first(TAG_ISO_SPEED) or iso
    if iso is not None and iso == int(iso) and 1 <= iso <= 10_000_000:
        camera["iso"] = int(iso)
    taken = None
    date = text(exif, TAG_DATE_TIME_ORIGINAL)
    if date:
        taken = taken_text(date, text(exif, TAG_OFFSET_TIME_ORIGINAL))
    return Details(camera, taken)


# --- where each format keeps its EXIF ---------------------------------------------


def _jpeg(data: bytes) -> bytes | None:
    for block in jpeg_layout(data).blocks:
        if block.kind == b"\xe1" and data[block.body : block.body + 6] == b"Exif\x00\x00":
            return data[block.body : block.body_end]
    return None


def _png(data: bytes) -> bytes | None:
    for block in png_layout(data).blocks:
        if block.kind == b"eXIf":
            return data[block.body : block.body_end]
    return None


def _webp(data: bytes) -> bytes | None:
    for block in riff_layout(data).blocks:
        if block.kind == b"EXIF":
            return data[block.body : block.body_end]
    return None


def _heif(data: bytes) -> bytes | None:
    parsed = heif.parse(data)
    item = parsed.exif_for(parsed.primary)
    if item is None or not item.in_file:
        return None
    block = item.read(data)
    if len(block) < 4:
        return None
    start = 4 + int.from_bytes(block[:4], "big")
    return block[start:] if start < len(block) else None


_FINDERS = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp, "HEIF": _heif, "AVIF": _heif}


def exif_block(image_format: str, data: bytes) -> bytes | None:
    """The EXIF block of an image, if it has one.

    Raises:
        Malformed: the container cannot be walked.
    """
    finder = _FINDERS.get(image_format)
    return finder(data) if finder is not None else None


def read_details(image_format: str, data: bytes) -> Details:
    """Camera and time from an already validated image; :data:`NOTHING` when the
    format has no EXIF, the image has none, or it cannot be read."""
    try:
        block = exif_block(image_format, data)
        return read_tiff(block) if block else NOTHING
    except Exception as err:  # bad EXIF is not known, never a reason to refuse the image
        log.debug("unreadable EXIF in a %s image: %s", image_format, err)
        return NOTHING
