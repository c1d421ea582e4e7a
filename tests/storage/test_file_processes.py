"""The folder backend's conditional writes hold between separate processes."""

from __future__ import annotations

from pathlib import Path

from gallery.storage.local import FileStorage
from tests.support.cas_worker import run_workers

PROCESSES = 4
INCREMENTS = 40


def test_compare_and_swap_across_processes(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "bucket")
    storage.put("counter", b"0", if_absent=True)

    reports = run_workers(
        (tmp_path / "bucket").as_uri(), "counter", processes=PROCESSES, increments=INCREMENTS
    )

    conflicts = sum(r["conflicts"] for r in reports)
    print(f"{PROCESSES} processes x {INCREMENTS} increments, {conflicts} lost races retried")
    assert [r["increments"] for r in reports] == [INCREMENTS] * PROCESSES
    assert int(storage.get("counter")) == PROCESSES * INCREMENTS
