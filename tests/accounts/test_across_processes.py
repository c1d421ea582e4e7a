"""Separate processes sharing one ``file://`` folder count, create and agree as one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("gallery.storage.local")

from gallery.accounts import Accounts
from gallery.keys import Keys
from gallery.storage.local import FileStorage
from gallery.throttle import LoginThrottle

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 2
FAILURES_EACH = 25

# Each worker says it is ready, waits for the go file, then does its part.
PRELUDE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from gallery.keys import Keys
    from gallery.storage.local import FileStorage

    folder, meeting, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    storage, keys = FileStorage(folder), Keys("site/")
    (meeting / f"ready-{me}").touch()
    while not (meeting / "go").exists():
        time.sleep(0.001)
    """
)

THROTTLE_WORKER = PRELUDE + textwrap.dedent(
    f"""
    from gallery.throttle import LoginThrottle
    throttle = LoginThrottle(storage, keys, attempts=1000, window=3600)
    for _ in range({FAILURES_EACH}):
        throttle.reserve("alice", "203.0.113.7")
    """
)

SECRET_WORKER = PRELUDE + textwrap.dedent(
    """
    from gallery.session_key import ensure_secret_key
    print(ensure_secret_key(storage, keys))
    """
)

ACCOUNTS_WORKER = PRELUDE + textwrap.dedent(
    """
    from gallery.accounts import Accounts
    accounts = Accounts(storage, keys, password_method="scrypt:1024:8:1")
    for n in range(5):
        accounts.create_user(f"user-{me}-{n}", "a long password", "uploader")
    """
)


def run_together(code: str, folder: Path, meeting: Path) -> list[str]:
    """Run ``code`` in PROCESSES fresh interpreters started together; their outputs."""
    meeting.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder), str(meeting), str(n)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        while len(list(meeting.glob("ready-*"))) < PROCESSES:
            if any(w.poll() is not None for w in workers):
                break  # one died before it was ready; its output says why
            time.sleep(0.001)
        (meeting / "go").touch()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    return [out.strip() for out, _ in outputs]


def test_attempts_reserved_by_several_processes_are_all_counted(tmp_path: Path):
    run_together(THROTTLE_WORKER, tmp_path / "bucket", tmp_path / "meeting")
    storage = FileStorage(tmp_path / "bucket")
    throttle = LoginThrottle(storage, Keys("site/"), attempts=1000, window=3600)
    assert throttle.failures(username="alice") == PROCESSES * FAILURES_EACH
    assert throttle.failures(address="203.0.113.7") == PROCESSES * FAILURES_EACH


def test_processes_starting_together_share_one_session_key(tmp_path: Path):
    keys = run_together(SECRET_WORKER, tmp_path / "bucket", tmp_path / "meeting")
    stored = FileStorage(tmp_path / "bucket").get(Keys("site/").secret).decode()
    assert keys == [stored] * PROCESSES


def test_accounts_created_by_two_processes_are_all_kept(tmp_path: Path):
    run_together(ACCOUNTS_WORKER, tmp_path / "bucket", tmp_path / "meeting")
    accounts = Accounts(FileStorage(tmp_path / "bucket"), Keys("site/"))
    assert [u.username for u in accounts.list_users()] == sorted(
        f"user-{me}-{n}" for me in range(PROCESSES) for n in range(5)
    )
