"""The JSON index: one ``index.json`` object holding every image's record.

Shape::

    {"format": 1, "images": {"<id>": {record}, ...}, "rebuilt_at": "..."}

The index is never the only copy of anything: each image's record is also its
``meta.json``, and ``gallery reindex`` rebuilds the index from those.

Every process keeps the last parsed index as an :class:`IndexSnapshot` and
revalidates it with one ``stat`` per call, downloading again only when the
stored version moved. Writes go through :class:`~gallery.documents.JsonDocument`
(compare-and-swap), so concurrent writers on any number of machines never lose
each other's changes. A damaged index stops readers and writers with
:class:`~gallery.documents.DocumentDamaged` until a reindex repairs it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gallery.documents import DocumentDamaged, JsonDocument, Loaded, Unchanged
from gallery.errors import BadRequest, Conflict, ObjectNotFound, PreconditionFailed
from gallery.keys import Keys, is_image_id
from gallery.storage.base import Storage

FORMAT = 1

Record = dict[str, Any]
IndexValue = dict[str, Any]

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def empty_index() -> IndexValue:
    """The value of an index that does not exist yet."""
    return {"format": FORMAT, "images": {}}


def check_index(value: Any) -> IndexValue:
    """Validate a parsed index; return it.

    Raises:
        ValueError: not an index of a format this code reads, or a record
            lacks what ordering and duplicate detection need.
    """
    if not isinstance(value, dict) or not isinstance(value.get("images"), dict):
        raise ValueError("not an image index")
    if value.get("format") != FORMAT:
        raise ValueError(f"index format {value.get('format')!r}; this version reads {FORMAT}")
    for image_id, record in value["images"].items():
        if (
            not is_image_id(image_id)
            or not isinstance(record, dict)
            or not isinstance(record.get("created_at"), str)
            or not isinstance(record.get("sha256"), str)
        ):
            raise ValueError(f"bad record for {image_id!r}")
    return value


# --- cursors -----------------------------------------------------------------


def encode_cursor(created_at: str, image_id: str) -> str:
    """An opaque cursor pointing just after the image with this time and id."""
    raw = f"{created_at}|{image_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The ``(created_at, id)`` a cursor points after.

    Raises:
        BadRequest: the cursor was not made by :func:`encode_cursor`.
    """
    try:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise ValueError("bad cursor")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        created_at, image_id = raw.split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("The cursor is not valid; start again without one.") from None
    if not _TIMESTAMP.match(created_at) or not is_image_id(image_id):
        raise BadRequest("The cursor is not valid; start again without one.")
    return created_at, image_id


# --- snapshots ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """The index as parsed at one stored version; shared, so never mutate it.

    Attributes:
        version: the storage version it was read at (``None``: no index yet).
        images: id -> record.
        ordered: ids, newest first (``created_at`` descending, then id descending).
        by_sha: the ``sha256`` and ``upload_sha256`` of every image -> its id.
        meta: the index's own fields besides ``images`` (``format``, ``rebuilt_at`` ...).
    """

    version: str | None
    images: Mapping[str, Record]
    ordered: tuple[str, ...]
    by_sha: Mapping[str, str]
    meta: Mapping[str, Any]
    _ascending: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, value: IndexValue, version: str | None) -> IndexSnapshot:
        """Index a parsed, checked value (which the snapshot then owns)."""
        images: dict[str, Record] = value["images"]
        ascending = sorted((record["created_at"], image_id) for image_id, record in images.items())
        by_sha: dict[str, str] = {}
        for image_id, record in images.items():
            by_sha[record["sha256"]] = image_id
            upload_sha = record.get("upload_sha256")
            if upload_sha:
                by_sha[upload_sha] = image_id
        return cls(
            version=version,
            images=MappingProxyType(images),
            ordered=tuple(image_id for _, image_id in reversed(ascending)),
            by_sha=MappingProxyType(by_sha),
            meta=MappingProxyType({k: v for k, v in value.items() if k != "images"}),
            _ascending=tuple(ascending),
        )

    def __len__(self) -> int:
        return len(self.ordered)

    def value_copy(self) -> IndexValue:
        """A new index value with these records (shared, not copied) to change and store."""
        return {**self.meta, "images": dict(self.images)}

    def position_after(self, created_at: str, image_id: str) -> int:
        """Where in :attr:`ordered` the first image older than ``(created_at, id)`` is.

        The point need not be an image that still exists, so a cursor stays
        valid while images are added or deleted.
        """
        older = bisect.bisect_left(self._ascending, (created_at, image_id))
        return len(self._ascending) - older


# --- the index ---------------------------------------------------------------


class _IndexDocument(JsonDocument[IndexValue]):
    """``index.json`` as a compare-and-swap document that reuses the process's parse.

    When the stored version is the one already cached, a writer starts from a
    copy of the cached value (the top level and the ``images`` mapping are
    copied; records are shared, so a writer replaces records, never edits
    them in place) instead of downloading and parsing the whole index again.
    """

    def __init__(self, owner: ImageIndex, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def load(self) -> Loaded[IndexValue]:
        cached = self._owner._cached
        if cached is not None and cached.version is not None:
            if self._owner._stored_version() == cached.version:
                return Loaded(cached.value_copy(), cached.version)
        return super().load()



class ImageIndex:
    """The ``index.json`` object, cached per process and updated by compare-and-swap.

    Thread-safe: concurrent callers share one download and one parse per
    stored version.
    """

    def __init__(self, storage: Storage, keys: Keys, *, max_attempts: int = 50) -> None:
        self.storage = storage
        self.keys = keys
        self.key = keys.index
        self.document: JsonDocument[IndexValue] = _IndexDocument(
            self, storage, self.key, empty=empty_index, check=check_index,
            max_attempts=max_attempts,
        )
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._cached: IndexSnapshot | None = None

    def snapshot(self) -> IndexSnapshot:
        """The current index: one ``stat``, plus a download only if it changed.

        Raises:
            DocumentDamaged: the stored index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        version = self._stored_version()
        cached = self._cached
        if cached is not None and cached.version == version:
            return cached
        with self._lock:
            cached = self._cached
            if cached is not None and cached.version == version:
                return cached
            try:
                raw, info = self.storage.read(self.key)
            except ObjectNotFound:
                snapshot = IndexSnapshot.build(empty_index(), None)
            else:
                snapshot = IndexSnapshot.build(self.document.parse(raw), info.version)
            self._cached = snapshot
            return snapshot

    def update(self, mutate: Callable[[IndexValue], Any]) -> Any:
        """Change the index by compare-and-swap and refresh the cache with what was written.

        ``mutate`` changes the value in place and may run several times, each
        time on a fresh value; it returns the caller's result, or
        ``Unchanged(result)`` to skip the write. It may add, remove and
        replace records in ``value["images"]`` but must not edit a record
        dict in place: records are shared with the cached snapshot (copy one
        with ``dict(record)``, change the copy, store the copy).

        Raises:
            Conflict: too many concurrent writers for too long.
            DocumentDamaged: the stored index cannot be read (nothing is written).
            StorageUnavailable: the storage did not answer.
            GalleryError: whatever ``mutate`` raises (nothing is written).
        """
        result, loaded = self.document.update(mutate)
        self._install(IndexSnapshot.build(loaded.value, loaded.version))
        return result

    def rebuild(self, mutate: Callable[[IndexValue], Any]) -> tuple[Any, bool]:
        """Like :meth:`update`, but a damaged index is handed to ``mutate`` as empty.

        This is the repair path (``reindex``): the only place a damaged index
        is replaced.

        Returns:
            ``(result of mutate, whether the stored index was damaged)``.

        Raises:
            Conflict: too many concurrent writers for too long.
            StorageUnavailable: the storage did not answer.
            GalleryError: whatever ``mutate`` raises (nothing is written).
        """
        for attempt in range(self._max_attempts):
            damaged = False
            try:
                raw, info = self.storage.read(self.key)
            except ObjectNotFound:
                value, version = empty_index(), None
            else:
                version = info.version
                try:
                    value = self.document.parse(raw)
                except DocumentDamaged:
                    value, damaged = empty_index(), True
            result = mutate(value)
            if isinstance(result, Unchanged) and not damaged:
                self._install(IndexSnapshot.build(value, version))
                return result.result, damaged
            if isinstance(result, Unchanged):
                result = result.result
            try:
                written = self.document.save(value, version)
            except PreconditionFailed:
                time.sleep(min(0.5, 0.005 * 2 ** min(attempt, 7)) * random.random())
                continue
            self._install(IndexSnapshot.build(value, written))
            return result, damaged
        raise Conflict(f"Too many concurrent changes to {self.key!r}; please try again.")

    def forget(self) -> None:
        """Drop the cached snapshot (the next call downloads again)."""
        with self._lock:
            self._cached = None

    def _install(self, snapshot: IndexSnapshot) -> None:
        with self._lock:
            self._cached = snapshot

    def _stored_version(self) -> str | None:
        try:
            return self.storage.stat(self.key).version
        except ObjectNotFound:
            return None
