"""A storage wrapper that counts the calls and the bytes written, per operation."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, BinaryIO

from gallery.storage.base import DEFAULT_CONTENT_TYPE, Data, ListPage, ObjectInfo, Storage


class CountingStorage(Storage):
    """Passes every call to ``inner``; ``calls`` counts them by operation, ``written``
    sums the bytes put, ``keys`` lists ``(operation, key)`` in order."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.scheme = inner.scheme
        self.calls: Counter[str] = Counter()
        self.written = 0
        self.keys: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.written = 0
            self.keys.clear()

    def _note(self, op: str, key: str, size: int = 0) -> None:
        with self._lock:
            self.calls[op] += 1
            self.written += size
            self.keys.append((op, key))

    def describe(self) -> str:
        return self.inner.describe()

    @property
    def location(self) -> str:
        return self.inner.location

    def put(self, key: str, data: Data, *, content_type: str = DEFAULT_CONTENT_TYPE,
            if_absent: bool = False, if_version: str | None = None) -> ObjectInfo:
        size = len(data) if isinstance(data, (bytes, bytearray)) else 0
        self._note("put", key, size)
        return self.inner.put(key, data, content_type=content_type, if_absent=if_absent,
                              if_version=if_version)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        self._note("delete", key)
        self.inner.delete(key, missing_ok=missing_ok)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        self._note("read", key)
        return self.inner.read(key)

    def open(self, key: str) -> BinaryIO:
        self._note("open", key)
        return self.inner.open(key)

    def stat(self, key: str) -> ObjectInfo:
        self._note("stat", key)
        return self.inner.stat(key)

    def local_path(self, key: str) -> str | None:
        return self.inner.local_path(key)

    def list_page(self, prefix: str = "", **kwargs: Any) -> ListPage:
        self._note("list", prefix)
        return self.inner.list_page(prefix, **kwargs)

    def close(self) -> None:
        self.inner.close()
