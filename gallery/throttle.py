"""Throttling of failed sign-ins, per account and per client address.

The counters are small JSON objects in the bucket (``throttle/<sha256>.json``),
updated by compare-and-swap, so every gunicorn worker and every machine that
shares the bucket counts the same failures. Each counter holds the times of its
most recent failures (a sliding window); names and addresses are only stored
hashed.

The throttle fails closed: when the storage does not answer, :meth:`check`
raises :class:`~gallery.errors.StorageUnavailable` (a 503) rather than letting
a sign-in through uncounted.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gallery.documents import JsonDocument, Unchanged
from gallery.errors import TooManyAttempts
from gallery.keys import Keys
from gallery.storage.base import Storage


def normalize_account(username: str) -> str:
    """How a typed username is counted: stripped and lower case."""
    return username.strip().lower() if isinstance(username, str) else ""


def _empty() -> dict[str, Any]:
    return {"failures": []}


def _check_counter(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("the counter is not an object")
    failures = value.get("failures")
    if not isinstance(failures, list) or not all(
        type(t) in (int, float) and math.isfinite(t) for t in failures
    ):
        raise ValueError("'failures' is not a list of times")
    return value


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


#: An address may fail this many times as often as one account.
ADDRESS_FACTOR = 4


@dataclass(frozen=True, slots=True)
class _Counter:
    what: str  # "this account", "this address"
    doc: JsonDocument[dict[str, Any]]
    limit: int  # failures allowed within the window


class LoginThrottle:
    """Counts failed sign-ins and refuses more once there were too many.

    Args:
        storage: the bucket.
        keys: builds the counters' keys.
        attempts: failures allowed per account within ``window``. An address
            may fail ``ADDRESS_FACTOR`` times as often, so that people sharing
            one address (an office, a phone network) are not all locked out by
            one person's typing.
        window: the sliding window, in seconds.
        clock: the current time in seconds since the epoch; tests inject their own.

    Raises:
        ValueError: ``attempts`` or ``window`` is not positive.
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        *,
        attempts: int,
        window: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if attempts < 1 or window <= 0:
            raise ValueError("attempts and window must be positive")
        self._storage = storage
        self._keys = keys
        self.attempts = attempts
        self.window = window
        self._clock = clock

    def _counter(self, kind: str, value: str) -> _Counter:
        digest = hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()
        doc: JsonDocument[dict[str, Any]] = JsonDocument(
            self._storage, self._keys.throttle(digest), empty=_empty, check=_check_counter
        )
        limit = self.attempts * (ADDRESS_FACTOR if kind == "address" else 1)
        return _Counter(f"this {kind}", doc, limit)

    def _counters(self, username: str, address: str | None) -> list[_Counter]:
        counters = [self._counter("account", normalize_account(username))]
        if address:
            counters.append(self._counter("address", address.strip()))
        return counters

    def _recent(self, failures: list[float], now: float, limit: int | None = None) -> list[float]:
        """The failures still inside the window, at most ``limit`` of them, oldest first.

        Times ahead of ``now`` (another machine's clock running fast) still count.
        """
        recent = sorted(t for t in failures if t > now - self.window)
        return recent[-(limit or self.attempts):]

    def retry_after(self, failures: list[float], now: float, limit: int | None = None) -> int:
        """Seconds until one more attempt is allowed (0: allowed now)."""
        limit = limit or self.attempts
        recent = self._recent(failures, now, limit)
        if len(recent) < limit:
            return 0
        return max(1, math.ceil(recent[0] + self.window - now))

    def check(self, username: str, address: str | None) -> None:
        """Refuse a sign-in attempt while its account or address is throttled.

        Raises:
            TooManyAttempts: ``attempts`` failures within ``window`` seconds for
                the account or the address; ``retry_after`` says for how long.
            StorageUnavailable: the storage did not answer (fail closed).
            DocumentDamaged: a counter object is damaged (fail closed).
        """
        now = self._clock()
        wait, what = 0, ""
        for counter in self._counters(username, address):  # the account first: it wins ties
            counter_wait = self.retry_after(counter.doc.load().value["failures"], now, counter.limit)
            if counter_wait > wait:
                wait, what = counter_wait, counter.what
        if wait:
            raise TooManyAttempts(
                f"Too many failed sign-ins for {what}; try again in {_wait_text(wait)}.",
                retry_after=wait,
            )

    def record_failure(self, username: str, address: str | None) -> None:
        """Count one failed sign-in against the account and the address.

        Raises:
            StorageUnavailable: the storage did not answer.
            Conflict: too many concurrent writers to a counter.
            DocumentDamaged: a counter object is damaged.
        """
        now = self._clock()

        for counter in self._counters(username, address):
            limit = counter.limit

            def mutate(value: dict[str, Any], limit: int = limit) -> None:
                value["failures"] = self._recent([*value["failures"], now], now, limit)

            counter.doc.update(mutate)

    def record_success(self, username: str, address: str | None) -> None:
        """Forget the account's failures after a successful sign-in.

        The address's failures are kept: one good password from an address
        does not excuse its guesses at other accounts.

        Raises:
            StorageUnavailable: the storage did not answer.
            DocumentDamaged: the account's counter object is damaged.
        """
        counter = self._counter("account", normalize_account(username))

        def mutate(value: dict[str, Any]) -> Any:
            if not value["failures"]:
                return Unchanged()
            value["failures"] = []
            return None

        counter.doc.update(mutate)

    def failures(self, username: str | None = None, address: str | None = None) -> int:
        """How many failures within the window one counter holds (capped at ``attempts``).

        Give either ``username`` or ``address``.

        Raises:
            StorageUnavailable: the storage did not answer.
            DocumentDamaged: the counter object is damaged.
        """
        if (username is None) == (address is None):
            raise ValueError("give either username or address")
        if username is not None:
            counter = self._counter("account", normalize_account(username))
        else:
            counter = self._counter("address", (address or "").strip())
        return len(self._recent(counter.doc.load().value["failures"], self._clock(), counter.limit))
