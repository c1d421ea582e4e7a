"""The one way the gallery reads the time and writes it down.

Every stored time (``created_at``, ``rebuilt_at``, audit entries, tombstones,
exports) is ISO 8601 in UTC with milliseconds and a ``Z``: fixed width, so such
timestamps sort as strings.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class RisingClock:
    """The current UTC time, but each call at least a millisecond after the last.

    Stored times have millisecond precision; with this clock two images uploaded one
    after the other by the same process never share a ``created_at``, so they keep
    their order (newest first) instead of being ordered by their random ids.
    """

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        moment = utcnow()
        now = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # as stored
        with self._lock:
            self._last = max(now, self._last + timedelta(milliseconds=1))
            return self._last


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2026-11-21T08:30:00.123Z``.

    A naive ``moment`` is taken as UTC.
    """
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """A stored ISO 8601 timestamp (``Z`` or an offset) as an aware datetime.

    Raises:
        ValueError: ``text`` is not an ISO 8601 timestamp.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
