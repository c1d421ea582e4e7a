"""Stored times: one format, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime

from gallery.clock import format_timestamp, parse_timestamp


def test_timestamps_round_trip_at_millisecond_precision() -> None:
    moment = datetime(2026, 11, 21, 8, 30, 0, 123456, tzinfo=UTC)
    text = format_timestamp(moment)
    assert text == "2026-11-21T08:30:00.123Z"
    assert parse_timestamp(text) == moment.replace(microsecond=123000)
