"""Throttling of sign-in attempts, so guessing is slow and nobody else is locked out.

Three counters take part in every attempt, each a small JSON object in the
bucket (``throttle/<sha256>.json``) updated by compare-and-swap, so every
gunicorn worker and every machine that shares the bucket counts the same
attempts. Each holds the times of its most recent attempts (a sliding window);
names and addresses are only stored hashed.

- **The account from one address** may fail ``attempts`` times within the
  window; then that address waits before trying that account again.
- **One address** may fail ``ADDRESS_FACTOR`` times as often, across accounts.
- **The account as a whole** is never locked: usernames are public, and a
  stranger's guesses must not keep the owner out. Once it has ``attempts``
  failures within the window (from anywhere), an address that already failed
  on it waits longer before each further try (1 s, 2 s, 4 s ... up to the
  window). An address that has not failed on it is not slowed, so the owner
  signing in from elsewhere gets in while an attacker hammers.

An attempt is counted *before* its password is checked (:meth:`reserve`, by
compare-and-swap), so a burst of parallel guesses never gets more than the
limit checked; a correct password then takes its reservation back
(:meth:`succeeded`). The throttle fails closed: when the storage does not
answer, :meth:`reserve` raises :class:`~gallery.errors.StorageUnavailable` (a
503) rather than letting an attempt through uncounted.
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


#: An address may fail this many times as often as one account from it.
ADDRESS_FACTOR = 4
#: The first wait of an address that keeps failing on an account under attack, in seconds.
SLOW_DOWN_BASE = 1.0
#: Attempts an account's own counter keeps beyond ``attempts`` (its wait stops growing there).
ACCOUNT_KEEP = 32


def _without(failures: list[float], stamp: float) -> list[float]:
    """``failures`` less one entry equal to ``stamp``."""
    kept = list(failures)
    if stamp in kept:
        kept.remove(stamp)
    return kept


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt counted by :meth:`LoginThrottle.reserve`."""

    account: str
    address: str
    stamp: float


class LoginThrottle:
    """Counts sign-in attempts and refuses those over the limits (see the module's text).

    Args:
        storage: the bucket.
        keys: builds the counters' keys.
        attempts: failures allowed for one account from one address within ``window``.
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

    def _doc(self, kind: str, value: str) -> JsonDocument[dict[str, Any]]:
        digest = hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()
        return JsonDocument(
            self._storage, self._keys.throttle(digest), empty=_empty, check=_check_counter
        )

    def _pair(self, account: str, address: str) -> JsonDocument[dict[str, Any]]:
        return self._doc("pair", f"{account}\x00{address}")

    def _address(self, address: str) -> JsonDocument[dict[str, Any]]:
        return self._doc("address", address)

    def _account(self, account: str) -> JsonDocument[dict[str, Any]]:
        return self._doc("account", account)

    def _recent(self, failures: list[float], now: float, keep: int) -> list[float]:
        """The failures still inside the window, at most ``keep`` of them, oldest first.

        Times ahead of ``now`` (another machine's clock running fast) still count.
        """
        recent = sorted(t for t in failures if t > now - self.window)
        return recent[-keep:]

    def slow_down(self, account_failures: int) -> float:
        """Seconds an address that failed on an account waits between tries, given its failures."""
        if account_failures < self.attempts:
            return 0.0
        return min(float(self.window), SLOW_DOWN_BASE * 2 ** (account_failures - self.attempts))

    def _refuse(self, wait: float, what: str) -> TooManyAttempts:
        seconds = max(1, math.ceil(wait))
        return TooManyAttempts(
            f"Too many failed sign-ins {what}; try again in {_wait_text(seconds)}.",
            retry_after=seconds,
        )

    def reserve(self, username: str, address: str | None) -> Attempt:
        """Count a sign-in attempt before its password is checked, or refuse it.

        Each counter is updated by compare-and-swap, so of many parallel
        attempts no more than the limits allow are let through.

        Raises:
            TooManyAttempts: this address failed too often on this account, or
                on any account, or must wait while the account is under attack;
                ``retry_after`` says for how long.
            StorageUnavailable: the storage did not answer (fail closed).
            DocumentDamaged: a counter object is damaged (fail closed).
            Conflict: too many concurrent writers to a counter.
        """
        account = normalize_account(username)
        where = (address or "").strip()
        now = self._clock()
        account_doc = self._account(account)
        keep = self.attempts + ACCOUNT_KEEP
        under_attack = len(self._recent(account_doc.load().value["failures"], now, keep))
        delay = self.slow_down(under_attack)

        def take_pair(value: dict[str, Any]) -> None:
            recent = self._recent(value["failures"], now, self.attempts)
            if len(recent) >= self.attempts:
                raise self._refuse(recent[0] + self.window - now,
                                   "for this account from your address")
            if recent and delay and now < recent[-1] + delay:
                raise self._refuse(recent[-1] + delay - now, "for this account")
            value["failures"] = [*recent, now]

        def take_address(value: dict[str, Any]) -> None:
            limit = self.attempts * ADDRESS_FACTOR
            recent = self._recent(value["failures"], now, limit)
            if len(recent) >= limit:
                raise self._refuse(recent[0] + self.window - now, "from your address")
            value["failures"] = [*recent, now]

        def take_account(value: dict[str, Any]) -> None:
            value["failures"] = self._recent([*value["failures"], now], now, keep)

        pair = self._pair(account, where)
        pair.update(take_pair)
        try:
            self._address(where).update(take_address)
        except TooManyAttempts:
            self._give_back(pair, now)
            raise
        account_doc.update(take_account)
        return Attempt(account, where, now)

    @staticmethod
    def _give_back(doc: JsonDocument[dict[str, Any]], stamp: float) -> None:
        def mutate(value: dict[str, Any]) -> Any:
            if stamp not in value["failures"]:
                return Unchanged()
            value["failures"] = _without(value["failures"], stamp)
            return None

        doc.update(mutate)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget this address's failures on the account.

        The attempt no longer counts against the address or the account; the
        address's other failures are kept (one good password does not excuse
        its guesses at other accounts), and so are the account's failures from
        elsewhere.

        Raises:
            StorageUnavailable: the storage did not answer.
            DocumentDamaged: a counter object is damaged.
            Conflict: too many concurrent writers to a counter.
        """

        def clear(value: dict[str, Any]) -> Any:
            if not value["failures"]:
                return Unchanged()
            value["failures"] = []
            return None

        self._pair(attempt.account, attempt.address).update(clear)
        self._give_back(self._address(attempt.address), attempt.stamp)
        self._give_back(self._account(attempt.account), attempt.stamp)

    def failures(self, username: str | None = None, address: str | None = None) -> int:
        """How many failures within the window a counter holds.

        Both ``username`` and ``address``: the account from that address; only
        one of them: the whole account, or the address across accounts.

        Raises:
            ValueError: neither was given.
            StorageUnavailable: the storage did not answer.
            DocumentDamaged: the counter object is damaged.
        """
        if username is None and address is None:
            raise ValueError("give username, address or both")
        if username is not None and address is not None:
            doc, keep = self._pair(normalize_account(username), address.strip()), self.attempts
        elif username is not None:
            doc, keep = self._account(normalize_account(username)), self.attempts + ACCOUNT_KEEP
        else:
            doc, keep = self._address((address or "").strip()), self.attempts * ADDRESS_FACTOR
        return len(self._recent(doc.load().value["failures"], self._clock(), keep))
