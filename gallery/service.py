"""The gallery's domain operations: upload, list, get, edit, delete, media, reindex.

No Flask here: the web views, the CLI and the tests call :class:`GalleryService`
directly.

Records are plain JSON-ready dicts, stored twice: in the index (``index.json``)
and as the image's own ``meta.json``, which ``reindex`` reads back. Stored
records are lean; optional fields are left out when they hold their default::

    id, filename, content_type, format, size, width, height, sha256,
    upload_sha256 (only when the stored bytes differ from the uploaded ones),
    created_at ("2026-11-21T08:30:00.123Z"), uploaded_by, title,
    description (only when not empty), frames, animated (only when true),
    placeholder ("#rrggbb"), gps_removed (only when true),
    variants {name: {"w", "h", "size", "sha256"}}, rev (edit count, only after an edit)

What the service returns is a copy with every optional field filled in.

Write order keeps one promise: the index never points at a missing object.
An upload stores the original, the variants and ``meta.json`` before it adds
the index entry; a delete removes the index entry before the objects (the
original first, ``meta.json`` last), so an interruption leaves only orphans,
which ``reindex`` does not revive once the original is gone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import orjson

from gallery.audit import AuditLog
from gallery.clock import RisingClock, format_timestamp
from gallery.documents import JSON_TYPE, JsonDocument, Unchanged
from gallery.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GalleryError,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
    StorageError,
)
from gallery.imaging import VARIANT_SIZES, Limits, ProcessedImage, make_variants, process_upload
from gallery.index import (
    ImageIndex,
    IndexSnapshot,
    IndexValue,
    Record,
    decode_cursor,
    encode_cursor,
)
from gallery.keys import Keys, is_image_id, new_image_id
from gallery.names import FALLBACK_NAME, sanitize_filename
from gallery.storage.base import ObjectInfo, Storage

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_LIMIT = 100
EDITABLE = ("title", "description")

#: Optional record fields and the value they have when left out.
_DEFAULTS: dict[str, Any] = {"description": "", "animated": False, "gps_removed": False, "frames": 1}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED = ("id", "filename", "content_type", "size", "width", "height", "sha256", "created_at",
             "uploaded_by", "title")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a signed-in user."""

    username: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The stored image, and whether it was already there (nothing new stored then)."""

    image: dict[str, Any]
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One numbered page of the gallery, newest first."""

    images: list[dict[str, Any]]
    number: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True, slots=True)
class Media:
    """Where one stored file of an image is, and how to serve it."""

    key: str
    content_type: str
    size: int
    etag: str  # strong, with its quotes: '"<sha256>"'
    filename: str  # the name to offer when it is downloaded


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What a reindex changed.

    Attributes:
        added: ids now in the index that were not before.
        dropped: ids removed (their original is gone).
        unchanged: how many records were already right.
        updated: ids whose record was corrected from ``meta.json``.
        kept: ids kept as they were although ``meta.json`` could not be used
            (missing, damaged, or written after the listing) while the
            original exists.
        duplicates: ids left out because an image with the same bytes is in.
        damaged: ids whose ``meta.json`` could not be read.
        repaired: the old index was damaged and has been replaced.
        total: images in the index now.
    """

    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    repaired: bool = False
    total: int = 0


def public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a stored record with every optional field filled in."""
    out = {**_DEFAULTS, **record}
    out["variants"] = {name: dict(v) for name, v in record.get("variants", {}).items()}
    return out


def check_record(value: Any, image_id: str | None = None) -> Record:
    """Validate a record read back from ``meta.json``.

    Raises:
        ValueError: it is not a record (of this image).
    """
    if not isinstance(value, dict) or any(name not in value for name in _REQUIRED):
        raise ValueError("not an image record")
    if image_id is not None and value["id"] != image_id:
        raise ValueError("the record belongs to another image")
    if not isinstance(value["created_at"], str) or not isinstance(value["sha256"], str):
        raise ValueError("bad created_at or sha256")
    if not isinstance(value.get("variants", {}), dict):
        raise ValueError("bad variants")
    return value


class GalleryService:
    """The gallery over one bucket.

    Args:
        storage: the bucket.
        keys: builds every object key.
        limits: what an upload may be.
        index: the index to use (default: one over ``storage`` and ``keys``).
        clock: the current time (default: :class:`~gallery.clock.RisingClock`; tests pass a fixed one).
        audit: where deletes are recorded (``None``: not recorded).
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        *,
        limits: Limits,
        index: ImageIndex | None = None,
        clock: Callable[[], datetime] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.storage = storage
        self.keys = keys
        self.limits = limits
        self.index = index if index is not None else ImageIndex(storage, keys)
        self.clock = clock or RisingClock()
        self.audit = audit

    # -- reading --------------------------------------------------------------

    def get(self, image_id: str) -> dict[str, Any]:
        """One image's record.

        Raises:
            NotFound: unknown or malformed id.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        return public_record(self._record(self.index.snapshot(), image_id))

    def list_images(
        self, *, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` (clamped to 1..100) images, newest first, after ``cursor``.

        Returns:
            ``(images, next_cursor)``; ``next_cursor`` is ``None`` on the last page.
            A cursor stays valid while images are added or deleted.

        Raises:
            BadRequest: the cursor is malformed.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        limit = max(1, min(MAX_LIMIT, int(limit)))
        after = decode_cursor(cursor) if cursor else None
        snapshot = self.index.snapshot()
        start = snapshot.position_after(*after) if after else 0
        ids = snapshot.ordered[start : start + limit]
        images = [public_record(snapshot.images[i]) for i in ids]
        more = start + limit < len(snapshot.ordered)
        next_cursor = encode_cursor(images[-1]["created_at"], images[-1]["id"]) if more else None
        return images, next_cursor

    def page(self, number: int, per_page: int) -> Page:
        """Page ``number`` (from 1) of ``per_page`` images, newest first.

        Raises:
            NotFound: there is no such page (page 1 always exists).
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        per_page = max(1, min(1000, int(per_page)))
        snapshot = self.index.snapshot()
        total = len(snapshot.ordered)
        pages = max(1, -(-total // per_page))
        if not 1 <= number <= pages:
            raise NotFound(f"There is no page {number}; the gallery has {pages}.")
        ids = snapshot.ordered[(number - 1) * per_page : number * per_page]
        return Page([public_record(snapshot.images[i]) for i in ids], number, pages, total)

    def media(self, image_id: str, variant: str | None = None) -> Media:
        """Where the original (or a thumbnail) of an image is stored.

        Raises:
            NotFound: unknown id or variant.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        record = self._record(self.index.snapshot(), image_id)
        if variant is None:
            key = self.keys.original(image_id)
            content_type, size, digest = record["content_type"], record["size"], record["sha256"]
            filename = record["filename"]
        else:
            found = record.get("variants", {}).get(variant) if isinstance(variant, str) else None
            if found is None:
                raise NotFound("That image has no such thumbnail.")
            key = self.keys.variant(image_id, variant)
            content_type, size, digest = "image/webp", found["size"], found["sha256"]
            filename = f"{record['filename'].rsplit('.', 1)[0]}-{variant}.webp"
        return Media(key, content_type, size, f'"{digest}"', filename)

    def local_path(self, media: Media) -> str | None:
        """A file holding exactly the media's bytes, on backends that have one.

        Raises:
            NotFound: the object is gone (deleted meanwhile).
        """
        try:
            return self.storage.local_path(media.key)
        except ObjectNotFound:
            raise NotFound("That image is gone.") from None

    def open_media(self, media: Media) -> BinaryIO:
        """A stream of the media's bytes; the caller closes it.

        Raises:
            NotFound: the object is gone (deleted meanwhile).
            StorageUnavailable: the storage did not answer.
        """
        try:
            return self.storage.open(media.key)
        except ObjectNotFound:
            raise NotFound("That image is gone.") from None

    # -- upload ---------------------------------------------------------------

    def upload(
        self,
        data: bytes,
        filename: str,
        *,
        uploaded_by: str,
        title: str | None = None,
        description: str = "",
    ) -> UploadResult:
        """Validate and store one image; an image already stored is reused.

        Raises:
            BadRequest: the title or description is not acceptable.
            TooLarge, UnsupportedType, DamagedImage: the file is not acceptable.
            DocumentDamaged: the index cannot be read (nothing is stored).
            StorageUnavailable: the storage did not answer; what this upload
                wrote is removed again where possible.
        """
        texts = _check_changes({"description": description} if title is None
                               else {"title": title, "description": description})
        processed = process_upload(data, self.limits)
        shas = {processed.sha256, processed.upload_sha256}
        snapshot = self.index.snapshot()
        for sha in shas:
            if sha in snapshot.by_sha:
                return UploadResult(public_record(snapshot.images[snapshot.by_sha[sha]]), True)

        image_id = new_image_id()
        record = self._new_record(image_id, processed, filename, uploaded_by, texts)
        return self._store_new(image_id, processed, record, shas)

    def _store_new(
        self, image_id: str, processed: ProcessedImage, record: Record, shas: set[str]
    ) -> UploadResult:
        """Write a new image's objects, then add it to the index unless its bytes got in first."""
        written: list[str] = []
        try:
            self._put_new(written, self.keys.original(image_id), processed.data,
                          processed.content_type)
            for variant in processed.variants:
                self._put_new(written, self.keys.variant(image_id, variant.name), variant.data,
                              variant.content_type)
            self._put_new(written, self.keys.meta(image_id), orjson.dumps(record), JSON_TYPE)
        except Exception:
            self._discard(written)
            raise

        def add(value: IndexValue) -> Any:
            current = value["images"].get(image_id)
            if current is not None:
                if current["sha256"] == record["sha256"]:
                    # A reindex running meanwhile found our meta.json and took the
                    # image in already: that is this upload, not a duplicate of it.
                    return Unchanged(None)
                raise _IdTaken(f"The id {image_id} is taken by a different image.")  # an import
            for other in value["images"].values():
                if other["sha256"] in shas or other.get("upload_sha256") in shas:
                    return Unchanged(other)
            value["images"][image_id] = record
            return None

        try:
            winner = self.index.update(add)
        except _IdTaken:
            self._discard(written)
            raise
        except Exception:
            # The write may have landed although we saw an error: look before removing.
            indexed = self._is_indexed(image_id)
            if indexed:
                return UploadResult(public_record(record), False)
            if indexed is False:
                self._discard(written)
            raise
        if winner is not None:  # the same bytes were added meanwhile
            self._discard(written)
            return UploadResult(public_record(winner), True)
        return UploadResult(public_record(record), False)

    def _new_record(
        self,
        image_id: str,
        processed: ProcessedImage,
        filename: str,
        uploaded_by: str,
        texts: Mapping[str, str],
    ) -> Record:
        name = sanitize_filename(filename)
        extension = processed.extension.lstrip(".").lower()
        if name == FALLBACK_NAME and extension:
            name = f"{name}.{extension}"
        stem = name.rpartition(".")[0] or name
        record: Record = {
            "id": image_id,
            "filename": name,
            "content_type": processed.content_type,
            "format": processed.format,
            "size": len(processed.data),
            "width": processed.width,
            "height": processed.height,
            "sha256": processed.sha256,
        }
        if processed.upload_sha256 != processed.sha256:
            record["upload_sha256"] = processed.upload_sha256
        record["created_at"] = format_timestamp(self.clock())
        record["uploaded_by"] = uploaded_by
        record["title"] = texts.get("title", stem[:MAX_TITLE])
        if texts.get("description"):
            record["description"] = texts["description"]
        record["frames"] = processed.frames
        if processed.animated:
            record["animated"] = True
        record["placeholder"] = processed.placeholder
        if processed.gps_removed:
            record["gps_removed"] = True
        record["variants"] = {
            v.name: {"w": v.width, "h": v.height, "size": len(v.data), "sha256": _sha256(v.data)}
            for v in processed.variants
        }
        return record

    def _put_new(self, written: list[str], key: str, data: bytes, content_type: str) -> None:
        """Create ``key``; note it in ``written`` unless it was provably not ours."""
        try:
            self.storage.put(key, data, content_type=content_type, if_absent=True)
        except PreconditionFailed:
            raise  # someone else's object: never clean it up
        except Exception:
            written.append(key)  # the write may have landed before the error
            raise
        written.append(key)

    def _discard(self, keys: Iterable[str]) -> None:
        """Best-effort removal of objects nothing points at."""
        for key in keys:
            try:
                self.storage.delete(key, missing_ok=True)
            except StorageError as err:
                log.warning("could not remove %s (left for cleanup): %s", key, err)

    def _is_indexed(self, image_id: str) -> bool | None:
        """Whether the index has this id; ``None`` if it cannot be told."""
        try:
            self.index.forget()
            return image_id in self.index.snapshot().images
        except GalleryError:
            return None

    def import_record(self, data: bytes, record: Mapping[str, Any]) -> UploadResult:
        """Store an image exported from a gallery under its old id, uploader, time and texts.

        The bytes go through the same validation and pipeline as an upload; the
        facts about them (type, size, dimensions, hashes, thumbnails) come from
        the pipeline, never from ``record``. Only ``id``, ``filename``,
        ``title``, ``description``, ``uploaded_by``, ``created_at`` and
        ``upload_sha256`` are taken from it.

        Returns:
            The stored image; ``duplicate`` when the same bytes (or that id with
            the same bytes) are already in, and nothing new was stored.

        Raises:
            BadRequest: ``record`` lacks a valid id, time, uploader or texts.
            Conflict: the id is taken by a different image.
            TooLarge, UnsupportedType, DamagedImage: the file is not acceptable.
            DocumentDamaged: the index cannot be read (nothing is stored).
            StorageUnavailable: the storage did not answer.
        """
        image_id, created_at, uploaded_by = (record.get(name) for name in
                                             ("id", "created_at", "uploaded_by"))
        if not is_image_id(image_id):
            raise BadRequest("The record has no valid image id.")
        if not isinstance(created_at, str) or not _TIMESTAMP.match(created_at):
            raise BadRequest("The record has no valid created_at time.")
        if not isinstance(uploaded_by, str) or not uploaded_by.strip():
            raise BadRequest("The record names no uploader.")
        texts = _check_changes({name: record.get(name) or "" for name in EDITABLE})
        processed = process_upload(data, self.limits)
        shas = {processed.sha256, processed.upload_sha256}
        old_upload_sha = record.get("upload_sha256")
        if isinstance(old_upload_sha, str) and _SHA256.match(old_upload_sha):
            shas.add(old_upload_sha)
        snapshot = self.index.snapshot()
        existing = snapshot.images.get(image_id)
        if existing is not None:
            if existing["sha256"] in shas:
                return UploadResult(public_record(existing), True)
            raise Conflict(f"The id {image_id} is taken by a different image.")
        for sha in shas:
            if sha in snapshot.by_sha:
                return UploadResult(public_record(snapshot.images[snapshot.by_sha[sha]]), True)

        new = self._new_record(image_id, processed, str(record.get("filename") or ""),
                               uploaded_by.strip(), texts)
        new["created_at"] = created_at
        if "upload_sha256" not in new and old_upload_sha in shas - {processed.sha256}:
            new["upload_sha256"] = old_upload_sha  # the file first uploaded still counts
        try:
            return self._store_new(image_id, processed, new, shas)
        except PreconditionFailed:
            raise Conflict(
                f"Objects of image {image_id} are in the bucket but it is not in the index; "
                "run `gallery reindex` (or `gallery cleanup`) and import again."
            ) from None

    # -- editing --------------------------------------------------------------

    def update(self, image_id: str, changes: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
        """Change an image's title and/or description.

        ``meta.json`` is written first, then the index; both carry an edit
        counter (``rev``) so that concurrent edits settle on the same, latest
        values in both places.

        Raises:
            NotFound: unknown or malformed id (or deleted meanwhile).
            Forbidden: the actor is neither the uploader nor an admin.
            BadRequest: an unknown field, a value that is not a string, or too long.
            DocumentDamaged: the index or ``meta.json`` cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        record = self._record(self.index.snapshot(), image_id)
        _authorize(record, actor)
        texts = _check_changes(changes)
        if not texts:
            return public_record(record)

        def edit_meta(value: dict[str, Any]) -> Record:
            if not value:  # meta.json is missing: rebuild it from the index, if still there
                current = self.index.snapshot().images.get(image_id)
                if current is None:
                    raise NotFound("That image was deleted.")
                value.update(current)
            _apply(value, texts)
            value["rev"] = value.get("rev", 0) + 1
            return dict(value)

        meta = JsonDocument(self.storage, self.keys.meta(image_id), empty=dict,
                            check=lambda v: check_record(v, image_id))
        edited, _ = meta.update(edit_meta)

        def edit_index(value: IndexValue) -> Any:
            current = value["images"].get(image_id)
            if current is None:
                raise NotFound("That image was deleted.")
            if current.get("rev", 0) >= edited["rev"]:
                return Unchanged(current)
            current = dict(current)  # records are shared with the cache: replace, never edit
            _apply(current, {name: edited.get(name, "") for name in EDITABLE})
            current["rev"] = edited["rev"]
            value["images"][image_id] = current
            return current

        return public_record(self.index.update(edit_index))

    # -- deleting -------------------------------------------------------------

    def delete(self, image_id: str, *, actor: Actor) -> None:
        """Delete an image: a tombstone, then its index entry, then its objects.

        An id no longer in the index whose objects are still there (a delete
        that was interrupted) is finished off.

        Raises:
            NotFound: unknown or malformed id.
            Forbidden: the actor is neither the uploader nor an admin.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer; the image may be
                out of the index already, and deleting again finishes the job.
        """
        if not is_image_id(image_id):
            raise NotFound("There is no such image.")
        record = self.index.snapshot().images.get(image_id)
        if record is None:
            record = self._leftover_record(image_id)
            _authorize(record, actor)
            self._mark_deleted([image_id], actor)
        else:
            _authorize(record, actor)
            self._mark_deleted([image_id], actor)

            def remove(value: IndexValue) -> Any:
                return value["images"].pop(image_id, None)

            self._unmark_on_failure([image_id], lambda: self.index.update(remove))
        try:
            self.delete_objects(image_id)
        finally:  # out of the index is deleted for everyone: record it even if objects remain
            self._record_audit(actor.username, "image.delete", image_id)

    def delete_many(self, ids: Iterable[str], *, actor: Actor) -> list[str]:
        """Delete several images: every index entry in one compare-and-swap, then their objects.

        Permission is as for :meth:`delete` and is checked for every image
        before anything changes: one image the actor may not delete refuses the
        whole request. Each image gets its tombstone before the index write,
        so an interrupted run is finished by ``gallery cleanup``.

        Returns:
            The ids deleted, in the order given; ids that are malformed or not
            in the index are left out (not deleted).

        Raises:
            Forbidden: the actor may not delete one of the images.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer; images may be out
                of the index already, and deleting again finishes the job.
        """
        snapshot = self.index.snapshot()
        wanted = [i for i in dict.fromkeys(ids) if is_image_id(i) and i in snapshot.images]
        for image_id in wanted:
            _authorize(snapshot.images[image_id], actor)
        if not wanted:
            return []
        self._mark_deleted(wanted, actor)

        def remove(value: IndexValue) -> Any:
            images = value["images"]
            for image_id in wanted:  # look again: the index may have moved on
                if image_id in images:
                    _authorize(images[image_id], actor)
            removed = [image_id for image_id in wanted if images.pop(image_id, None) is not None]
            return removed if removed else Unchanged(removed)

        removed: list[str] = self._unmark_on_failure(wanted, lambda: self.index.update(remove))
        gone_already = [image_id for image_id in wanted if image_id not in removed]
        if gone_already:  # deleted by someone else meanwhile: finish theirs too
            self._each(self.delete_objects, gone_already)
        if not removed:
            return removed
        try:
            self._each(self.delete_objects, removed)
        finally:
            self._record_audit(actor.username, "images.delete", "", count=len(removed),
                               ids=removed[:100])
        return removed

    def _record_audit(self, actor: str, action: str, target: str, **details: Any) -> None:
        if self.audit is not None:
            self.audit.record(actor, action, target, **details)

    def _leftover_record(self, image_id: str) -> Record:
        try:
            raw = self.storage.get(self.keys.meta(image_id))
            return check_record(orjson.loads(raw), image_id)
        except (ObjectNotFound, ValueError):
            raise NotFound("There is no such image.") from None

    def delete_objects(self, image_id: str) -> None:
        """Remove every object of an image that is no longer in the index.

        The original goes first and ``meta.json`` last, so an interrupted run
        can be finished by running again (and ``reindex`` does not revive it).

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
        for key in delete_order(self.keys, image_id, listed):
            self.storage.delete(key, missing_ok=True)

    def _mark_deleted(self, image_ids: list[str], actor: Actor) -> None:
        """Write each image's tombstone, before its index entry goes.

        From then on the delete is only ever finished, never undone: ``reindex``
        does not bring the image back and ``gallery cleanup`` completes it. So an
        image missing from the index *without* a tombstone was lost by accident,
        and cleanup puts it back instead of removing it.
        """
        stamp = orjson.dumps({"deleted_at": format_timestamp(self.clock()),
                              "deleted_by": actor.username})

        def mark(image_id: str) -> None:
            self.storage.put(self.keys.tombstone(image_id), stamp, content_type=JSON_TYPE)

        self._each(mark, image_ids)

    def _unmark_on_failure(self, image_ids: list[str], step: Callable[[], Any]) -> Any:
        """Run the index change of a delete; if it fails, take back the tombstones of
        the images still in the index.

        The write may have landed although it reported an error: those images are
        out of the index, and their tombstones stay so that cleanup finishes the
        delete instead of putting them back.
        """
        try:
            return step()
        except BaseException:
            try:
                self.index.forget()
                still = [i for i in image_ids if i in self.index.snapshot().images]
                self._each(lambda image_id: self.storage.delete(
                    self.keys.tombstone(image_id), missing_ok=True), still)
            except GalleryError:  # the delete stays pending; cleanup will finish it
                log.warning("could not withdraw the delete marks of %d image(s)", len(image_ids))
            raise

    def _each(self, work: Callable[[str], Any], image_ids: list[str]) -> None:
        """``work`` for every id, a few at a time (each is a storage round trip)."""
        if len(image_ids) <= 1:
            for image_id in image_ids:
                work(image_id)
            return
        with ThreadPoolExecutor(max_workers=min(8, len(image_ids))) as pool:
            for _ in pool.map(work, image_ids):
                pass

    def adopt(self, image_ids: Iterable[str], *, workers: int = 8) -> tuple[list[str], list[str]]:
        """Put images back into the index whose entry went missing but whose objects did not.

        An image qualifies when it has its original and a readable ``meta.json``
        and no tombstone (it is not being deleted), and is not in the index. One
        compare-and-swap adds them all.

        Returns:
            The ids added, and the ids left out because the same picture is
            already in the gallery under another id.

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        listing: dict[str, dict[str, ObjectInfo]] = {}
        for image_id in dict.fromkeys(image_ids):
            if not is_image_id(image_id):
                continue
            prefix = self.keys.image_prefix(image_id)
            objects = {info.key[len(prefix):]: info for info in self.storage.list(prefix)}
            if "deleted.json" not in objects:
                listing[image_id] = objects
        found, _damaged = self._read_records(listing, workers)

        def add(value: IndexValue) -> Any:
            images = value["images"]
            fresh = {i: r for i, r in found.items() if i not in images}
            kept, duplicates = _without_duplicates({**images, **fresh}, images)
            added = [i for i in fresh if i in kept]
            for image_id in added:
                images[image_id] = fresh[image_id]
            result = (sorted(added), sorted(duplicates))
            return result if added else Unchanged(result)

        if not found:
            return [], []
        added, duplicates = self.index.update(add)
        return added, duplicates

    # -- repairs --------------------------------------------------------------

    def restore_variants(self, image_id: str) -> list[str]:
        """Make an image's missing thumbnails again from its stored original.

        The original is validated exactly like an upload. The index record and
        ``meta.json`` (when present) learn the new thumbnails' facts by
        compare-and-swap.

        Returns:
            The names of the thumbnails made (none when nothing was missing).

        Raises:
            NotFound: the image is not in the index, or its original is gone.
            TooLarge, UnsupportedType, DamagedImage: the original does not pass.
            StorageUnavailable: the storage did not answer.
        """
        self._record(self.index.snapshot(), image_id)
        present = {info.key for info in self.storage.list(self.keys.image_prefix(image_id))}
        missing = [name for name in VARIANT_SIZES
                   if self.keys.variant(image_id, name) not in present]
        if not missing:
            return []
        try:
            original = self.storage.get(self.keys.original(image_id))
        except ObjectNotFound:
            raise NotFound("That image's original is gone; its thumbnails cannot be made.") from None
        made = {v.name: v for v in make_variants(original, self.limits) if v.name in missing}
        for variant in made.values():
            self.storage.put(self.keys.variant(image_id, variant.name), variant.data,
                             content_type=variant.content_type)
        facts = {name: {"w": v.width, "h": v.height, "size": len(v.data), "sha256": _sha256(v.data)}
                 for name, v in made.items()}

        def fix_index(value: IndexValue) -> Any:
            current = value["images"].get(image_id)
            if current is None:
                return Unchanged()
            current = dict(current)
            current["variants"] = {**current.get("variants", {}), **facts}
            value["images"][image_id] = current
            return None

        def fix_meta(value: dict[str, Any]) -> Any:
            if not value:  # no meta.json: leave that to restore_meta
                return Unchanged()
            value["variants"] = {**value.get("variants", {}), **facts}
            return None

        self.index.update(fix_index)
        JsonDocument(self.storage, self.keys.meta(image_id), empty=dict,
                     check=lambda v: check_record(v, image_id)).update(fix_meta)
        return sorted(made)

    def restore_meta(self, image_id: str) -> bool:
        """Write a missing ``meta.json`` from the image's index record.

        Returns:
            Whether it was written (``False``: one exists already).

        Raises:
            NotFound: the image is not in the index.
            StorageUnavailable: the storage did not answer.
        """
        record = self._record(self.index.snapshot(), image_id)
        try:
            self.storage.put(self.keys.meta(image_id), orjson.dumps(record),
                             content_type=JSON_TYPE, if_absent=True)
        except PreconditionFailed:
            return False
        return True

    # -- reindex --------------------------------------------------------------

    def reindex(self, *, workers: int = 8) -> ReindexReport:
        """Rebuild ``index.json`` from the bucket alone; a damaged index is replaced.

        Safe while uploads, edits and deletes go on: the new index is written
        by compare-and-swap, entries added after the listing are kept while
        their original exists, images deleted meanwhile are not revived, and
        an edit newer than the ``meta.json`` read here (higher ``rev``) wins.
        An image is rebuilt only from an original plus a readable
        ``meta.json`` and only when it carries no tombstone, so an image whose
        delete was interrupted does not come back (``gallery cleanup`` finishes
        that delete).

        Raises:
            Conflict: too many concurrent writers for too long.
            StorageUnavailable: the storage did not answer.
        """
        try:
            known_before: set[str] = set(self.index.snapshot().images)
        except GalleryError as err:
            if err.code != "document_damaged":
                raise
            known_before = set()
        listing = self._list_objects()
        rebuilt, damaged = self._read_records(listing, workers)
        rebuilt_at = format_timestamp(self.clock())

        def rebuild(value: IndexValue) -> ReindexReport:
            old: dict[str, Record] = value["images"]
            candidates: dict[str, Record] = {}
            kept: list[str] = []
            for image_id, current in old.items():
                if image_id in rebuilt:
                    continue
                objects = listing.get(image_id)
                if objects is None:  # not listed: written since, or never there
                    alive = self.storage.exists(self.keys.original(image_id))
                else:
                    alive = "original" in objects
                if alive:
                    candidates[image_id] = current
                    kept.append(image_id)
            for image_id, record in rebuilt.items():
                current = old.get(image_id)
                if current is None:
                    if image_id not in known_before:  # else: deleted since we looked
                        candidates[image_id] = record
                elif current.get("rev", 0) > record.get("rev", 0):
                    candidates[image_id] = current  # edited since we read meta.json
                else:
                    candidates[image_id] = record
            images, duplicates = _without_duplicates(candidates, old)
            value.clear()
            value.update({"format": 1, "images": images, "rebuilt_at": rebuilt_at})
            return ReindexReport(
                added=sorted(i for i in images if i not in old),
                dropped=sorted(i for i in old if i not in images),
                unchanged=sum(1 for i, r in images.items() if old.get(i) == r),
                updated=sorted(i for i, r in images.items() if i in old and old[i] != r),
                kept=sorted(kept),
                duplicates=sorted(duplicates),
                damaged=sorted(damaged),
                total=len(images),
            )

        report, repaired = self.index.rebuild(rebuild)
        if repaired:
            return dataclasses.replace(report, repaired=True)
        return report

    def _list_objects(self) -> dict[str, dict[str, ObjectInfo]]:
        """Every object under ``images/``, by image id then by name (``original``, ``sm.webp``...)."""
        listing: dict[str, dict[str, ObjectInfo]] = {}
        for info in self.storage.list(self.keys.images_prefix):
            image_id = self.keys.image_id_of(info.key)
            if image_id is None:
                continue
            name = info.key[len(self.keys.image_prefix(image_id)) :]
            listing.setdefault(image_id, {})[name] = info
        return listing

    def _read_records(
        self, listing: Mapping[str, Mapping[str, ObjectInfo]], workers: int
    ) -> tuple[dict[str, Record], list[str]]:
        """Records rebuilt from ``meta.json`` for images whose original exists."""
        wanted = [i for i, objects in listing.items()
                  if "original" in objects and "meta.json" in objects and "deleted.json" not in objects]

        def read(image_id: str) -> Record | None:
            try:
                record = check_record(orjson.loads(self.storage.get(self.keys.meta(image_id))),
                                      image_id)
            except ObjectNotFound:
                return None
            except (orjson.JSONDecodeError, ValueError):
                return {}
            objects = listing[image_id]
            record["size"] = objects["original"].size
            record["variants"] = {
                name: info for name, info in record.get("variants", {}).items()
                if f"{name}.webp" in objects and isinstance(info, dict)
            }
            return record

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = dict(zip(wanted, pool.map(read, wanted), strict=True))
        rebuilt = {i: r for i, r in results.items() if r}
        damaged = [i for i, r in results.items() if r == {}]
        return rebuilt, damaged

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _record(snapshot: IndexSnapshot, image_id: str) -> Record:
        record = snapshot.images.get(image_id) if is_image_id(image_id) else None
        if record is None:
            raise NotFound("There is no such image.")
        return record


class _IdTaken(Conflict):
    """An imported image's id belongs to another image already in the index."""


def delete_order(keys: Keys, image_id: str, listed: Iterable[str]) -> list[str]:
    """The order an image's objects are removed in: the original first, then the
    thumbnails, ``meta.json``, and the tombstone last, so an interrupted delete is
    still recognisable as one and can be finished."""
    present = set(listed)
    original, meta, tombstone = keys.original(image_id), keys.meta(image_id), keys.tombstone(image_id)
    middle = sorted(present - {original, meta, tombstone})
    return [key for key in (original, *middle, meta, tombstone) if key in present]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _authorize(record: Mapping[str, Any], actor: Actor) -> None:
    if not (actor.is_admin or actor.username == record.get("uploaded_by")):
        raise Forbidden("Only the person who uploaded an image, or an admin, may change it.")


def _check_changes(changes: Any) -> dict[str, str]:
    """The editable fields of ``changes``, stripped and checked.

    Raises:
        BadRequest: an unknown field, a value that is not a string, or too long.
    """
    if not isinstance(changes, Mapping):
        raise BadRequest("Send the fields to change as an object.")
    limits = {"title": MAX_TITLE, "description": MAX_DESCRIPTION}
    texts: dict[str, str] = {}
    for name, value in changes.items():
        if name not in limits:
            raise BadRequest(f"The field {name!r} cannot be changed; only title and description.")
        if not isinstance(value, str):
            raise BadRequest(f"The field {name!r} must be a string.")
        value = value.strip()
        if len(value) > limits[name]:
            raise BadRequest(f"The field {name!r} is too long (at most {limits[name]} characters).")
        texts[name] = value
    return texts


def _apply(record: dict[str, Any], texts: Mapping[str, str]) -> None:
    for name, value in texts.items():
        if name == "description" and not value:
            record.pop("description", None)
        else:
            record[name] = value


def _without_duplicates(
    candidates: Mapping[str, Record], old: Mapping[str, Record]
) -> tuple[dict[str, Record], list[str]]:
    """Keep one image per content hash: the one already indexed, else the oldest."""
    order = sorted(candidates, key=lambda i: (i not in old, candidates[i]["created_at"], i))
    seen: set[str] = set()
    images: dict[str, Record] = {}
    duplicates: list[str] = []
    for image_id in order:
        record = candidates[image_id]
        shas = {record["sha256"], record.get("upload_sha256") or record["sha256"]}
        if shas & seen:
            duplicates.append(image_id)
            continue
        seen |= shas
        images[image_id] = record
    return images, duplicates
