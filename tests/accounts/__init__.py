"""Tests of accounts, API tokens, the sign-in throttle and the shared session key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gallery.storage.base import ObjectInfo
from gallery.storage.memory import MemoryStorage


class FakeClock:
    """A clock that only moves when told to; callable as ``datetime`` or epoch seconds."""

    def __init__(self, start: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class HookedStorage(MemoryStorage):
    """A memory bucket that can run a hook before a read or a write (to stage races and faults)."""

    def __init__(self) -> None:
        super().__init__()
        self.before_put: Callable[[str], None] | None = None
        self.before_read: Callable[[str], None] | None = None
        self.puts = 0

    def put(self, key: str, data: Any, **kwargs: Any) -> ObjectInfo:
        hook, self.before_put = self.before_put, None  # each hook runs once
        if hook is not None:
            hook(key)
        self.puts += 1
        return super().put(key, data, **kwargs)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        hook, self.before_read = self.before_read, None
        if hook is not None:
            hook(key)
        return super().read(key)
