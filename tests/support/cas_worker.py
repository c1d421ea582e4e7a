"""A child process that increments one counter object by compare-and-swap.

Run as ``python -m tests.support.cas_worker URL KEY INCREMENTS``: it opens the
storage URL with :func:`gallery.storage.open_storage`, prints ``ready``, waits
for a line on stdin (so every worker starts at once), then does ``INCREMENTS``
read -> put(if_version) rounds, retrying the ones it loses, and prints one
JSON line ``{"increments": n, "conflicts": c}``.

:func:`run_workers` starts several of them against one bucket and collects
their reports; any backend's tests can use it (pass ``env`` for emulators).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping

from tests.support.processes import run_together

MAX_ATTEMPTS_PER_INCREMENT = 500


def increment(url: str, key: str, increments: int) -> dict[str, int]:
    """Add ``increments`` to the integer stored at ``key``, one CAS at a time."""
    from gallery.errors import PreconditionFailed
    from gallery.storage import open_storage

    storage = open_storage(url)
    conflicts = 0
    done = 0
    try:
        print("ready", flush=True)
        sys.stdin.readline()
        for _ in range(increments * MAX_ATTEMPTS_PER_INCREMENT):
            if done == increments:
                break
            data, info = storage.read(key)
            try:
                storage.put(key, str(int(data) + 1).encode(), if_version=info.version)
            except PreconditionFailed:
                conflicts += 1
                continue
            done += 1
    finally:
        storage.close()
    return {"increments": done, "conflicts": conflicts}


def run_workers(
    url: str,
    key: str,
    *,
    processes: int,
    increments: int,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> list[dict[str, int]]:
    """Start ``processes`` workers on ``url`` together and return their reports.

    The counter object must already exist. ``env`` is added to this process's
    environment for the children (an emulator host, credentials...).

    Raises:
        RuntimeError: a worker failed or did not report.
    """
    outputs = run_together(
        "tests.support.cas_worker", [[url, key, str(increments)]] * processes,
        env=env, timeout=timeout,
    )
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="storage URL, as GALLERY_STORAGE takes it")
    parser.add_argument("key", help="the counter object's key (it must exist)")
    parser.add_argument("increments", type=int)
    args = parser.parse_args(argv)
    report = increment(args.url, args.key, args.increments)
    print(json.dumps(report), flush=True)
    return 0 if report["increments"] == args.increments else 1


if __name__ == "__main__":
    sys.exit(main())
