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
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
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
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    command = [sys.executable, "-m", "tests.support.cas_worker", url, key, str(increments)]
    children = [
        subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                _, err = child.communicate(timeout=timeout)
                raise RuntimeError(f"a worker did not start: {line!r} {err.strip()}")
        reports = []
        for child in children:  # all are ready: let them go
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, err = child.communicate(timeout=timeout)
            if child.returncode != 0:
                raise RuntimeError(f"a worker failed with status {child.returncode}: {err.strip()}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None and not stream.closed:
                    stream.close()


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
