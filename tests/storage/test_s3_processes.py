"""Compare-and-swap through ``s3://`` holds between separate processes."""

from __future__ import annotations

from gallery.storage import open_storage
from tests.support.cas_worker import run_workers
from tests.support.s3_server import S3Server

PROCESSES = 4
INCREMENTS = 15


def test_compare_and_swap_across_processes(s3_bucket: str, s3_server: S3Server) -> None:
    url = f"s3://{s3_bucket}"
    storage = open_storage(url, timeout=10)
    try:
        storage.put("counter", b"0", if_absent=True)

        reports = run_workers(url, "counter", processes=PROCESSES, increments=INCREMENTS,
                              env=s3_server.env())

        conflicts = sum(r["conflicts"] for r in reports)
        print(f"{PROCESSES} processes x {INCREMENTS} increments, {conflicts} lost races retried")
        assert [r["increments"] for r in reports] == [INCREMENTS] * PROCESSES
        assert int(storage.get("counter")) == PROCESSES * INCREMENTS
    finally:
        storage.close()
