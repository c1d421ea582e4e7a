"""An album as a zip of its originals, in the album's order, made while it is sent."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator

from gallery.errors import ObjectNotFound
from gallery.images.record import ImageRecord
from gallery.keys import Keys
from gallery.storage.base import Storage
from gallery.zipstream import CHUNK, Sink, entry

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\- ()]+")


def archive_name(title: str) -> str:
    """The file name offered for an album's zip: its title, made safe."""
    stem = _UNSAFE.sub("_", title).strip(" ._") or "album"
    return f"{stem[:80]}.zip"


def entry_names(records: list[ImageRecord]) -> list[str]:
    """A distinct, safe name for each original: its filename, numbered when names repeat."""
    used: set[str] = set()
    names = []
    for record in records:
        name = _UNSAFE.sub("_", record.filename).strip(" .") or record.id
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        used.add(candidate.lower())
        names.append(candidate)
    return names


def iter_album_zip(storage: Storage, keys: Keys, records: list[ImageRecord]) -> Iterator[bytes]:
    """The originals of ``records`` as one zip, in chunks of at most one storage chunk.

    Originals are stored as they are (they are compressed already). An original
    deleted meanwhile is left out. A storage error mid-way ends the stream (the
    client sees a truncated download, never a zip that claims to be whole).
    """
    sink = Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for record, name in zip(records, entry_names(records), strict=True):
            try:
                source = storage.open(keys.original(record.id))
            except ObjectNotFound:
                log.info("album download: %s was deleted meanwhile", record.id)
                continue
            info = entry(name, record.created_at, zipfile.ZIP_STORED)
            info.file_size = record.size
            with source, archive.open(info, "w", force_zip64=record.size > 2**31) as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    yield sink.take()
    yield sink.take()
