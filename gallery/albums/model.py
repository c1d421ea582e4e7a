"""Albums and share links as values: what is stored, what is valid, how they are ordered.

An album lists its images by catalog key (``created_at|id``, see
:func:`gallery.images.record.sort_key`): the key never changes for an image,
so an album finds its images' records in the catalog's shards without asking
anyone where they are.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gallery.clock import format_timestamp, is_timestamp, parse_timestamp
from gallery.errors import BadRequest
from gallery.images.record import ImageRecord
from gallery.keys import is_album_id, is_image_id, is_link_id

FORMAT = 1

VISIBILITIES = ("public", "unlisted", "private")
#: How an album's images are ordered: by hand, or by a field of their records.
SORTS = ("manual", "taken_asc", "taken_desc", "uploaded_asc", "uploaded_desc",
         "title_asc", "title_desc")
SORT_LABELS = {
    "manual": "Custom order",
    "taken_asc": "Date taken, oldest first",
    "taken_desc": "Date taken, newest first",
    "uploaded_asc": "Date uploaded, oldest first",
    "uploaded_desc": "Date uploaded, newest first",
    "title_asc": "Title, A to Z",
    "title_desc": "Title, Z to A",
}
VISIBILITY_LABELS = {
    "public": "Public: listed, anyone may view",
    "unlisted": "Unlisted: anyone with its address",
    "private": "Private: signed-in users only",
}

MAX_ALBUM_TITLE = 200
MAX_ALBUM_DESCRIPTION = 5000
#: Images one album may hold (its document stays well under a megabyte).
MAX_ALBUM_IMAGES = 10_000
#: Image ids one request may add, remove or move; more is a 413.
MAX_IDS_PER_CALL = 1_000
MAX_LINK_LABEL = 100
MAX_LINK_PASSWORD = 1024
#: Bytes of randomness in a share link's token (256 bits).
TOKEN_BYTES = 32


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"bad {name}")
    return value


def _stamp(value: Any, name: str) -> str:
    if not is_timestamp(value):
        raise ValueError(f"bad {name}")
    return value


def _optional_stamp(value: Any, name: str) -> str | None:
    return None if value is None else _stamp(value, name)


def item_key(record: ImageRecord) -> str:
    """How an album lists an image."""
    return record.key


def id_of(key: str) -> str:
    """The image id of an album item."""
    return key.rpartition("|")[2]


def _is_item(value: Any) -> bool:
    if not isinstance(value, str) or value.count("|") != 1:
        return False
    created_at, image_id = value.split("|")
    return is_image_id(image_id) and is_timestamp(created_at)


# -- checking what people type ------------------------------------------------------------


def clean_title(value: Any) -> str:
    """An album title as typed, stripped.

    Raises:
        BadRequest: not a string, empty, or longer than :data:`MAX_ALBUM_TITLE`.
    """
    if not isinstance(value, str):
        raise BadRequest("The album title must be text.")
    value = " ".join(value.split())
    if not value:
        raise BadRequest("Give the album a title.")
    if len(value) > MAX_ALBUM_TITLE:
        raise BadRequest(f"The album title is longer than {MAX_ALBUM_TITLE} characters.")
    return value


def clean_description(value: Any) -> str:
    """Raises: BadRequest: not a string, or longer than :data:`MAX_ALBUM_DESCRIPTION`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("The album description must be text.")
    value = value.strip().replace("\r\n", "\n")
    if len(value) > MAX_ALBUM_DESCRIPTION:
        raise BadRequest(
            f"The album description is longer than {MAX_ALBUM_DESCRIPTION} characters.")
    return value


def clean_visibility(value: Any) -> str:
    """Raises: BadRequest: not one of :data:`VISIBILITIES`."""
    if value not in VISIBILITIES:
        raise BadRequest("The visibility must be “public”, “unlisted” or “private”.")
    return value


def clean_sort(value: Any) -> str:
    """Raises: BadRequest: not one of :data:`SORTS`."""
    if value not in SORTS:
        raise BadRequest("The sort must be one of: " + ", ".join(SORTS) + ".")
    return value


def clean_ids(value: Any, what: str = "images") -> list[str]:
    """A list of image ids as sent (duplicates dropped, order kept).

    Raises:
        BadRequest: not a list of strings.
        TooLarge: more than :data:`MAX_IDS_PER_CALL`.
    """
    from gallery.errors import TooLarge

    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"“{what}” must be a list of image ids.")
    if len(value) > MAX_IDS_PER_CALL:
        raise TooLarge(f"Send at most {MAX_IDS_PER_CALL} image ids at a time "
                       f"({len(value)} were sent); split them into several calls.")
    return list(dict.fromkeys(value))


# -- albums -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Album:
    """One album. Immutable: change with :func:`dataclasses.replace`.

    ``items`` are the images' catalog keys in the album's own (manual) order;
    :meth:`ordered` gives them in the order the album is shown in. ``first`` is
    the image shown first when the album was last changed: the cover unless
    one is chosen.
    """

    id: str
    title: str
    owner: str
    created_at: str
    updated_at: str
    visibility: str = "private"
    description: str = ""
    sort: str = "manual"
    cover: str | None = None
    items: tuple[str, ...] = ()
    first: str | None = None

    @classmethod
    def from_json(cls, value: Any, album_id: str | None = None) -> Album:
        """Validate a stored album.

        Raises:
            ValueError: it is not an album (of this id, when ``album_id`` is given).
        """
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError("not an album document")
        aid = value.get("id")
        if not is_album_id(aid) or (album_id is not None and aid != album_id):
            raise ValueError("bad album id")
        items = value.get("items", [])
        if not isinstance(items, list) or not all(_is_item(i) for i in items):
            raise ValueError("bad items")
        cover = value.get("cover")
        first = value.get("first")
        if (cover is not None and not is_image_id(cover)) or (
                first is not None and not is_image_id(first)):
            raise ValueError("bad cover")
        visibility = value.get("visibility")
        sort = value.get("sort", "manual")
        if visibility not in VISIBILITIES or sort not in SORTS:
            raise ValueError("bad visibility or sort")
        return cls(
            id=aid,
            title=_text(value.get("title"), "title", MAX_ALBUM_TITLE),
            description=_text(value.get("description", ""), "description",
                              MAX_ALBUM_DESCRIPTION),
            owner=_text(value.get("owner"), "owner", 1000),
            created_at=_stamp(value.get("created_at"), "created_at"),
            updated_at=_stamp(value.get("updated_at"), "updated_at"),
            visibility=visibility,
            sort=sort,
            cover=cover,
            items=tuple(dict.fromkeys(items)),
            first=first,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "id": self.id, "title": self.title,
            "description": self.description, "visibility": self.visibility,
            "sort": self.sort, "cover": self.cover, "first": self.first,
            "owner": self.owner, "created_at": self.created_at,
            "updated_at": self.updated_at, "items": list(self.items),
        }

    # -- facts ------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def image_ids(self) -> list[str]:
        return [id_of(k) for k in self.items]

    def has(self, image_id: str) -> bool:
        return any(id_of(k) == image_id for k in self.items)

    def count_in(self, present: Container[str]) -> int:
        """How many of the album's images are among ``present`` (image ids: those in
        the catalog, so members in the trash are not counted)."""
        return sum(1 for k in self.items if id_of(k) in present)

    @property
    def cover_id(self) -> str | None:
        """The image shown for the album: the chosen cover, else its first image."""
        if self.cover is not None and self.has(self.cover):
            return self.cover
        return self.first if self.first is not None and self.has(self.first) else (
            id_of(self.items[0]) if self.items else None)

    @property
    def uploaded_range(self) -> tuple[str, str] | None:
        """The first and last upload time of its images, from their keys alone."""
        if not self.items:
            return None
        times = [k.partition("|")[0] for k in self.items]
        return min(times), max(times)

    @property
    def sort_key(self) -> str:
        """Albums are listed newest first by this."""
        return f"{self.created_at}|{self.id}"

    # -- changing ---------------------------------------------------------------------

    def changed(self, now: datetime, **changes: Any) -> Album:
        return replace(self, updated_at=format_timestamp(now), **changes)

    def ordered(self, records: Mapping[str, ImageRecord]) -> list[ImageRecord]:
        """Its images that still exist, in the order the album is shown in."""
        present = [records[i] for i in self.image_ids if i in records]
        return order(present, self.sort)


def taken_or_uploaded(record: ImageRecord) -> str:
    """When a photo was taken, where known, else when it was uploaded: as a UTC
    timestamp that sorts as a string (see :attr:`ImageRecord.taken_sort_key`)."""
    return record.taken_sort_key


def order(records: Sequence[ImageRecord], sort: str) -> list[ImageRecord]:
    """``records`` (in manual order) in the order ``sort`` names; ties keep the manual order."""
    if sort == "manual":
        return list(records)
    field, _, direction = sort.partition("_")
    if field == "taken":
        def by(r: ImageRecord) -> Any:
            return taken_or_uploaded(r)
    elif field == "uploaded":
        def by(r: ImageRecord) -> Any:
            return r.created_at
    else:
        def by(r: ImageRecord) -> Any:
            return ((r.title or r.filename).casefold(), r.created_at)
    return sorted(records, key=by, reverse=direction == "desc")


def moved(items: Sequence[str], moving: Iterable[str], before: str | None) -> tuple[str, ...]:
    """``items`` with the images ``moving`` (ids, in their given order) placed just
    before image ``before`` (an id; ``None``: at the end)."""
    ids = set(moving)
    picked = {id_of(k): k for k in items if id_of(k) in ids}
    block = [picked[i] for i in moving if i in picked]
    rest = [k for k in items if id_of(k) not in ids]
    at = len(rest)
    if before is not None:
        for position, key in enumerate(rest):
            if id_of(key) == before:
                at = position
                break
    return tuple(rest[:at] + block + rest[at:])


# -- share links --------------------------------------------------------------------------


def new_token() -> str:
    """A fresh share-link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def link_id_of(token: str) -> str | None:
    """The id (and object name) of the link a token opens: a hash, so the id tells
    nothing of the token. ``None`` for what cannot be a token."""
    if not isinstance(token, str) or not 16 <= len(token) <= 100 or not token.isascii():
        return None
    if not all(c.isalnum() or c in "-_" for c in token):
        return None
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


def parse_expiry(value: Any, now: datetime) -> str | None:
    """``expires_at`` as sent (ISO 8601 with an offset or ``Z``, or a date), as stored.

    Raises:
        BadRequest: not a time, or not in the future.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest("“expires_at” must be an ISO 8601 time such as 2027-01-31T18:00:00Z.")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "“expires_at” must be an ISO 8601 time such as 2027-01-31T18:00:00Z.") from None
    if moment.tzinfo is None:
        if len(text) == 10:  # a date: the link works through that day (UTC)
            moment = moment.replace(hour=23, minute=59, second=59)
        moment = moment.replace(tzinfo=now.tzinfo)
    if moment <= now:
        raise BadRequest("“expires_at” is in the past; choose a later time.")
    return format_timestamp(moment)


@dataclass(frozen=True, slots=True)
class ShareLink:
    """A share link to one album. The token is kept so the album's managers can copy
    the link again; whoever can read the bucket can read the photos themselves."""

    id: str
    token: str
    album: str
    created_by: str
    created_at: str
    label: str = ""
    password_hash: str | None = None
    expires_at: str | None = None
    allow_download: bool = False
    show_details: bool = False
    revoked_at: str | None = None
    revoked_by: str | None = None

    @classmethod
    def from_json(cls, value: Any, link_id: str | None = None) -> ShareLink:
        """Raises: ValueError: it is not a link (with this id, when given)."""
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError("not a link document")
        lid = value.get("id")
        token = value.get("token")
        if not is_link_id(lid) or link_id_of(token) != lid or (
                link_id is not None and lid != link_id):
            raise ValueError("bad link id or token")
        if not is_album_id(value.get("album")):
            raise ValueError("bad album id")
        password_hash = value.get("password_hash")
        if password_hash is not None:
            _text(password_hash, "password_hash", 500)
        return cls(
            id=lid, token=token, album=value["album"],
            created_by=_text(value.get("created_by"), "created_by", 1000),
            created_at=_stamp(value.get("created_at"), "created_at"),
            label=_text(value.get("label", ""), "label", MAX_LINK_LABEL),
            password_hash=password_hash,
            expires_at=_optional_stamp(value.get("expires_at"), "expires_at"),
            allow_download=value.get("allow_download") is True,
            show_details=value.get("show_details") is True,
            revoked_at=_optional_stamp(value.get("revoked_at"), "revoked_at"),
            revoked_by=value.get("revoked_by") if isinstance(value.get("revoked_by"), str)
            else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "id": self.id, "token": self.token, "album": self.album,
            "label": self.label, "password_hash": self.password_hash,
            "expires_at": self.expires_at, "allow_download": self.allow_download,
            "show_details": self.show_details, "created_by": self.created_by,
            "created_at": self.created_at, "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
        }

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and parse_timestamp(self.expires_at) <= now

    def closed(self, now: datetime) -> str | None:
        """Why the link no longer opens anything, or ``None`` while it does."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expired(now):
            return "expired"
        return None


@dataclass(frozen=True, slots=True)
class Usage:
    """How often a link was opened, and when last (best effort: never the only record of
    anything that matters)."""

    views: int = 0
    last_used_at: str | None = None

    @classmethod
    def from_json(cls, value: Any) -> Usage:
        if not isinstance(value, dict):
            raise ValueError("not a usage record")
        views = value.get("views", 0)
        if type(views) is not int or views < 0 or not math.isfinite(views):
            raise ValueError("bad views")
        return cls(views, _optional_stamp(value.get("last_used_at"), "last_used_at"))

    def to_json(self) -> dict[str, Any]:
        return {"views": self.views, "last_used_at": self.last_used_at}
