"""Figures about the gallery: counts, bytes by kind, uploads per day, the largest images."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gallery.audit import AuditEntry, AuditLog
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage

KINDS = ("originals", "variants", "metadata", "index", "other")
DAYS = 30
LARGEST = 10


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

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_kind.values())

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
        }


def kind_of(key: str, keys: Keys) -> str:
    """Which of :data:`KINDS` an object under the prefix counts as."""
    if key == keys.index or key.startswith(keys.catalog_prefix):
        return "index"
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


def gather(
    storage: Storage, keys: Keys, images: Images, audit: AuditLog, now: datetime
) -> Stats:
    """Read the catalog's rows and one listing of the prefix and sum them up.

    Raises:
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    root, version = images.catalog.read_root()
    view = images.view()
    rows = view.rows()
    sizes = dict.fromkeys(KINDS, 0)
    for info in storage.list(keys.prefix):
        sizes[kind_of(info.key, keys)] += info.size
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
    )
