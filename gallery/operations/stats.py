"""Figures about the gallery: counts, bytes by kind, uploads per day, the largest images,
albums and share links."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gallery.albums import Albums, Links
from gallery.audit import AuditEntry, AuditLog
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage

KINDS = ("originals", "variants", "metadata", "index", "albums", "other")
#: The states a share link is counted in: it opens its album; it is past its expiry;
#: it was revoked; its album was deleted (and it was neither revoked nor expired).
LINK_STATES = ("active", "expired", "revoked", "album deleted")
DAYS = 30
LARGEST = 10


@dataclass(frozen=True, slots=True)
class CacheFigures:
    """The media cache of this machine (see :mod:`gallery.media_cache`).

    Attributes:
        folder: where its entries are.
        entries: how many originals and thumbnails it holds.
        bytes: what they take.
        budget: the most it keeps (``GALLERY_CACHE_BYTES``).
    """

    folder: str
    entries: int
    bytes: int
    budget: int

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "entries": self.entries, "bytes": self.bytes,
                "budget": self.budget}


@dataclass(frozen=True, slots=True)
class Stats:
    """What the admin overview and ``gallery stats`` show.

    Attributes:
        image_count: images in the index.
        bytes_by_kind: stored bytes under the prefix, by :data:`KINDS`.
        by_content_type: content type -> number of images.
        per_day: ``(YYYY-MM-DD, uploads)`` for the last 30 days, oldest first,
            days without uploads included.
        largest: the records of the 10 largest originals, largest first.
        backend: ``file``, ``memory``, ``gcs`` or ``replit``.
        location: the folder or bucket (never credentials).
        index_version: the stored version of ``index.json`` (``None``: none yet).
        last_rebuild: when ``reindex`` last rebuilt the index, if ever.
        audit: the 10 latest audit entries, newest first.
        album_count: albums.
        images_in_albums: images of the gallery that are in at least one album.
        links: share links by state (:data:`LINK_STATES`, each always present).
        damaged: keys of album and link documents that cannot be read (not counted).
        cache: this machine's media cache, where there is one.
        trash_count: images in the trash (not counted in ``image_count``).
        trash_bytes: what the objects of the images in the trash take (part of
            ``bytes_by_kind``), freed when the trash is emptied.
    """

    image_count: int
    bytes_by_kind: dict[str, int]
    by_content_type: dict[str, int]
    per_day: list[tuple[str, int]]
    largest: list[dict[str, Any]]
    backend: str
    location: str
    index_version: str | None
    last_rebuild: str | None
    audit: list[AuditEntry] = field(default_factory=list)
    album_count: int = 0
    images_in_albums: int = 0
    links: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LINK_STATES, 0))
    damaged: list[str] = field(default_factory=list)
    cache: CacheFigures | None = None
    trash_count: int = 0
    trash_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_kind.values())

    @property
    def link_count(self) -> int:
        return sum(self.links.values())

    def lines(self) -> list[str]:
        """The figures as text for people (what ``gallery stats`` prints)."""
        out = [
            f"Images: {self.image_count}",
            f"Storage: {self.backend} at {self.location}",
            f"Bytes: {self.total_bytes} in all; " + ", ".join(
                f"{kind} {size}" for kind, size in self.bytes_by_kind.items()),
        ]
        if self.by_content_type:
            out.append("Types: " + ", ".join(
                f"{kind} {count}" for kind, count in self.by_content_type.items()))
        recent = sum(count for _, count in self.per_day)
        out.append(f"Uploads in the last {len(self.per_day)} days: {recent}")
        out.append(f"Trash: {self.trash_count} image{'' if self.trash_count == 1 else 's'}, "
                   f"{self.trash_bytes} bytes")
        out.append(f"Albums: {self.album_count}, holding {self.images_in_albums} of the images")
        out.append(f"Share links: {self.link_count}; " + ", ".join(
            f"{state} {count}" for state, count in self.links.items()
            if count or state != "album deleted"))
        if self.damaged:
            out.append(f"Damaged, not counted (run `gallery doctor`): {', '.join(self.damaged)}")
        if self.cache is not None:
            count = self.cache.entries
            out.append(f"Media cache: {count} {'entry' if count == 1 else 'entries'}, "
                       f"{self.cache.bytes} bytes "
                       f"of at most {self.cache.budget}, in {self.cache.folder}")
        out.append(f"Index version: {self.index_version or 'none yet'}; "
                   f"last rebuilt: {self.last_rebuild or 'never'}")
        out += [f"Large: {record['id']}  {record['size']} bytes  {record['filename']}"
                for record in self.largest[:3]]
        out += [f"Audit: {entry.at}  {entry.actor}  {entry.action}  {entry.target}".rstrip()
                for entry in self.audit]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "image_count": self.image_count,
            "bytes_by_kind": dict(self.bytes_by_kind),
            "total_bytes": self.total_bytes,
            "by_content_type": dict(self.by_content_type),
            "per_day": [list(day) for day in self.per_day],
            "largest": self.largest,
            "backend": self.backend,
            "location": self.location,
            "index_version": self.index_version,
            "last_rebuild": self.last_rebuild,
            "audit": [entry.to_json() for entry in self.audit],
            "album_count": self.album_count,
            "images_in_albums": self.images_in_albums,
            "links": dict(self.links),
            "link_count": self.link_count,
            "damaged": list(self.damaged),
            "cache": self.cache.to_json() if self.cache is not None else None,
            "trash_count": self.trash_count,
            "trash_bytes": self.trash_bytes,
        }


def kind_of(key: str, keys: Keys) -> str:
    """Which of :data:`KINDS` an object under the prefix counts as."""
    if key == keys.index or key.startswith(keys.catalog_prefix):
        return "index"
    if key.startswith((keys.albums_prefix, keys.links_prefix)):
        return "albums"
    if key.startswith(keys.trash_prefix):
        return "metadata"
    image_id = keys.image_id_of(key)
    if image_id is None:
        return "other"
    name = key[len(keys.image_prefix(image_id)):]
    if name == "original":
        return "originals"
    if name == "meta.json":
        return "metadata"
    if name.endswith(".webp") and "/" not in name:
        return "variants"
    return "other"


def backend_name(storage: Storage) -> str:
    """The short name of the backend (``file``, ``memory``, ``gcs``, ``replit``)."""
    return storage.scheme or type(storage).__name__


def location_of(storage: Storage) -> str:
    """The folder or bucket the objects live in, as the backend says it; never a credential."""
    return storage.location


def per_day(created: list[str], today: datetime, days: int = DAYS) -> list[tuple[str, int]]:
    """Uploads per UTC day over the ``days`` days up to ``today``, oldest first."""
    counts = Counter(stamp[:10] for stamp in created)
    first = today.date() - timedelta(days=days - 1)
    labels = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    return [(label, counts.get(label, 0)) for label in labels]


def album_figures(albums: Albums, links: Links, keys: Keys, present: set[str], now: datetime,
                  damaged: list[str]) -> tuple[int, int, dict[str, int]]:
    """Albums, how many of the images ``present`` are in one, and share links by state.

    Damaged documents are left out and their keys added to ``damaged``.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    bad_albums: list[str] = []
    bad_links: list[str] = []
    shelved = [album for _, album in albums.shelf.all(damaged=bad_albums).values()]
    in_albums = {i for album in shelved for i in album.image_ids if i in present}
    album_ids = {album.id for album in shelved} | set(bad_albums)
    states = dict.fromkeys(LINK_STATES, 0)
    for _, link in links.shelf.all(damaged=bad_links).values():
        if link.revoked_at is not None:
            states["revoked"] += 1
        elif link.expired(now):
            states["expired"] += 1
        elif link.album not in album_ids:
            states["album deleted"] += 1
        else:
            states["active"] += 1
    damaged += [keys.album(name) for name in sorted(bad_albums)]
    damaged += [keys.link(name) for name in sorted(bad_links)]
    return len(shelved), len(in_albums), states


def gather(
    storage: Storage, keys: Keys, images: Images, audit: AuditLog, now: datetime,
    albums: Albums | None = None, links: Links | None = None,
) -> Stats:
    """Read the catalog's rows, one listing of the prefix, and the albums and links,
    and sum them up.

    Raises:
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    root, version = images.catalog.read_root()
    view = images.view()
    rows = view.rows()
    damaged: list[str] = []
    album_count, in_albums, links_by_state = (
        album_figures(albums, links, keys, {r.id for r in rows}, now, damaged)
        if albums is not None and links is not None
        else (0, 0, dict.fromkeys(LINK_STATES, 0)))
    sizes = dict.fromkeys(KINDS, 0)
    trashed: set[str] = set()
    by_image: Counter[str] = Counter()
    for info in storage.list(keys.prefix):
        sizes[kind_of(info.key, keys)] += info.size
        trashed_id = keys.trash_id_of(info.key)
        if trashed_id is not None:
            trashed.add(trashed_id)
        image_id = keys.image_id_of(info.key)
        if image_id is not None:
            by_image[image_id] += info.size
    largest = sorted(rows, key=lambda r: (-r.size, r.id))[:LARGEST]
    return Stats(
        image_count=len(rows),
        bytes_by_kind=sizes,
        by_content_type=dict(Counter(r.content_type for r in rows).most_common()),
        per_day=per_day([r.created_at for r in rows], now),
        largest=[record.public() for record in (view.get(r.id) for r in largest) if record],
        backend=backend_name(storage),
        location=location_of(storage),
        index_version=version,
        last_rebuild=root.extra.get("rebuilt_at") if root is not None else None,
        audit=audit.latest(10),
        album_count=album_count,
        images_in_albums=in_albums,
        links=links_by_state,
        damaged=damaged,
        trash_count=len(trashed),
        trash_bytes=sum(by_image[i] for i in trashed),
    )
