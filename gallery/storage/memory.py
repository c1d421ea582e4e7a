"""``memory://``: objects in this process's memory, one store per instance (for tests)."""

from __future__ import annotations

import io
import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from gallery.errors import ObjectNotFound, PreconditionFailed
from gallery.storage.base import (
    DEFAULT_CONTENT_TYPE,
    Data,
    ListPage,
    ObjectInfo,
    Storage,
    as_stream,
    check_conditions,
    check_key,
    check_page_size,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    data: bytes
    info: ObjectInfo


class MemoryStorage(Storage):
    """A bucket held in a dict owned by this instance; safe across threads."""

    scheme = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    def describe(self) -> str:
        return "memory:// (in this process only; nothing survives a restart)"

    def _entry(self, key: str) -> _Entry:
        check_key(key)
        try:
            return self._objects[key]
        except KeyError:
            raise ObjectNotFound(key) from None

    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        if_absent: bool = False,
        if_version: str | None = None,
    ) -> ObjectInfo:
        check_key(key)
        check_conditions(if_absent, if_version)
        payload = as_stream(data).read()
        with self._lock:
            current = self._objects.get(key)
            if if_absent and current is not None:
                raise PreconditionFailed(key, f"{key!r} already exists.")
            if if_version is not None and (current is None or current.info.version != if_version):
                raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.")
            info = ObjectInfo(
                key=key,
                size=len(payload),
                content_type=content_type or DEFAULT_CONTENT_TYPE,
                version=str(next(self._versions)),
                updated=datetime.now(UTC),
            )
            self._objects[key] = _Entry(payload, info)
            return info

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        check_key(key)
        with self._lock:
            if self._objects.pop(key, None) is None and not missing_ok:
                raise ObjectNotFound(key)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        entry = self._entry(key)
        return entry.data, entry.info

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._entry(key).data)

    def stat(self, key: str) -> ObjectInfo:
        return self._entry(key).info

    def list_page(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> ListPage:
        check_page_size(page_size)
        with self._lock:
            keys = sorted(
                (k for k in self._objects if k.startswith(prefix)),
                key=lambda k: k.encode("utf-8"),
            )
            infos = [self._objects[k].info for k in keys]
        selected = [
            info
            for info in infos
            if (start_offset is None or info.key.encode() >= start_offset.encode())
            and (end_offset is None or info.key.encode() < end_offset.encode())
            and (page_token is None or info.key.encode() > page_token.encode())
        ]
        page = selected[:page_size]
        more = len(selected) > page_size
        return ListPage(items=page, next_token=page[-1].key if more else None)
