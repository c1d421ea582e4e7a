"""Leftovers of crashed writes, the cleanup grace, and one-line errors on the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gallery.config import load_settings
from gallery.storage.local import FileStorage
from tests.faults.cli import flask
from tests.support.faultproxy import FaultProxy
from tests.support.serve import REPO_ROOT

#: A child that starts writing an object and never finishes (it is killed meanwhile).
_CRASHING_WRITER = """
import sys, time
from gallery.storage.local import FileStorage

class Endless:
    def read(self, size=-1):
        print("writing", flush=True)
        time.sleep(0.05)
        return b"x" * 1024

FileStorage(sys.argv[1]).put("images/abc/original", Endless())
"""


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".~tmp-*") if p.is_file()]


def _crash_a_write(root: Path) -> Path:
    """Kill a process in the middle of a write; return the temporary file it left."""
    child = subprocess.Popen([sys.executable, "-c", _CRASHING_WRITER, str(root)], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 30
        while not _temp_files(root) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    (left,) = _temp_files(root)
    return left


def test_temporary_files_of_crashed_writes_are_swept(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    storage = FileStorage(root)
    storage.put("keep", b"kept")
    stale = _crash_a_write(root)
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    young = stale.with_name(".~tmp-young")
    young.write_bytes(b"a write in progress")

    settings = {"GALLERY_STORAGE": f"file://{root}", "GALLERY_SECRET_KEY": "k" * 40}
    dry = flask("gallery", "cleanup", "--dry-run", settings=settings)
    assert dry.returncode == 0, dry.stderr
    assert "Temporary files left by interrupted writes (to remove): 1" in dry.stdout
    assert stale.exists()

    done = flask("gallery", "cleanup", settings=settings)
    assert done.returncode == 0, done.stderr
    assert "Temporary files left by interrupted writes (removed): 1" in done.stdout
    assert not stale.exists() and young.exists()  # a write still under way is left alone
    assert storage.get("keep") == b"kept"
    assert storage.sweep_temporary() == 0


def test_a_cleanup_grace_of_zero_is_allowed(tmp_path: Path) -> None:
    assert load_settings({"GALLERY_CLEANUP_GRACE": "0"})["cleanup_grace"] == 0
    run = flask("gallery", "cleanup", "--dry-run", settings={
        "GALLERY_STORAGE": f"file://{tmp_path / 'bucket'}", "GALLERY_CLEANUP_GRACE": "0"})
    assert run.returncode == 0, run.stderr


def test_configuration_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    for settings in ({"GALLERY_STORAGE": "nope://"}, {"GALLERY_STORAGE_TIMEOUT": "soon"},
                     {"GALLERY_STORGE": "file://./data"}):
        run = flask("users", "list", settings=settings)
        assert run.returncode != 0, settings
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("gallery: "), run.stderr
        assert "Traceback" not in run.stderr + run.stdout


def test_doctor_with_the_storage_down_is_one_line_and_quick(
    proxy: FaultProxy, gcs_bucket: str
) -> None:
    proxy.set("refuse")
    started = time.monotonic()
    run = flask("gallery", "doctor",
                settings={"GALLERY_STORAGE": f"gs://{gcs_bucket}", "GALLERY_STORAGE_TIMEOUT": "2"},
                extra={"STORAGE_EMULATOR_HOST": proxy.url})
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert "FAIL  storage reachable: Google Cloud Storage is not answering" in run.stdout
    assert "FAIL  catalog: skipped: the storage did not answer" in run.stdout
    assert run.stderr.strip().startswith("Error: ") and len(run.stderr.strip().splitlines()) == 1
    assert elapsed < 60  # each storage check does not wait for the storage again
