"""The objects of one image: original, thumbnails, ``meta.json`` and tombstone.

Every use case reads and writes an image's objects through :class:`ImageStore`
and nothing else does. The catalog holds the record the site shows;
``meta.json`` is the image's own copy of it, which ``gallery reindex`` reads
back; the tombstone (``deleted.json``) says a delete has begun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, BinaryIO

import orjson

from gallery.clock import STORED_TIMESTAMP, format_timestamp
from gallery.documents import JSON_TYPE
from gallery.errors import ObjectNotFound, PreconditionFailed, StorageError
from gallery.images.record import ImageRecord
from gallery.keys import Keys, is_image_id
from gallery.storage.base import ObjectInfo, Storage

log = logging.getLogger(__name__)

ORIGINAL, META, TOMBSTONE = "original", "meta.json", "deleted.json"


class Damaged(ValueError):
    """A ``meta.json`` that is there but cannot be read as this image's record."""


class ImageStore:
    """The objects of every image in one bucket."""

    def __init__(self, storage: Storage, keys: Keys) -> None:
        self.storage = storage
        self.keys = keys

    # -- writing a new image --------------------------------------------------------

    def put_new(self, written: list[str], key: str, data: bytes, content_type: str) -> None:
        """Create ``key``; note it in ``written`` unless it was provably not ours.

        Raises:
            PreconditionFailed: an object has that key already (not ours: never removed).
            StorageUnavailable: the storage did not answer (the write may have landed).
        """
        try:
            self.storage.put(key, data, content_type=content_type, if_absent=True)
        except PreconditionFailed:
            raise
        except Exception:
            written.append(key)  # the write may have landed before the error
            raise
        written.append(key)

    def write_new(self, record: ImageRecord, original: bytes,
                  variants: Iterable[tuple[str, bytes, str]]) -> list[str]:
        """Store a new image's original, thumbnails and ``meta.json`` (create-only), in that
        order; on failure remove what was written and raise.

        Returns:
            The keys written.
        """
        written: list[str] = []
        try:
            self.put_new(written, self.keys.original(record.id), original, record.content_type)
            for name, data, content_type in variants:
                self.put_new(written, self.keys.variant(record.id, name), data, content_type)
            self.put_new(written, self.keys.meta(record.id), orjson.dumps(record.to_json()),
                         JSON_TYPE)
        except Exception:
            self.discard(written)
            raise
        return written

    def discard(self, keys: Iterable[str]) -> None:
        """Best-effort removal of objects nothing points at (cleanup finds what is left)."""
        for key in keys:
            try:
                self.storage.delete(key, missing_ok=True)
            except StorageError as err:
                log.warning("could not remove %s (left for cleanup): %s", key, err)

    # -- meta.json ------------------------------------------------------------------

    def read_meta(self, image_id: str) -> ImageRecord | None:
        """The record in an image's ``meta.json`` (``None``: there is none).

        Raises:
            Damaged: it cannot be read as this image's record.
            StorageUnavailable: the storage did not answer.
        """
        try:
            raw = self.storage.get(self.keys.meta(image_id))
        except ObjectNotFound:
            return None
        try:
            return ImageRecord.from_json(orjson.loads(raw), image_id)
        except (orjson.JSONDecodeError, ValueError) as err:
            raise Damaged(f"meta.json of {image_id} is damaged: {err}") from err

    def created_at(self, image_id: str) -> str | None:
        """An image's upload time from its ``meta.json`` without validating all of it
        (how the catalog finds the shard of an image it has not seen yet)."""
        if not is_image_id(image_id):
            return None
        try:
            value = orjson.loads(self.storage.get(self.keys.meta(image_id)))
        except (ObjectNotFound, orjson.JSONDecodeError):
            return None
        stamp = value.get("created_at") if isinstance(value, dict) else None
        return stamp if isinstance(stamp, str) and STORED_TIMESTAMP.fullmatch(stamp) else None

    def write_meta(self, record: ImageRecord, *, if_absent: bool = False) -> bool:
        """Write an image's ``meta.json`` from its record.

        Returns:
            Whether it was written (``False``: ``if_absent`` and one exists).

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        try:
            self.storage.put(self.keys.meta(record.id), orjson.dumps(record.to_json()),
                             content_type=JSON_TYPE, if_absent=if_absent)
        except PreconditionFailed:
            return False
        return True

    def sync_meta(self, record: ImageRecord) -> bool:
        """Bring ``meta.json`` up to the catalog's ``record``, unless it holds a later edit
        already (a higher ``rev``): conditional on the version read, so two edits
        finishing out of order never leave the older one behind.

        Returns:
            Whether it was written.

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        key = self.keys.meta(record.id)
        for _ in range(20):
            try:
                raw, info = self.storage.read(key)
            except ObjectNotFound:
                return self.write_meta(record, if_absent=True) or self.sync_meta(record)
            try:
                current: ImageRecord | None = ImageRecord.from_json(orjson.loads(raw), record.id)
            except (orjson.JSONDecodeError, ValueError):
                current = None
            if current is not None and (current == record or current.rev > record.rev):
                return False
            try:
                self.storage.put(key, orjson.dumps(record.to_json()), content_type=JSON_TYPE,
                                 if_version=info.version)
            except PreconditionFailed:
                continue
            return True
        return False

    # -- what is there --------------------------------------------------------------

    def objects(self, image_id: str) -> dict[str, ObjectInfo]:
        """An image's objects by name (``original``, ``meta.json``, ``sm.webp`` ...)."""
        prefix = self.keys.image_prefix(image_id)
        return {info.key[len(prefix):]: info for info in self.storage.list(prefix)}

    def every_object(self) -> dict[str, dict[str, ObjectInfo]]:
        """Every object under ``images/``, by image id then by name."""
        listing: dict[str, dict[str, ObjectInfo]] = {}
        for info in self.storage.list(self.keys.images_prefix):
            image_id = self.keys.image_id_of(info.key)
            if image_id is None:
                continue
            name = info.key[len(self.keys.image_prefix(image_id)):]
            listing.setdefault(image_id, {})[name] = info
        return listing

    def has_original(self, image_id: str) -> bool:
        return self.storage.exists(self.keys.original(image_id))

    def original(self, image_id: str) -> bytes:
        """Raises: ObjectNotFound, StorageUnavailable."""
        return self.storage.get(self.keys.original(image_id))

    def local_path(self, key: str) -> str | None:
        """Raises: ObjectNotFound."""
        return self.storage.local_path(key)

    def open(self, key: str) -> BinaryIO:
        """Raises: ObjectNotFound, StorageUnavailable."""
        return self.storage.open(key)

    def put_variant(self, image_id: str, name: str, data: bytes, content_type: str) -> None:
        self.storage.put(self.keys.variant(image_id, name), data, content_type=content_type)

    # -- deleting ---------------------------------------------------------------------

    def mark_deleted(self, image_ids: list[str], by: str, moment: datetime) -> None:
        """Write each image's tombstone (before its catalog entry goes).

        From then on the delete is only ever finished, never undone: ``reindex``
        does not bring the image back and ``gallery cleanup`` completes it.
        """
        stamp = orjson.dumps({"deleted_at": format_timestamp(moment), "deleted_by": by})
        each(lambda image_id: self.storage.put(self.keys.tombstone(image_id), stamp,
                                               content_type=JSON_TYPE), image_ids)

    def unmark(self, image_ids: list[str]) -> None:
        """Withdraw tombstones (a delete whose catalog write provably did not land)."""
        each(lambda image_id: self.storage.delete(self.keys.tombstone(image_id),
                                                  missing_ok=True), image_ids)

    def remove_objects(self, image_id: str, listed: Iterable[str] | None = None) -> None:
        """Remove every object of an image no longer in the catalog, in :func:`delete_order`.

        Raises:
            StorageUnavailable: the storage did not answer (running again finishes it).
        """
        if listed is None:
            listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
        for key in delete_order(self.keys, image_id, listed):
            self.storage.delete(key, missing_ok=True)


def delete_order(keys: Keys, image_id: str, listed: Iterable[str]) -> list[str]:
    """The order an image's objects are removed in: the original first, then the
    thumbnails, ``meta.json``, and the tombstone last, so an interrupted delete is
    still recognisable as one and can be finished."""
    present = set(listed)
    original, meta, tombstone = keys.original(image_id), keys.meta(image_id), keys.tombstone(image_id)
    middle = sorted(present - {original, meta, tombstone})
    return [key for key in (original, *middle, meta, tombstone) if key in present]


def each(work: Callable[[str], Any], image_ids: list[str], workers: int = 8) -> None:
    """``work`` for every id, a few at a time (each is a storage round trip)."""
    if len(image_ids) <= 1:
        for image_id in image_ids:
            work(image_id)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(image_ids))) as pool:
        for _ in pool.map(work, image_ids):
            pass


def read_many(read: Callable[[str], Any], image_ids: list[str], workers: int = 8
              ) -> Mapping[str, Any]:
    """``read(id)`` for every id, a few at a time: ``{id: result}``."""
    if not image_ids:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(image_ids)))) as pool:
        return dict(zip(image_ids, pool.map(read, image_ids), strict=True))
