"""The image domain as one object: what the web views, the CLI and operations call.

:class:`Images` holds the parts (:class:`~gallery.images.domain.Domain`) and
hands each call to its use case module. Reads return public dicts (see
:meth:`ImageRecord.public`); the typed records are a call away for code that
wants them (:meth:`Images.record`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO

from gallery.audit import AuditLog
from gallery.catalog import Catalog, CatalogView, HashIndex
from gallery.catalog.search_index import ALL_CAMERAS, Cameras
from gallery.catalog.upgrade import upgrader
from gallery.clock import RisingClock
from gallery.errors import NotFound
from gallery.images import backfill as backfilling
from gallery.images import delete as deleting
from gallery.images import edit, read, repair, search, tagging
from gallery.images import trash as trashing
from gallery.images import upload as uploading
from gallery.images.domain import Domain
from gallery.images.record import ImageRecord
from gallery.images.results import Actor, Media, Page, ReindexReport, UploadResult
from gallery.images.store import ImageStore
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.base import Storage


class Images:
    """Every image use case over one bucket.

    Args:
        storage: the bucket.
        keys: builds every object key.
        limits: what an upload may be.
        clock: the current time (default: a clock that rises every call).
        audit: where changes are recorded (``None``: not recorded).
        max_records: split shards above this many records (tests make it small).
        trash_days: how long deleted images stay in the trash (``0``: deletes are final).
    """

    def __init__(self, storage: Storage, keys: Keys, *, limits: Limits,
                 clock: Callable[[], datetime] | None = None, audit: AuditLog | None = None,
                 max_records: int | None = None, trash_days: int = 0) -> None:
        clock = clock or RisingClock()
        store = ImageStore(storage, keys)
        hashes = HashIndex(storage, keys)
        catalog = Catalog(storage, keys, locate=store.created_at,
                          upgrade=upgrader(hashes, clock), max_records=max_records)
        self.d = Domain(storage, keys, store, catalog, hashes, limits, clock, audit,
                        trash_days=max(0, trash_days))

    @property
    def catalog(self) -> Catalog:
        return self.d.catalog

    @property
    def limits(self) -> Limits:
        return self.d.limits

    def on_delete(self, listener: Callable[[list[str]], None]) -> None:
        """Call ``listener`` with the ids of images once they are deleted."""
        self.d.deleted_listeners.append(listener)

    def on_trash(self, listener: Callable[[list[str]], None]) -> None:
        """Call ``listener`` with the ids of images once they are moved to the trash."""
        self.d.trashed_listeners.append(listener)

    @property
    def trash_days(self) -> int:
        """Days a deleted image stays in the trash (``0``: deletes are final)."""
        return self.d.trash_days

    def now(self) -> datetime:
        """The domain's current time (what the trash's keep period is counted against)."""
        return self.d.clock()

    def view(self) -> CatalogView:
        """The catalog as one request sees it (raises DocumentDamaged, StorageUnavailable)."""
        return self.d.catalog.view()

    # -- reading --------------------------------------------------------------------

    def record(self, image_id: str) -> ImageRecord:
        """Raises: NotFound, DocumentDamaged, StorageUnavailable."""
        return self.d.get(image_id)

    def get(self, image_id: str) -> dict[str, Any]:
        """One image's public record. Raises: NotFound, DocumentDamaged, StorageUnavailable."""
        return self.d.get(image_id).public()

    def list_images(self, *, limit: int, cursor: str | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """See :func:`gallery.images.read.list_images`."""
        records, next_cursor = read.list_images(self.d, limit=limit, cursor=cursor)
        return [r.public() for r in records], next_cursor

    def page(self, number: int, per_page: int) -> Page:
        """See :func:`gallery.images.read.page`."""
        return read.page_of(self.d, number, per_page)

    def search(self, query: search.Search, *, limit: int, cursor: str | None = None,
               cameras: Cameras = ALL_CAMERAS) -> tuple[list[dict[str, Any]], str | None]:
        """Images a search finds, by cursor: the catalog's listing when it narrows nothing.
        ``cameras``: whose camera words the words may match.

        See :func:`gallery.images.search.search_after` and :meth:`list_images`.
        """
        if query.plain:
            return self.list_images(limit=limit, cursor=cursor)
        limit = max(1, min(read.MAX_LIMIT, int(limit)))
        records, next_cursor = search.search_after(self.d, query, limit=limit, cursor=cursor,
                                                   cameras=cameras)
        return [r.public() for r in records], next_cursor

    def search_page(self, query: search.Search, number: int, per_page: int, *,
                    cameras: Cameras = ALL_CAMERAS) -> Page:
        """One numbered page of a search (see :func:`gallery.images.search.search_page`)."""
        if query.plain:
            return self.page(number, per_page)
        records, pages, total = search.search_page(self.d, query, number, per_page, cameras)
        return Page([r.public() for r in records], number, pages, total)

    def tags(self, limit: int = 500) -> list[str]:
        """See :func:`gallery.images.search.tags_in_use`."""
        return search.tags_in_use(self.d, limit)

    def media(self, image_id: str, variant: str | None = None) -> Media:
        return read.media(self.d, image_id, variant)

    def local_path(self, media: Media) -> str | None:
        return read.local_path(self.d, media)

    def open_media(self, media: Media) -> BinaryIO:
        return read.open_media(self.d, media)

    # -- changing ---------------------------------------------------------------------

    def upload(self, data: bytes, filename: str, *, uploaded_by: str, title: str | None = None,
               description: str = "", tags: Sequence[str] = (),
               created_at: datetime | None = None) -> UploadResult:
        """See :func:`gallery.images.upload.upload_one`."""
        return uploading.upload_one(self.d, data, filename, uploaded_by=uploaded_by,
                                    title=title, description=description, tags=tags,
                                    created_at=created_at)

    def batch(self, on_result: Callable[[Any, uploading.Verdict], None], *,
              size: int = uploading.BATCH_FILES,
              seconds: float = uploading.BATCH_SECONDS) -> uploading.UploadBatch:
        """Uploads and imports whose catalog writes are grouped (see :class:`UploadBatch`)."""
        return uploading.UploadBatch(self.d, on_result, size=size, seconds=seconds)

    def import_record(self, data: bytes, record: Mapping[str, Any]) -> UploadResult:
        """See :func:`gallery.images.upload.import_one`."""
        return uploading.import_one(self.d, data, record)

    def update(self, image_id: str, changes: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
        """See :func:`gallery.images.edit.update`."""
        return edit.update(self.d, image_id, changes, actor=actor).public()

    def change_tags(self, ids: Iterable[object], *, add: Sequence[str] = (),
                    remove: Sequence[str] = (), actor: Actor) -> tagging.TagsChanged:
        """See :func:`gallery.images.tagging.change_tags`."""
        return tagging.change_tags(self.d, ids, add=add, remove=remove, actor=actor)

    def delete(self, image_id: str, *, actor: Actor) -> None:
        deleting.delete(self.d, image_id, actor=actor)

    def delete_many(self, ids: Iterable[str], *, actor: Actor) -> list[str]:
        return deleting.delete_many(self.d, ids, actor=actor)

    def finish_delete(self, records: list[ImageRecord]) -> list[str]:
        """See :func:`gallery.images.delete.finish_delete`."""
        return deleting.finish_delete(self.d, records)

    # -- the trash ---------------------------------------------------------------------------

    def trash(self, *, actor: Actor | None = None) -> list[trashing.TrashEntry]:
        """See :func:`gallery.images.trashing.entries`."""
        return trashing.entries(self.d, actor=actor)

    def trash_ids(self) -> set[str]:
        """See :func:`gallery.images.trashing.trashed_ids`."""
        return trashing.trashed_ids(self.d)

    def trash_entry(self, image_id: str, *, actor: Actor | None = None
                    ) -> trashing.TrashEntry | None:
        """One image of the trash (that ``actor``, when given, may restore), or ``None``.

        Raises: DocumentDamaged, StorageUnavailable.
        """
        if actor is None:
            return trashing.read_entry(self.d, image_id)
        try:
            return trashing.get(self.d, image_id, actor=actor)
        except NotFound:
            return None

    def restore(self, image_id: str, *, actor: Actor) -> dict[str, Any]:
        """See :func:`gallery.images.trashing.restore`."""
        return trashing.restore(self.d, image_id, actor=actor).public()

    def restore_many(self, ids: Iterable[str], *, actor: Actor
                     ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """See :func:`gallery.images.trashing.restore_many`."""
        restored, refused = trashing.restore_many(self.d, ids, actor=actor)
        return [r.public() for r in restored], refused

    def purge(self, ids: Iterable[str], *, actor: Actor) -> list[str]:
        """See :func:`gallery.images.trashing.purge_ids`."""
        return trashing.purge_ids(self.d, ids, actor=actor)

    def empty_trash(self, *, actor: Actor, older_than: int | None = None) -> list[str]:
        """See :func:`gallery.images.trashing.empty`."""
        return trashing.empty(self.d, actor=actor, older_than=older_than)

    def expired_trash(self, now: datetime | None = None) -> list[trashing.TrashEntry]:
        """See :func:`gallery.images.trashing.expired`."""
        return trashing.expired(self.d, now)

    def purge_expired(self, *, actor: Actor, now: datetime | None = None) -> list[str]:
        """See :func:`gallery.images.trashing.purge_expired`."""
        return trashing.purge_expired(self.d, actor=actor, now=now)

    # -- repairs ------------------------------------------------------------------------

    def adopt(self, image_ids: Iterable[str], *, workers: int = 8) -> tuple[list[str], list[str]]:
        return repair.adopt(self.d, image_ids, workers=workers)

    def restore_variants(self, image_id: str) -> list[str]:
        return repair.restore_variants(self.d, image_id)

    def restore_meta(self, image_id: str) -> bool:
        return repair.restore_meta(self.d, image_id)

    def sync_meta(self, image_id: str) -> bool:
        return repair.sync_meta(self.d, image_id)

    def meta_behind(self, record: ImageRecord) -> bool:
        return repair.meta_behind(self.d, record)

    def reindex(self, *, workers: int = 8) -> ReindexReport:
        return repair.reindex(self.d, workers=workers)

    def backfill(self, *, batch: int = backfilling.BATCH, workers: int = 8,
                 progress: backfilling.Progress | None = None) -> backfilling.BackfillReport:
        """Camera details and the date taken for images stored without them
        (see :mod:`gallery.images.backfill`)."""
        return backfilling.backfill(self.d, batch=batch, workers=workers, progress=progress)


__all__ = ["Actor", "Images", "Media", "Page", "ReindexReport", "UploadResult"]
