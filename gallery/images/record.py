"""Typed image records: what the catalog and ``meta.json`` hold about one image.

A record is stored lean: optional fields are left out when they hold their
default. :meth:`ImageRecord.public` is the full form the pages and the API
show, every optional field filled in::

    id, filename, content_type, format, size, width, height, sha256,
    upload_sha256 (only when the stored bytes differ from the uploaded ones),
    created_at ("2026-11-21T08:30:00.123Z"), uploaded_by, title,
    description (only when not empty), frames, animated (only when true),
    placeholder ("#rrggbb"), gps_removed (only when true),
    variants {name: {"w", "h", "size", "sha256"}}, rev (edit count, only after an edit)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gallery.clock import is_timestamp
from gallery.keys import is_image_id

#: The longest title and description an image may have (uploads, edits, imports).
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
TEXT_LIMITS: Mapping[str, int] = {"title": MAX_TITLE, "description": MAX_DESCRIPTION}
#: The fields people edit.
EDITABLE = tuple(TEXT_LIMITS)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COLOUR = re.compile(r"#[0-9a-f]{6}")
_VARIANT = re.compile(r"[a-z0-9]{1,16}")


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a SHA-256 as 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def sort_key(created_at: str, image_id: str) -> str:
    """The catalog's order of images: by upload time, then id (both fixed width)."""
    return f"{created_at}|{image_id}"


def _text(value: Any, name: str, limit: int = 10_000) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"bad {name}")
    return value


def _count(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"bad {name}")
    return value


@dataclass(frozen=True, slots=True)
class Variant:
    """One stored thumbnail of an image (always WebP)."""

    name: str
    width: int
    height: int
    size: int
    sha256: str

    @classmethod
    def from_json(cls, name: str, value: Any) -> Variant:
        """Raises: ValueError: not a variant record."""
        if not isinstance(value, dict) or not _VARIANT.fullmatch(name):
            raise ValueError("bad variant")
        sha = value.get("sha256")
        if not is_sha256(sha):
            raise ValueError("bad variant sha256")
        return cls(name, _count(value.get("w"), "variant width"),
                   _count(value.get("h"), "variant height"),
                   _count(value.get("size"), "variant size"), sha)

    def to_json(self) -> dict[str, Any]:
        return {"w": self.width, "h": self.height, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """Everything the gallery knows about one stored image. Immutable: change with
    :meth:`with_changes`."""

    id: str
    filename: str
    content_type: str
    format: str
    size: int
    width: int
    height: int
    sha256: str
    created_at: str
    uploaded_by: str
    title: str
    description: str = ""
    upload_sha256: str | None = None
    frames: int = 1
    animated: bool = False
    placeholder: str | None = None
    gps_removed: bool = False
    variants: tuple[Variant, ...] = ()
    rev: int = 0

    # -- reading and writing JSON -------------------------------------------------

    @classmethod
    def from_json(cls, value: Any, image_id: str | None = None) -> ImageRecord:
        """Validate a stored record (from the catalog or ``meta.json``).

        Raises:
            ValueError: it is not a record (of this image, when ``image_id`` is given).
        """
        if not isinstance(value, dict):
            raise ValueError("not an image record")
        rid = value.get("id")
        if not is_image_id(rid) or (image_id is not None and rid != image_id):
            raise ValueError("the record belongs to another image" if is_image_id(rid)
                             else "bad image id")
        created_at = value.get("created_at")
        if not is_timestamp(created_at):
            raise ValueError("bad created_at")
        sha = value.get("sha256")
        upload_sha = value.get("upload_sha256")
        if not is_sha256(sha) or (upload_sha is not None and not is_sha256(upload_sha)):
            raise ValueError("bad sha256")
        variants = value.get("variants", {})
        if not isinstance(variants, dict):
            raise ValueError("bad variants")
        placeholder = value.get("placeholder")
        if placeholder is not None and not (isinstance(placeholder, str)
                                            and _COLOUR.fullmatch(placeholder)):
            placeholder = None
        return cls(
            id=rid,
            filename=_text(value.get("filename"), "filename", 1000),
            content_type=_text(value.get("content_type"), "content_type", 100),
            format=_text(value.get("format", ""), "format", 32),
            size=_count(value.get("size"), "size"),
            width=_count(value.get("width"), "width"),
            height=_count(value.get("height"), "height"),
            sha256=sha,
            created_at=created_at,
            uploaded_by=_text(value.get("uploaded_by"), "uploaded_by", 1000),
            title=_text(value.get("title"), "title", MAX_TITLE),
            description=_text(value.get("description", ""), "description", MAX_DESCRIPTION),
            upload_sha256=upload_sha if upload_sha != sha else None,
            frames=_count(value.get("frames", 1), "frames"),
            animated=value.get("animated") is True,
            placeholder=placeholder,
            gps_removed=value.get("gps_removed") is True,
            variants=tuple(Variant.from_json(n, v) for n, v in variants.items()),
            rev=_count(value.get("rev", 0), "rev"),
        )

    def to_json(self) -> dict[str, Any]:
        """The lean stored form (defaults left out)."""
        out: dict[str, Any] = {
            "id": self.id, "filename": self.filename, "content_type": self.content_type,
            "format": self.format, "size": self.size, "width": self.width,
            "height": self.height, "sha256": self.sha256,
        }
        if self.upload_sha256:
            out["upload_sha256"] = self.upload_sha256
        out["created_at"] = self.created_at
        out["uploaded_by"] = self.uploaded_by
        out["title"] = self.title
        if self.description:
            out["description"] = self.description
        out["frames"] = self.frames
        if self.animated:
            out["animated"] = True
        if self.placeholder:
            out["placeholder"] = self.placeholder
        if self.gps_removed:
            out["gps_removed"] = True
        out["variants"] = {v.name: v.to_json() for v in self.variants}
        if self.rev:
            out["rev"] = self.rev
        return out

    def public(self) -> dict[str, Any]:
        """The full form pages and the API show: every optional field filled in."""
        out = self.to_json()
        out.setdefault("description", "")
        out.setdefault("animated", False)
        out.setdefault("gps_removed", False)
        out.setdefault("placeholder", None)
        return out

    # -- facts ----------------------------------------------------------------------

    @property
    def key(self) -> str:
        """Where the record sorts in the catalog (see :func:`sort_key`)."""
        return sort_key(self.created_at, self.id)

    @property
    def hashes(self) -> frozenset[str]:
        """The SHA-256 of the stored bytes and, when different, of the bytes as uploaded."""
        return frozenset(h for h in (self.sha256, self.upload_sha256) if h)

    @property
    def name(self) -> str:
        """What lists show as the image's name: its title, else its filename."""
        return self.title or self.filename

    def variant(self, name: str) -> Variant | None:
        """The thumbnail called ``name``, if the image has it."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        return None

    def with_changes(self, **changes: Any) -> ImageRecord:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def with_variants(self, made: Mapping[str, Variant]) -> ImageRecord:
        """A copy whose thumbnails include ``made`` (replacing those of the same name)."""
        kept = [v for v in self.variants if v.name not in made]
        return replace(self, variants=tuple(sorted([*kept, *made.values()],
                                                   key=lambda v: v.name)))


def check_texts(changes: Any) -> dict[str, str]:
    """The editable fields of ``changes``, stripped and checked against the limits.

    Raises:
        ValueError: with a message for people: an unknown field, a value that
            is not a string, or one that is too long.
    """
    if not isinstance(changes, Mapping):
        raise ValueError("Send the fields to change as an object.")
    texts: dict[str, str] = {}
    for name, value in changes.items():
        if name not in TEXT_LIMITS:
            raise ValueError(f"The field {name!r} cannot be changed; only title and description.")
        if not isinstance(value, str):
            raise ValueError(f"The field {name!r} must be a string.")
        value = value.strip()
        if len(value) > TEXT_LIMITS[name]:
            raise ValueError(
                f"The field {name!r} is too long (at most {TEXT_LIMITS[name]} characters).")
        texts[name] = value
    return texts
