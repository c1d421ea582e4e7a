"""Zip archives made while they are sent: one storage chunk in memory at a time.

An export and an album download are both written into a :class:`Sink`, an
unseekable stream whose bytes are taken out as soon as they are written, so a
zip of any size streams with constant memory (``zipfile`` writes a data
descriptor after each entry when it cannot seek back).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from gallery.clock import parse_timestamp

CHUNK = 256 * 1024


class Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they come."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_time(stamp: str) -> tuple[int, int, int, int, int, int]:
    """A stored timestamp as a zip entry's time (zip times start in 1980)."""
    try:
        moment = parse_timestamp(stamp)
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    return max((1980, 1, 1, 0, 0, 0), moment.timetuple()[:6])  # type: ignore[return-value]


def entry(name: str, stamp: str, compression: int) -> zipfile.ZipInfo:
    """A zip entry for a file of the gallery, readable by everyone once unpacked."""
    info = zipfile.ZipInfo(name, date_time=zip_time(stamp))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info
