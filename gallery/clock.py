"""The one way the gallery reads the time and writes it down.

Every stored time (``created_at``, ``rebuilt_at``, audit entries, tombstones,
exports) is ISO 8601 in UTC with milliseconds and a ``Z``: fixed width, so such
timestamps sort as strings.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

STORED_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})\.(?P<ms>[0-9]{3})Z"
)
"""The one definition of a stored time's shape: ``YYYY-MM-DDTHH:MM:SS.mmmZ``, ASCII digits.

Match it with ``fullmatch`` (``match`` with ``$`` would let a trailing newline
through); :func:`parse_timestamp` also checks that the date is a real one.
"""

_TO_THE_SECOND = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})Z"
)
"""The same without milliseconds: account records are written to the second."""


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


def parse_timestamp(text: object) -> datetime:
    """A stored timestamp, exactly as :func:`format_timestamp` writes it, as an aware datetime.

    Only :data:`STORED_TIMESTAMP` (``YYYY-MM-DDTHH:MM:SS.mmmZ``) with ASCII digits
    and a real calendar date and time is accepted, or the same to the second
    (``...SSZ``, as account records have it): no offsets, no other scripts'
    digits, nothing before or after.

    Raises:
        ValueError: ``text`` is not a stored timestamp.
    """
    match = None
    if isinstance(text, str):
        match = STORED_TIMESTAMP.fullmatch(text) or _TO_THE_SECOND.fullmatch(text)
    if match is None:
        raise ValueError(f"not a stored timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ): {text!r:.80}")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    parts.setdefault("ms", 0)
    try:
        return datetime(parts["year"], parts["month"], parts["day"], parts["hour"],
                        parts["minute"], parts["second"], parts["ms"] * 1000, tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f"not a real date and time: {text!r}") from err


def is_timestamp(text: object) -> bool:
    """Whether ``text`` is exactly a :data:`STORED_TIMESTAMP` of a real date and time."""
    if not isinstance(text, str) or not STORED_TIMESTAMP.fullmatch(text):
        return False
    try:
        parse_timestamp(text)
    except ValueError:
        return False
    return True
