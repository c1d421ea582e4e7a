"""An export's ``manifest.json``, checked as strictly as an upload before anything is imported.

An export may come from anywhere: every field of every record is checked here,
and only the fields an import may take are passed on (``id``, ``filename``,
``title``, ``description``, ``uploaded_by``, ``created_at`` and the
``content_type`` that names the original's file). Facts about the bytes (sizes,
dimensions, hashes) are never taken from a manifest: the pipeline works them out
again from the original itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gallery.clock import is_timestamp
from gallery.errors import BadRequest
from gallery.imaging.model import ALLOWED_TYPES, EXTENSIONS

FORMAT = 2
#: The formats an import reads: 1 (images only, as earlier releases wrote it) and 2
#: (images and ``albums.json``, whose count ``albums`` gives).
FORMATS = (1, 2)
MANIFEST = "manifest.json"

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""Largest manifest read (about 100,000 images' records)."""

MAX_RECORDS = 1_000_000
MAX_FILENAME = 255
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_USERNAME = 64

CONTENT_TYPES: dict[str, str] = {ALLOWED_TYPES[name]: EXTENSIONS[name] for name in ALLOWED_TYPES}
"""The types an export holds -> the extension of the original's file in it."""

_IMAGE_ID = re.compile(r"[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One checked record: what may be imported, and where its original sits in the export."""

    position: int
    record: dict[str, Any]
    original: str

    @property
    def label(self) -> str:
        return self.original


@dataclass(slots=True)
class Checked:
    """A manifest's records: those fit to import, and those refused with the reason."""

    entries: list[Entry] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    reassigned: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a manifest says: its format, its image records (unchecked), and how many
    albums ``albums.json`` holds (``None`` for format 1, which has no albums), and whether
    it holds the site's settings (``site.json``)."""

    format: int
    images: list[Any]
    albums: int | None
    site: bool = False


def parse(raw: bytes) -> Manifest:
    """A manifest's bytes, read.

    Raises:
        BadRequest: larger than :data:`MAX_MANIFEST_BYTES`, not JSON, not of one of
            :data:`FORMATS`, or without a list of images (or, in format 2, a count of albums).
    """
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BadRequest(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES // 2**20} MiB.")
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"{MANIFEST} is damaged: {err}.") from None
    if not isinstance(manifest, dict) or type(manifest.get("format")) is not int \
            or manifest["format"] not in FORMATS:
        raise BadRequest(f"{MANIFEST} is not an export of format "
                         f"{' or '.join(map(str, FORMATS))}.")
    images = manifest.get("images")
    if not isinstance(images, list):
        raise BadRequest(f"{MANIFEST} has no list of images.")
    if len(images) > MAX_RECORDS:
        raise BadRequest(f"{MANIFEST} lists more than {MAX_RECORDS} images.")
    albums = None
    if manifest["format"] >= 2:
        albums = manifest.get("albums")
        if type(albums) is not int or albums < 0:
            raise BadRequest(f"{MANIFEST} does not say how many albums the export holds.")
    return Manifest(manifest["format"], images, albums, manifest.get("site") is True)


def _text(record: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} is not text")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if "\x00" in value or (name != "description" and _CONTROL.search(value)):
        raise ValueError(f"{name} holds control characters")
    return value


def check_record(raw: Any) -> dict[str, Any]:
    """The importable fields of one manifest record, each checked.

    Raises:
        ValueError: a field is missing, of the wrong type, too long or malformed
            (the message names it).
    """
    if not isinstance(raw, dict):
        raise ValueError("the record is not an object")
    image_id = raw.get("id")
    if not isinstance(image_id, str) or not _IMAGE_ID.fullmatch(image_id):
        raise ValueError("id is not an image id (32 lowercase hexadecimal digits)")
    created_at = raw.get("created_at")
    if not is_timestamp(created_at):
        raise ValueError("created_at is not a time like 2026-11-21T08:30:00.123Z")
    content_type = raw.get("content_type")
    if content_type not in CONTENT_TYPES:
        raise ValueError(f"content_type is not one of {', '.join(CONTENT_TYPES)}")
    uploaded_by = _text(raw, "uploaded_by", MAX_USERNAME, required=True).strip()
    if not uploaded_by:
        raise ValueError("uploaded_by is empty")
    return {
        "id": image_id,
        "created_at": created_at,
        "content_type": content_type,
        "uploaded_by": uploaded_by,
        "filename": _text(raw, "filename", MAX_FILENAME),
        "title": _text(raw, "title", MAX_TITLE),
        "description": _text(raw, "description", MAX_DESCRIPTION),
    }


def original_name(record: dict[str, Any]) -> str:
    """Where a checked record's original sits inside an export."""
    return f"originals/{record['id']}.{CONTENT_TYPES[record['content_type']]}"


def check(images: list[Any], account: Callable[[str], str | None], fallback: str | None
          ) -> Checked:
    """Check every record; map uploaders without an account to ``fallback``.

    ``account`` gives the account name for an uploader (``None`` when there is
    none). A record whose uploader has no account goes to ``fallback`` (and is
    listed in ``reassigned``), or is refused when there is no fallback. A second
    record with an id already seen is refused.
    """
    out = Checked()
    seen: set[str] = set()
    for position, raw in enumerate(images, 1):
        where = f"record {position}"
        try:
            record = check_record(raw)
        except ValueError as err:
            out.rejected.append((where, f"{err}; the record was not imported"))
            continue
        name = original_name(record)
        if record["id"] in seen:
            out.rejected.append((name, "the manifest lists this id twice"))
            continue
        seen.add(record["id"])
        owner = account(record["uploaded_by"])
        if owner is None:
            if not fallback:
                out.rejected.append((name, f"the uploader {record['uploaded_by']!r} has no "
                                           "account; create it, or import with --as USER"))
                continue
            out.reassigned.append((name, record["uploaded_by"], fallback))
            owner = fallback
        record["uploaded_by"] = owner
        out.entries.append(Entry(position, record, name))
    return out
