"""Stored times: one format, and uploads from one process keep their order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from gallery.clock import RisingClock, format_timestamp, parse_timestamp


def test_timestamps_round_trip_at_millisecond_precision() -> None:
    moment = datetime(2026, 11, 21, 8, 30, 0, 123456, tzinfo=UTC)
    text = format_timestamp(moment)
    assert text == "2026-11-21T08:30:00.123Z"
    assert parse_timestamp(text) == moment.replace(microsecond=123000)


def test_the_rising_clock_never_repeats_a_stored_millisecond() -> None:
    clock = RisingClock()
    seen: list[datetime] = []
    lock = threading.Lock()

    def tick() -> None:
        for _ in range(500):
            moment = clock()
            with lock:
                seen.append(moment)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stamps = {format_timestamp(moment) for moment in seen}
    assert len(stamps) == 2000  # as stored: no two alike
    assert abs(max(seen) - datetime.now(UTC)) < timedelta(seconds=5)  # and still the real time
