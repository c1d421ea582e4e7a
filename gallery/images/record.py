"""Typed image records: what the catalog and ``meta.json`` hold about one image.

A record is stored lean: optional fields are left out when they hold their
default. :meth:`ImageRecord.public` is the full form the pages and the API
show, every optional field filled in::

    id, filename, content_type, format, size, width, height, sha256,
    upload_sha256 (only when the stored bytes differ from the uploaded ones),
    created_at ("2026-11-21T08:30:00.123Z"), uploaded_by, title,
    description (only when not empty), frames, animated (only when true),
    placeholder ("#rrggbb"), gps_removed (only when true),
    taken_at ("2026-07-14T18:03:12+02:00", or without an offset when the camera
    wrote none; only when known), camera {make, model, lens, focal_length,
    f_number, exposure_time, iso: those known; only when something is},
    tags (only when there are some), variants {name: {"w", "h", "size", "sha256"}},
    rev (edit count, only after an edit)

``public()`` shows ``taken_at`` as null, ``camera`` as ``{}`` and ``tags`` as ``[]``
when unknown.

Tags are kept as typed (stripped, runs of whitespace made one space) and
matched without regard to case: ``Paris`` and ``paris`` are the same tag, and
an image holds it once, spelled as it was first given (see :func:`clean_tags`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from gallery.clock import format_timestamp, is_timestamp
from gallery.keys import is_image_id

#: The longest title and description an image may have (uploads, edits, imports).
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
TEXT_LIMITS: Mapping[str, int] = {"title": MAX_TITLE, "description": MAX_DESCRIPTION}
#: The fields people edit as text (tags are edited too, see :func:`check_changes`).
EDITABLE = tuple(TEXT_LIMITS)
#: The longest tag, and the most tags one image may have.
MAX_TAG = 50
MAX_TAGS = 30

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COLOUR = re.compile(r"#[0-9a-f]{6}")
_VARIANT = re.compile(r"[a-z0-9]{1,16}")
_TAKEN_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                       r"(?:[+-][0-9]{2}:[0-9]{2})?")
_EXPOSURE = re.compile(r"1/[0-9]{1,9}|[0-9]{1,6}(?:\.[0-9]{1,3})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

#: The camera details a record may hold: name -> the check of its value.
CAMERA_TEXT = ("make", "model", "lens")
CAMERA_NUMBERS = ("focal_length", "f_number")
CAMERA_FIELDS = (*CAMERA_TEXT, *CAMERA_NUMBERS, "exposure_time", "iso")
MAX_CAMERA_TEXT = 100
NO_CAMERA: Mapping[str, Any] = MappingProxyType({})


def parse_taken_at(value: object) -> datetime | None:
    """A ``taken_at`` as a datetime (aware when it has an offset); None when it is not one."""
    if not isinstance(value, str) or _TAKEN_AT.fullmatch(value) is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _camera_value(name: str, value: Any) -> Any:
    """``value`` when it is a valid camera detail called ``name``, else None."""
    if name in CAMERA_TEXT:
        ok = (isinstance(value, str) and 0 < len(value) <= MAX_CAMERA_TEXT
              and not _CONTROL.search(value))
    elif name in CAMERA_NUMBERS:
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              and math.isfinite(value) and 0 < value <= 10_000)
    elif name == "exposure_time":
        ok = isinstance(value, str) and _EXPOSURE.fullmatch(value) is not None
    elif name == "iso":
        ok = type(value) is int and 0 < value <= 10_000_000
    else:
        ok = False
    return value if ok else None


def clean_camera(value: Any) -> Mapping[str, Any]:
    """The valid camera details of ``value`` (read-only); anything else is dropped."""
    if not isinstance(value, Mapping) or not value:
        return NO_CAMERA
    kept = {name: value[name] for name in CAMERA_FIELDS
            if name in value and _camera_value(name, value[name]) is not None}
    return MappingProxyType(kept) if kept else NO_CAMERA


def tag_key(tag: str) -> str:
    """What a tag is matched by: case-folded (``Paris``, ``PARIS`` and ``paris`` are one tag)."""
    return tag.casefold()


def clean_tag(value: Any) -> str:
    """One tag as it is kept: stripped, each run of whitespace made one space.

    Raises:
        ValueError: with a message for people: not a string, empty, too long,
            or holding control characters.
    """
    if not isinstance(value, str):
        raise ValueError("Each tag must be a string.")
    if _CONTROL.search(value):
        raise ValueError("A tag may not hold control characters.")
    tag = _SPACES.sub(" ", value).strip()
    if not tag:
        raise ValueError("A tag may not be empty.")
    if len(tag) > MAX_TAG:
        raise ValueError(f"A tag may be at most {MAX_TAG} characters long "
                         f"({tag[:20]!r}... has {len(tag)}).")
    return tag


def clean_tags(value: Any) -> tuple[str, ...]:
    """The tags of a list as they are kept (see :func:`clean_tag`), a tag given twice in
    any case kept once as it was first spelled; empty strings are left out.

    Raises:
        ValueError: with a message for people: not a list of strings, a bad
            tag, or more than :data:`MAX_TAGS` tags.
    """
    if not isinstance(value, list | tuple):
        raise ValueError("Send tags as a list of strings, e.g. [\"beach\", \"2026\"].")
    if len(value) > MAX_TAGS * 4:
        raise ValueError(f"An image may have at most {MAX_TAGS} tags.")
    kept: dict[str, str] = {}
    for item in value:
        if isinstance(item, str) and not item.strip():
            continue
        tag = clean_tag(item)
        kept.setdefault(tag_key(tag), tag)
    if len(kept) > MAX_TAGS:
        raise ValueError(f"An image may have at most {MAX_TAGS} tags; {len(kept)} were sent.")
    return tuple(kept.values())


def _stored_tags(value: Any) -> tuple[str, ...]:
    """The tags of a stored record (an absent or unreadable list: none)."""
    if value is None:
        return ()
    try:
        return clean_tags(value)
    except ValueError:
        raise ValueError("bad tags") from None


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
    taken_at: str | None = None
    #: Read-only; any mapping given is checked and kept as a read-only copy.
    camera: Mapping[str, Any] = field(default_factory=lambda: NO_CAMERA, hash=False)
    #: As typed, at most :data:`MAX_TAGS`, no two the same in any case (see :func:`clean_tags`).
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.camera, MappingProxyType):
            object.__setattr__(self, "camera", clean_camera(self.camera))

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
            taken_at=value.get("taken_at") if parse_taken_at(value.get("taken_at")) else None,
            camera=clean_camera(value.get("camera")),
            tags=_stored_tags(value.get("tags")),
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
        if self.taken_at:
            out["taken_at"] = self.taken_at
        if self.camera:
            out["camera"] = dict(self.camera)
        if self.tags:
            out["tags"] = list(self.tags)
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
        out.setdefault("taken_at", None)
        out.setdefault("camera", {})
        out.setdefault("tags", [])
        return out

    # -- facts ----------------------------------------------------------------------

    @property
    def key(self) -> str:
        """Where the record sorts in the catalog (see :func:`sort_key`)."""
        return sort_key(self.created_at, self.id)

    @property
    def taken_sort_key(self) -> str:
        """When the photo was taken as a stored UTC timestamp, else when it was uploaded.

        A time with an offset is the instant it names; one without (the camera's
        local time) is taken as if it were UTC. Either way the key has the shape
        of ``created_at``, so taken and uploaded times sort together as strings.
        """
        moment = parse_taken_at(self.taken_at)
        if moment is None:
            return self.created_at
        return format_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def has_tag(self, tag: str) -> bool:
        """Whether the image has ``tag``, in any case."""
        wanted = tag_key(tag)
        return any(tag_key(t) == wanted for t in self.tags)

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


def check_changes(changes: Any) -> dict[str, Any]:
    """The fields of an edit, checked: title and description as :func:`check_texts` does,
    ``tags`` as :func:`clean_tags` does (a tuple).

    Raises:
        ValueError: with a message for people (see :func:`check_texts`, :func:`clean_tags`).
    """
    if not isinstance(changes, Mapping):
        raise ValueError("Send the fields to change as an object.")
    texts: dict[str, Any] = check_texts({k: v for k, v in changes.items() if k != "tags"},
                                        allowed="title, description and tags")
    if "tags" in changes:
        texts["tags"] = clean_tags(changes["tags"])
    return texts


def check_texts(changes: Any, allowed: str = "title and description") -> dict[str, str]:
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
            raise ValueError(f"The field {name!r} cannot be changed; only {allowed}.")
        if not isinstance(value, str):
            raise ValueError(f"The field {name!r} must be a string.")
        value = value.strip()
        if len(value) > TEXT_LIMITS[name]:
            raise ValueError(
                f"The field {name!r} is too long (at most {TEXT_LIMITS[name]} characters).")
        texts[name] = value
    return texts
