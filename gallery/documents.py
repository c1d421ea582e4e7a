"""JSON documents in the bucket, updated by compare-and-swap.

A document (the index, the users) is one object. Writers read it with its
version, change it in memory and write it back only if the version still
matches; on :class:`PreconditionFailed` they read again and re-apply their
change. That holds across threads, gunicorn workers and machines that share the
bucket, because the storage itself checks the version.

A damaged document (not JSON, or not the expected shape) is never overwritten:
:class:`DocumentDamaged` stops every writer until someone repairs it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from gallery.errors import Conflict, GalleryError, ObjectNotFound, PreconditionFailed
from gallery.storage.base import Storage

T = TypeVar("T")

JSON_TYPE = "application/json"


class DocumentDamaged(GalleryError):
    """A stored document cannot be read; it is left as it is for a person to repair."""

    status, code = 503, "document_damaged"
    default_message = "A stored document is damaged."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "60"}


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """A document's parsed value and the storage version it was read at."""

    value: T
    version: str | None  # None: the object does not exist yet


class JsonDocument(Generic[T]):
    """One JSON object in the bucket, read and updated by compare-and-swap.

    Args:
        storage: the bucket.
        key: the object's key (from :class:`gallery.keys.Keys`).
        empty: builds the value of a document that does not exist yet.
        check: validates a parsed value (raise ``ValueError`` if it is not of
            the expected shape); returns the value to use.
        max_attempts: how many times an update is tried before giving up
            with :class:`Conflict`.
    """

    def __init__(
        self,
        storage: Storage,
        key: str,
        *,
        empty: Callable[[], T],
        check: Callable[[Any], T] = lambda value: value,
        max_attempts: int = 50,
    ) -> None:
        self.storage = storage
        self.key = key
        self._empty = empty
        self._check = check
        self._max_attempts = max_attempts
        self._cached: Loaded[T] | None = None
        self._cache_lock = threading.Lock()

    def parse(self, raw: bytes) -> T:
        """Parse and validate stored bytes.

        Raises:
            DocumentDamaged: the bytes are not a valid document.
        """
        try:
            return self._check(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as err:
            raise DocumentDamaged(
                f"The stored document {self.key!r} is damaged ({err}); it was left untouched."
            ) from err

    def load(self) -> Loaded[T]:
        """The current value and its version (an empty value if absent).

        Raises:
            DocumentDamaged: the stored bytes are not a valid document.
            StorageUnavailable: the storage did not answer.
        """
        try:
            raw, info = self.storage.read(self.key)
        except ObjectNotFound:
            return Loaded(self._empty(), None)
        return Loaded(self.parse(raw), info.version)

    def load_cached(self) -> Loaded[T]:
        """Like :meth:`load`, but a value unchanged since the last call is not downloaded again.

        One ``stat`` checks the stored version; the object is read and parsed
        only when it changed. The value is shared between callers: read it,
        never change it (use :meth:`update` to change the document).

        Raises:
            DocumentDamaged: the stored bytes are not a valid document.
            StorageUnavailable: the storage did not answer.
        """
        try:
            version: str | None = self.storage.stat(self.key).version
        except ObjectNotFound:
            version = None
        cached = self._cached
        if cached is not None and cached.version == version:
            return cached
        with self._cache_lock:
            cached = self._cached
            if cached is None or cached.version != version:
                cached = self._cached = self.load()
            return cached

    def save(self, value: T, version: str | None) -> str:
        """Write ``value`` if the stored version is still ``version``; return the new version.

        Raises:
            PreconditionFailed: someone else wrote first.
        """
        body = orjson.dumps(value)
        if version is None:
            info = self.storage.put(self.key, body, content_type=JSON_TYPE, if_absent=True)
        else:
            info = self.storage.put(self.key, body, content_type=JSON_TYPE, if_version=version)
        return info.version

    def update(self, mutate: Callable[[T], Any]) -> tuple[Any, Loaded[T]]:
        """Apply ``mutate`` to the current value and store it, retrying on conflicts.

        ``mutate`` changes the value in place (it may be called several times,
        each time on a freshly read value, so it must not have other side
        effects) and returns a result for the caller. Returning
        ``Unchanged(result)`` skips the write.

        Returns:
            ``(result of mutate, the document as stored afterwards)``.

        Raises:
            Conflict: still losing races after ``max_attempts`` tries.
            DocumentDamaged: the stored document is damaged.
            GalleryError: whatever ``mutate`` raises (nothing is written then).
        """
        for attempt in range(self._max_attempts):
            current = self.load()
            result = mutate(current.value)
            if isinstance(result, Unchanged):
                return result.result, current
            try:
                version = self.save(current.value, current.version)
            except PreconditionFailed:
                # Someone else won this round: back off a little, with jitter, and retry.
                time.sleep(min(0.5, 0.005 * 2 ** min(attempt, 7)) * random.random())
                continue
            return result, Loaded(current.value, version)
        raise Conflict(f"Too many concurrent changes to {self.key!r}; please try again.")


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Returned by a mutate function that decided not to change anything."""

    result: Any = None
