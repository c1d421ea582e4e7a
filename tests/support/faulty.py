"""A storage wrapper that fails or stalls on a schedule, to prove retries and clean 503s.

    flaky = FaultyStorage(MemoryStorage(), fail_on={"put"}, fail_times=2)
    flaky.put("k", b"1")   # StorageUnavailable
    flaky.put("k", b"1")   # StorageUnavailable
    flaky.put("k", b"1")   # stored: the schedule is spent

    down = FaultyStorage(inner, fail_on="*")   # every call fails until down.heal()
    lost = FaultyStorage(inner, fail_on={"put"}, fail_times=1, after=True)
    # the write happens, then its answer is "lost": what a timeout after commit looks like

Only the port's primitive operations are scheduled (:data:`OPERATIONS`);
``get``, ``exists`` and ``list`` go through ``read``, ``stat`` and
``list_page`` respectively, as the port's defaults do.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import BinaryIO

from gallery.errors import StorageUnavailable
from gallery.storage.base import DEFAULT_CONTENT_TYPE, Data, ListPage, ObjectInfo, Storage

OPERATIONS = frozenset(
    {"put", "delete", "read", "open", "stat", "list_page", "local_path"}
)
_DERIVED = {"get": "read", "exists": "stat", "list": "list_page"}

#: Decides per call whether it is affected: ``(operation, key or prefix) -> bool``.
Schedule = Callable[[str, str], bool]


def _schedule(fail_on: str | Iterable[str] | Schedule) -> Schedule:
    if callable(fail_on):
        return fail_on
    names = {fail_on} if isinstance(fail_on, str) else set(fail_on)
    if "*" in names:
        return lambda op, key: True
    for name in names:
        if name not in OPERATIONS:
            hint = f" (schedule {_DERIVED[name]!r}: {name} goes through it)" if name in _DERIVED else ""
            raise ValueError(f"unknown storage operation {name!r}{hint}")
    return lambda op, key: op in names


class FaultyStorage(Storage):
    """Delegates to ``inner``; calls the schedule picks are delayed and/or fail.

    Args:
        inner: the backend that does the work.
        fail_on: operation names, ``"*"`` for all, or a ``(operation, key) -> bool``
            callable. Empty: nothing is affected until :meth:`fail` is called.
        fail_times: how many affected calls fail before the fault heals by
            itself; ``None`` fails them all until :meth:`heal`; ``0`` only delays.
        delay: seconds every affected call sleeps first (a slow backend).
        after: fail *after* the inner call did its work (the reply was lost).
    """

    def __init__(
        self,
        inner: Storage,
        *,
        fail_on: str | Iterable[str] | Schedule = (),
        fail_times: int | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> None:
        self.inner = inner
        self.scheme = inner.scheme
        self.delay = delay
        self.calls: Counter[str] = Counter()  # every call, per operation
        self.failures: Counter[str] = Counter()  # injected failures, per operation
        self._lock = threading.Lock()
        self._schedule: Schedule = _schedule(fail_on)
        self._left = fail_times
        self._after = after

    # -- controlling the fault ---------------------------------------------------

    def fail(
        self,
        fail_on: str | Iterable[str] | Schedule = "*",
        *,
        times: int | None = None,
        after: bool = False,
    ) -> None:
        """Arm a new fault: ``times`` affected calls fail (all, until healed, when ``None``)."""
        with self._lock:
            self._schedule = _schedule(fail_on)
            self._left = times
            self._after = after

    def heal(self) -> None:
        """Stop failing and delaying; later calls reach the inner backend untouched."""
        with self._lock:
            self._schedule = lambda op, key: False
            self._left = 0
            self.delay = 0.0

    @property
    def total_failures(self) -> int:
        return sum(self.failures.values())

    def _gate(self, op: str, key: str) -> tuple[bool, bool]:
        """Count the call; return (fail it, fail it after the inner call)."""
        with self._lock:
            self.calls[op] += 1
            affected = self._schedule(op, key)
            delay = self.delay if affected else 0.0
            failing = affected and (self._left is None or self._left > 0)
            if failing:
                if self._left is not None:
                    self._left -= 1
                self.failures[op] += 1
            after = self._after
        if delay:
            time.sleep(delay)
        return failing, failing and after

    def _fault(self, op: str, key: str) -> StorageUnavailable:
        return StorageUnavailable(
            f"The storage did not answer ({op} {key!r}); this fault was scheduled.", retry_after=1
        )

    def _call(self, op: str, key: str, call: Callable[[], object]) -> object:
        failing, after = self._gate(op, key)
        if failing and not after:
            raise self._fault(op, key)
        result = call()
        if after:
            if hasattr(result, "close"):
                result.close()  # an opened stream nobody will get
            raise self._fault(op, key)
        return result

    # -- the port ----------------------------------------------------------------

    def describe(self) -> str:
        return f"{self.inner.describe()} (with scheduled faults)"

    @property
    def location(self) -> str:
        return self.inner.location

    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        if_absent: bool = False,
        if_version: str | None = None,
    ) -> ObjectInfo:
        return self._call(  # type: ignore[return-value]
            "put",
            key,
            lambda: self.inner.put(
                key, data, content_type=content_type, if_absent=if_absent, if_version=if_version
            ),
        )

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        self._call("delete", key, lambda: self.inner.delete(key, missing_ok=missing_ok))

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        return self._call("read", key, lambda: self.inner.read(key))  # type: ignore[return-value]

    def open(self, key: str) -> BinaryIO:
        return self._call("open", key, lambda: self.inner.open(key))  # type: ignore[return-value]

    def stat(self, key: str) -> ObjectInfo:
        return self._call("stat", key, lambda: self.inner.stat(key))  # type: ignore[return-value]

    def local_path(self, key: str) -> str | None:
        return self._call("local_path", key, lambda: self.inner.local_path(key))  # type: ignore[return-value]

    def list_page(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> ListPage:
        return self._call(  # type: ignore[return-value]
            "list_page",
            prefix,
            lambda: self.inner.list_page(
                prefix,
                start_offset=start_offset,
                end_offset=end_offset,
                page_size=page_size,
                page_token=page_token,
            ),
        )

    def close(self) -> None:
        self.inner.close()
