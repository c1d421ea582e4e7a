"""Compare-and-swap through ``replit://`` holds between separate processes."""

from __future__ import annotations

from typing import Any

from gallery.storage import open_storage
from tests.support import sidecar as sidecar_paths
from tests.support.cas_worker import run_workers

PROCESSES = 4
INCREMENTS = 15


def test_compare_and_swap_across_processes(replit_bucket: dict[str, Any]) -> None:
    storage = open_storage(replit_bucket["url"], timeout=10)
    try:
        storage.put("counter", b"0", if_absent=True)

        reports = run_workers(
            replit_bucket["url"],
            "counter",
            processes=PROCESSES,
            increments=INCREMENTS,
            env=replit_bucket["env"],
        )

        conflicts = sum(r["conflicts"] for r in reports)
        print(f"{PROCESSES} processes x {INCREMENTS} increments, {conflicts} lost races retried")
        assert [r["increments"] for r in reports] == [INCREMENTS] * PROCESSES
        assert int(storage.get("counter")) == PROCESSES * INCREMENTS
        # Every process got its own token from the sidecar.
        assert replit_bucket["sidecar"].hits[sidecar_paths.TOKEN] == PROCESSES + 1
    finally:
        storage.close()
