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


def test_a_stored_time_is_parsed_strictly() -> None:
    import pytest

    from gallery.clock import is_timestamp

    assert is_timestamp("2026-11-21T08:30:00.123Z")
    assert parse_timestamp("2024-02-29T23:59:59.999Z").day == 29
    for text in ["2026-13-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z", "2026-11-21T24:00:00.000Z",
                 "2026-11-21T08:30:00.123Z\n", " 2026-11-21T08:30:00.123Z", "2026-11-21T08:30:00.123",
                 "2026-11-21T08:30:00.123+00:00", "٢٠٢٦-11-21T08:30:00.123Z", "2026-11-21T08:30:00.1Z",
                 "２０２６-11-21T08:30:00.123Z", "2026-11-21 08:30:00.123Z", "", 20261121]:
        assert not is_timestamp(text), text
        with pytest.raises(ValueError):
            parse_timestamp(text)
