"""Bounded retries with exponential backoff and full jitter, for storage calls.

Backends decide *what* is safe to retry (reads, listings, deletes, conditional
writes, rewindable unconditional writes) and which errors are transient; this
module only decides *when* to try again and when to give up. The network
backends give every storage call a deadline of ``GALLERY_STORAGE_TIMEOUT``
seconds, retries included (see :mod:`gallery.storage.gcs`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a call is tried again.

    Attributes:
        attempts: tries in all, the first one included (1 means no retry).
        initial: the first backoff ceiling in seconds.
        multiplier: how much the ceiling grows after each try.
        maximum: the largest ceiling in seconds.
        deadline: seconds after the first try starts past which no new try
            begins.
    """

    attempts: int = 4
    initial: float = 0.25
    multiplier: float = 2.0
    maximum: float = 4.0
    deadline: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("A retry policy needs at least one attempt.")
        if self.initial < 0 or self.maximum < 0 or self.multiplier < 1 or self.deadline < 0:
            raise ValueError("Retry delays and the deadline must be non-negative.")

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The pauses before the second, third ... try ("full jitter")."""
        draw = (rng or random).uniform
        ceiling = self.initial
        for _ in range(self.attempts - 1):
            yield draw(0.0, ceiling)
            ceiling = min(self.maximum, ceiling * self.multiplier)


NO_RETRY = RetryPolicy(attempts=1)


def call_with_retry(
    fn: Callable[[int], T],
    policy: RetryPolicy,
    *,
    transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``fn(attempt)`` until it returns, retrying transient failures.

    ``attempt`` counts from 0, so ``fn`` knows whether an earlier try may
    already have reached the server.

    Raises:
        BaseException: whatever ``fn`` raised last: at once when it is not
            ``transient``, else once the attempts or the deadline run out.
    """
    started = clock()
    delays = policy.delays()
    attempt = 0
    while True:
        try:
            return fn(attempt)
        except Exception as err:
            if not transient(err):
                raise
            delay = next(delays, None)
            if delay is None or clock() + delay - started > policy.deadline:
                raise
        sleep(delay)
        attempt += 1
