"""Every object key the gallery uses is built here, and only here.

Keys never contain anything a user typed: image ids are UUIDs the app made,
variant names come from a fixed list. ``GALLERY_PREFIX`` namespaces them all.
Every key is in the storage port's alphabet (see
:func:`gallery.storage.base.check_key`): segments of lower case letters,
digits, ``.``, ``_`` and ``-``, not starting with ``.``, at most 128 characters,
joined by ``/``; 512 characters in all, of which the prefix takes at most
:data:`MAX_PREFIX`. New keys are plain lower case words and ids, so they fit.

Layout under the prefix::

    index.json                  the catalog's root: names the shards (see docs/catalog.md)
    catalog/shards/<name>.json  one shard: the records of a range of upload times
    catalog/hashes/<xxx>.json   content hash -> image id, for hashes starting with xxx
    catalog/search/<name>.json  a search pack: what search reads of many shards (derived)
    catalog/index-v1.json       the single index of earlier releases, kept when upgraded
    users.json                  accounts and API tokens (hashed)
    users.backup.json           a second copy of users.json, written after each change
    secret_key                  the generated session key
    site.json                   the site's settings: title, about page, home page ...
    setup_code                  the one-time set-up code, while no account exists
    images/<id>/original        the stored original
    images/<id>/meta.json       the image's own record (reindex reads these)
    images/<id>/deleted.json    written before a delete starts: the image is going
    images/<id>/<variant>.webp  thumbnails
    trash/<id>.json             an image in the trash: its record, when and by whom
    audit/<inverted time>-<uuid>.json  the audit log, newest first in a listing
    doctor/<uuid>               a short-lived probe written by ``gallery doctor``
    throttle/<hash>.json        failed sign-in counters
    albums/<id>.json            one album: its texts, settings and ordered image keys
    links/<id>.json             one share link (``id`` is a hash of its token)
    links/<id>.usage.json       how often and when a share link was last opened
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gallery.storage.base import SEGMENT, check_key

_IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")
_VARIANT = re.compile(r"^[a-z0-9]{1,16}$")
_SHARD = re.compile(r"^[0-9a-f]{32}$")
_ALBUM_ID = re.compile(r"^[0-9a-f]{32}$")
_LINK_ID = re.compile(r"^[0-9a-f]{32}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Audit keys count microseconds down from here (the year 5138), so newer sorts first.
_AUDIT_END = 10**17
_MICROSECOND = timedelta(microseconds=1)
#: The longest ``GALLERY_PREFIX`` (its ``/`` included), leaving the rest of a key room.
MAX_PREFIX = 256


def check_prefix(text: str) -> str:
    """``text`` as a key prefix: ``""``, or segments of the key alphabet joined and ended
    by ``/`` (surrounding ``/`` and spaces are dropped first).

    Raises:
        ValueError: a segment is outside the alphabet, or the prefix is too long.
    """
    prefix = text.strip().strip("/")
    if not prefix:
        return ""
    if len(prefix) >= MAX_PREFIX or not all(SEGMENT.fullmatch(p) for p in prefix.split("/")):
        raise ValueError(
            "expected lower case letters, digits, '.', '_' and '-' in parts joined by '/', "
            f"not starting with '.', at most {MAX_PREFIX - 1} characters, such as 'gallery' "
            "or 'sites/photos'"
        )
    return prefix + "/"


def new_image_id() -> str:
    """A fresh image id: a random UUID as 32 lowercase hex digits."""
    return uuid.uuid4().hex


def is_image_id(value: str) -> bool:
    """Whether ``value`` has the shape of an image id (anything else is a 404)."""
    return isinstance(value, str) and bool(_IMAGE_ID.match(value))


def new_album_id() -> str:
    """A fresh album id: a random UUID as 32 lowercase hex digits."""
    return uuid.uuid4().hex


def is_album_id(value: object) -> bool:
    """Whether ``value`` has the shape of an album id."""
    return isinstance(value, str) and bool(_ALBUM_ID.fullmatch(value))


def is_link_id(value: object) -> bool:
    """Whether ``value`` has the shape of a share link's id."""
    return isinstance(value, str) and bool(_LINK_ID.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Keys:
    """Builds keys under one prefix (``""`` or ending with ``/``)."""

    prefix: str = ""

    def __post_init__(self) -> None:
        if self.prefix and check_prefix(self.prefix) != self.prefix:
            raise ValueError(f"not a key prefix: {self.prefix!r}")

    def _key(self, rest: str) -> str:
        return check_key(self.prefix + rest)

    @property
    def index(self) -> str:
        return self._key("index.json")

    @property
    def catalog_prefix(self) -> str:
        return self.prefix + "catalog/"

    @property
    def shards_prefix(self) -> str:
        return self.prefix + "catalog/shards/"

    def shard(self, name: str) -> str:
        return self._catalog_document("shards", name, "shard")

    def shard_name_of(self, key: str) -> str | None:
        """The shard a key under ``catalog/shards/`` holds, or ``None``."""
        return self._catalog_name_of(self.shards_prefix, key)

    @property
    def search_packs_prefix(self) -> str:
        return self.prefix + "catalog/search/"

    def search_pack(self, name: str) -> str:
        """A search pack (see :mod:`gallery.catalog.search_packs`); named as shards are."""
        return self._catalog_document("search", name, "search pack")

    def search_pack_name_of(self, key: str) -> str | None:
        """The search pack a key under ``catalog/search/`` is, or ``None``."""
        return self._catalog_name_of(self.search_packs_prefix, key)

    def _catalog_document(self, folder: str, name: str, what: str) -> str:
        if not _SHARD.match(name):
            raise ValueError(f"bad {what} name {name!r}")
        return self._key(f"catalog/{folder}/{name}.json")

    @staticmethod
    def _catalog_name_of(prefix: str, key: str) -> str | None:
        if not key.startswith(prefix) or not key.endswith(".json"):
            return None
        name = key[len(prefix):-len(".json")]
        return name if _SHARD.match(name) else None

    def hash_bucket(self, bucket: str) -> str:
        """The object mapping content hashes that start with ``bucket`` (three hex digits)."""
        if not re.fullmatch(r"[0-9a-f]{3}", bucket):
            raise ValueError(f"bad hash bucket {bucket!r}")
        return self._key(f"catalog/hashes/{bucket}.json")

    @property
    def hashes_prefix(self) -> str:
        return self.prefix + "catalog/hashes/"

    @property
    def index_v1_backup(self) -> str:
        """Where an upgraded gallery keeps its old single index."""
        return self._key("catalog/index-v1.json")

    @property
    def users(self) -> str:
        return self._key("users.json")

    @property
    def users_backup(self) -> str:
        return self._key("users.backup.json")

    @property
    def site(self) -> str:
        """The site's settings (:mod:`gallery.site`)."""
        return self._key("site.json")

    @property
    def secret(self) -> str:
        return self._key("secret_key")

    @property
    def setup_code(self) -> str:
        return self._key("setup_code")

    @property
    def images_prefix(self) -> str:
        return self.prefix + "images/"

    @property
    def throttle_prefix(self) -> str:
        return self.prefix + "throttle/"

    @property
    def audit_prefix(self) -> str:
        return self.prefix + "audit/"

    def image_prefix(self, image_id: str) -> str:
        return self.images_prefix + self._id(image_id) + "/"

    def original(self, image_id: str) -> str:
        return self._key(f"images/{self._id(image_id)}/original")

    def meta(self, image_id: str) -> str:
        return self._key(f"images/{self._id(image_id)}/meta.json")

    def tombstone(self, image_id: str) -> str:
        """Marks an image whose delete has begun; it is removed last of all."""
        return self._key(f"images/{self._id(image_id)}/deleted.json")

    @property
    def trash_prefix(self) -> str:
        return self.prefix + "trash/"

    def trash(self, image_id: str) -> str:
        """The trash document of an image moved to the trash (its objects stay in place)."""
        return self._key(f"trash/{self._id(image_id)}.json")

    def trash_id_of(self, key: str) -> str | None:
        """The image a key under ``trash/`` holds, or ``None``."""
        if not key.startswith(self.trash_prefix) or not key.endswith(".json"):
            return None
        name = key[len(self.trash_prefix):-len(".json")]
        return name if is_image_id(name) else None

    def variant(self, image_id: str, name: str) -> str:
        if not _VARIANT.match(name):
            raise ValueError(f"bad variant name {name!r}")
        return self._key(f"images/{self._id(image_id)}/{name}.webp")

    def audit(self, moment: datetime) -> str:
        """A fresh key for an audit entry made at ``moment``.

        The name starts with the microseconds left until a far end date, fixed
        width, so a listing (in key order) yields the newest entries first.
        """
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        micros = (moment - _EPOCH) // _MICROSECOND
        left = max(0, _AUDIT_END - 1 - micros)
        return self._key(f"audit/{left:017d}-{uuid.uuid4().hex}.json")

    @property
    def doctor_prefix(self) -> str:
        return self.prefix + "doctor/"

    def doctor_probe(self) -> str:
        """A fresh key for the object ``gallery doctor`` writes, reads and deletes."""
        return self._key(f"doctor/{uuid.uuid4().hex}")

    def throttle(self, digest: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError("throttle keys take a sha256 hex digest")
        return self._key(f"throttle/{digest}.json")

    @property
    def albums_prefix(self) -> str:
        return self.prefix + "albums/"

    def album(self, album_id: str) -> str:
        if not is_album_id(album_id):
            raise ValueError(f"not an album id: {album_id!r}")
        return self._key(f"albums/{album_id}.json")

    def album_id_of(self, key: str) -> str | None:
        """The album a key under ``albums/`` holds, or ``None``."""
        if not key.startswith(self.albums_prefix) or not key.endswith(".json"):
            return None
        name = key[len(self.albums_prefix):-len(".json")]
        return name if is_album_id(name) else None

    @property
    def links_prefix(self) -> str:
        return self.prefix + "links/"

    def link(self, link_id: str) -> str:
        if not is_link_id(link_id):
            raise ValueError(f"not a link id: {link_id!r}")
        return self._key(f"links/{link_id}.json")

    def link_usage(self, link_id: str) -> str:
        if not is_link_id(link_id):
            raise ValueError(f"not a link id: {link_id!r}")
        return self._key(f"links/{link_id}.usage.json")

    def link_id_of(self, key: str) -> str | None:
        """The link a key under ``links/`` holds (its usage object aside), or ``None``."""
        if not key.startswith(self.links_prefix) or not key.endswith(".json"):
            return None
        name = key[len(self.links_prefix):-len(".json")]
        return name if is_link_id(name) else None

    def image_id_of(self, key: str) -> str | None:
        """The image id a key under ``images/`` belongs to, or ``None``."""
        if not key.startswith(self.images_prefix):
            return None
        head = key[len(self.images_prefix):].split("/", 1)[0]
        return head if is_image_id(head) else None

    @staticmethod
    def _id(image_id: str) -> str:
        if not is_image_id(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        return image_id
