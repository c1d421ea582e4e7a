"""The parts every image use case works with, built once per gallery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gallery.audit import AuditLog
from gallery.catalog import Catalog, HashIndex
from gallery.catalog.catalog import RECHECK_SECONDS
from gallery.errors import Forbidden, NotFound
from gallery.images.record import ImageRecord
from gallery.images.results import Actor
from gallery.images.store import ImageStore
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.base import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Domain:
    """The bucket, the catalog over it, one image's objects, the upload limits, the clock,
    and the audit log (``None``: changes are not recorded)."""

    storage: Storage
    keys: Keys
    store: ImageStore
    catalog: Catalog
    hashes: HashIndex
    limits: Limits
    clock: Callable[[], datetime]
    audit: AuditLog | None = None
    #: Called with the ids of images once they are deleted (albums forget them).
    deleted_listeners: list[Callable[[list[str]], None]] = field(default_factory=list)
    #: Days a deleted image stays in the trash (``0``: deletes are immediate and final).
    trash_days: int = 0
    #: Called with the ids of images once they are moved to the trash (caches drop them).
    trashed_listeners: list[Callable[[list[str]], None]] = field(default_factory=list)

    def record(self, actor: Actor, action: str, target: str, **details: Any) -> None:
        """Write an audit entry for a change that happened."""
        if self.audit is not None:
            self.audit.record(actor.username, action, target, **details)

    def get(self, image_id: str, *, recent: bool = False) -> ImageRecord:
        """The image's record from the catalog.

        Args:
            recent: a catalog this process checked in the last
                :data:`~gallery.catalog.catalog.RECHECK_SECONDS` will do (no storage
                call in the steady state); an image it does not hold is looked up
                in the current catalog, so a new image is found at once, while a
                deleted one may still be found for that long.

        Raises:
            NotFound, DocumentDamaged, StorageUnavailable.
        """
        record = None
        if recent:
            record = self.catalog.view(max_age=RECHECK_SECONDS).get(image_id)
        if record is None:
            record = self.catalog.view().get(image_id)
        if record is None:
            raise NotFound("There is no such image.")
        return record


def tell_deleted(d: Domain, image_ids: list[str]) -> None:
    """Tell every listener that these images are gone (a failing listener is logged)."""
    _tell(d.deleted_listeners, image_ids, "deleted")


def tell_trashed(d: Domain, image_ids: list[str]) -> None:
    """Tell every listener that these images went to the trash (a failing one is logged)."""
    _tell(d.trashed_listeners, image_ids, "moved to the trash")


def _tell(listeners: list[Callable[[list[str]], None]], image_ids: list[str], what: str) -> None:
    for listener in listeners:
        try:
            listener(image_ids)
        except Exception:
            log.exception("a listener failed after %d image(s) were %s", len(image_ids), what)


def authorize(record: ImageRecord, actor: Actor) -> None:
    """Raises: Forbidden: the actor is neither the uploader nor an admin."""
    if not (actor.is_admin or actor.username == record.uploaded_by):
        raise Forbidden("Only the person who uploaded an image, or an admin, may change it.")
