"""A shelf: small JSON objects under one prefix (the albums, the share links), each
changed by compare-and-swap, read through a cache kept per stored version.

A listing names every object with its version, so reading all of them costs one
listing request plus a read of those that changed since the last look. One
object is checked with a ``stat`` (or, where a few seconds of delay is allowed,
not at all until :data:`RECHECK_SECONDS` have passed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import orjson

from gallery.catalog.catalog import backoff
from gallery.documents import JSON_TYPE, DocumentDamaged
from gallery.errors import Conflict, ObjectNotFound, PreconditionFailed
from gallery.storage.base import Storage

T = TypeVar("T")

#: How long a value read for a share link's media is trusted before it is checked again.
RECHECK_SECONDS = 2.0
#: Objects read at once when the whole shelf is read.
READERS = 8
MAX_ATTEMPTS = 50


class Shelf(Generic[T]):
    """The JSON objects under ``prefix`` whose names ``name_of`` accepts.

    Args:
        storage: the bucket.
        prefix: where the objects are.
        name_of: the name (id) an object key holds, or ``None`` to skip the key.
        key_of: the key of a name.
        parse: builds a value from parsed JSON and its name (raises ``ValueError``).
        dump: the JSON of a value.
        clock: seconds, for :data:`RECHECK_SECONDS` (tests pass their own).
    """

    def __init__(self, storage: Storage, prefix: str, *, name_of: Callable[[str], str | None],
                 key_of: Callable[[str], str], parse: Callable[[Any, str], T],
                 dump: Callable[[T], Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.prefix = prefix
        self._name_of = name_of
        self._key_of = key_of
        self._parse = parse
        self._dump = dump
        self._clock = clock
        self._lock = threading.Lock()
        #: name -> (version, value, when checked)
        self._cache: dict[str, tuple[str, T, float]] = {}

    # -- reading ----------------------------------------------------------------------

    def _decode(self, name: str, raw: bytes) -> T:
        try:
            return self._parse(orjson.loads(raw), name)
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as err:
            raise DocumentDamaged(
                f"The stored object {self._key_of(name)!r} is damaged ({err}); "
                "it was left untouched.") from err

    def _read(self, name: str) -> tuple[str, T] | None:
        try:
            raw, info = self.storage.read(self._key_of(name))
        except ObjectNotFound:
            with self._lock:
                self._cache.pop(name, None)
            return None
        value = self._decode(name, raw)
        with self._lock:
            self._cache[name] = (info.version, value, self._clock())
        return info.version, value

    def get(self, name: str, *, recent: bool = False) -> tuple[str, T] | None:
        """``(version, value)`` of one object, or ``None`` if there is none.

        Args:
            recent: a value checked within :data:`RECHECK_SECONDS` is used
                without asking the storage.

        Raises:
            DocumentDamaged: the object is damaged.
            StorageUnavailable: the storage did not answer.
        """
        cached = self._cache.get(name)
        if cached is not None and recent and self._clock() - cached[2] < RECHECK_SECONDS:
            return cached[0], cached[1]
        try:
            version = self.storage.stat(self._key_of(name)).version
        except ObjectNotFound:
            with self._lock:
                self._cache.pop(name, None)
            return None
        if cached is not None and cached[0] == version:
            with self._lock:
                self._cache[name] = (version, cached[1], self._clock())
            return version, cached[1]
        return self._read(name)

    def names(self) -> dict[str, str]:
        """Every object's name and version, from one listing."""
        found: dict[str, str] = {}
        for info in self.storage.list(self.prefix):
            name = self._name_of(info.key)
            if name is not None:
                found[name] = info.version
        return found

    def all(self, *, damaged: list[str] | None = None) -> dict[str, tuple[str, T]]:
        """Every object as ``name -> (version, value)``.

        Args:
            damaged: when given, the names of damaged objects are added to it and
                they are left out; otherwise a damaged object raises.

        Raises:
            DocumentDamaged: an object is damaged (and ``damaged`` is not given).
            StorageUnavailable: the storage did not answer.
        """
        listed = self.names()
        out: dict[str, tuple[str, T]] = {}
        stale: list[str] = []
        for name, version in listed.items():
            cached = self._cache.get(name)
            if cached is not None and cached[0] == version:
                out[name] = (version, cached[1])
            else:
                stale.append(name)

        def read(name: str) -> tuple[str, tuple[str, T] | None]:
            try:
                return name, self._read(name)
            except DocumentDamaged:
                if damaged is None:
                    raise
                damaged.append(name)
                return name, None

        if stale:
            with ThreadPoolExecutor(min(READERS, len(stale))) as pool:
                for name, found in pool.map(read, stale):
                    if found is not None:
                        out[name] = found
        with self._lock:
            for name in list(self._cache):
                if name not in listed:
                    del self._cache[name]
        return out

    def values(self) -> Iterator[T]:
        for _, value in self.all().values():
            yield value

    # -- writing ----------------------------------------------------------------------

    def _put(self, name: str, value: T, *, version: str | None) -> str:
        body = orjson.dumps(self._dump(value))
        key = self._key_of(name)
        if version is None:
            info = self.storage.put(key, body, content_type=JSON_TYPE, if_absent=True)
        else:
            info = self.storage.put(key, body, content_type=JSON_TYPE, if_version=version)
        with self._lock:
            self._cache[name] = (info.version, value, self._clock())
        return info.version

    def create(self, name: str, value: T) -> None:
        """Store a new object.

        Raises:
            PreconditionFailed: one with this name exists already.
        """
        self._put(name, value, version=None)

    def update(self, name: str, change: Callable[[T], T | None]) -> T | None:
        """Apply ``change`` to the current value and store the result by compare-and-swap,
        again on a fresh value whenever another writer came first.

        ``change`` returns the new value, or ``None`` to leave the object as it is;
        it may be called several times and must have no other effects.

        Returns:
            The value stored (or left), ``None`` if there is no such object.

        Raises:
            Conflict: still losing races after many tries.
            DocumentDamaged, StorageUnavailable; whatever ``change`` raises.
        """
        for attempt in range(MAX_ATTEMPTS):
            found = self.get(name)
            if found is None:
                return None
            version, current = found
            new = change(current)
            if new is None:
                return current
            try:
                self._put(name, new, version=version)
            except PreconditionFailed:
                backoff(attempt)
                continue
            return new
        raise Conflict(f"Too many concurrent changes to {self._key_of(name)!r}; try again.")

    def delete(self, name: str) -> None:
        """Remove an object (already gone is fine)."""
        self.storage.delete(self._key_of(name), missing_ok=True)
        with self._lock:
            self._cache.pop(name, None)
