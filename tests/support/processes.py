"""Start several worker processes at the same instant and collect what they print.

Each worker is ``python -m MODULE ARGS...`` run from the repository root. It
prints ``ready`` once set up and waits for a line on stdin; when every worker
is ready they are all released together, so their work really overlaps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_together(
    module: str,
    args_per_worker: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> list[str]:
    """Run one worker per entry of ``args_per_worker``; return each one's stdout after ``ready``.

    ``env`` is added to this process's environment for the children (an
    emulator host, credentials...).

    Raises:
        RuntimeError: a worker did not start, failed, or did not finish in time.
    """
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in args_per_worker
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                _, err = child.communicate(timeout=timeout)
                raise RuntimeError(f"a worker did not start: {line!r} {err.strip()}")
        for child in children:  # all are ready: let them go
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = []
        for child in children:
            try:
                out, err = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as expired:
                raise RuntimeError(f"a worker did not finish within {timeout} s") from expired
            if child.returncode != 0:
                raise RuntimeError(f"a worker failed with status {child.returncode}: {err.strip()}")
            outputs.append(out)
        return outputs
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None and not stream.closed:
                    stream.close()
