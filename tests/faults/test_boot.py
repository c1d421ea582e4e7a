"""Starting and staying up while the storage is away, with the command ``make run`` uses.

No ``GALLERY_SECRET_KEY``: the session key lives in the bucket. The server must
boot without it, answer 503 with Retry-After, survive a worker dying meanwhile,
and serve pages once the storage is back, without a restart.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import TIMEOUT
from tests.support.faultproxy import FaultProxy
from tests.support.gcs_server import GCSServer, free_port
from tests.support.serve import ServedGallery, gallery_env
from tests.support.sidecar import FakeSidecar

RECOVERY = 60.0


def _until(check, timeout: float = RECOVERY) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s")


def _assert_unavailable(base: str) -> None:
    health = requests.get(base + "/healthz", timeout=30)
    assert health.status_code == 503
    assert int(health.headers["Retry-After"]) > 0
    assert health.json()["checks"]["storage"] == "unavailable"
    page = requests.get(base + "/", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    api = requests.get(base + "/api/v1/images", timeout=30)
    assert api.status_code == 503 and api.json()["error"]["code"] == "storage_unavailable"


def _healthy(base: str) -> bool:
    return requests.get(base + "/healthz", timeout=30).status_code == 200


def test_started_during_an_outage_then_recovers_without_restart(
    proxy: FaultProxy, gcs_bucket: str, tmp_path: Path
) -> None:
    proxy.set("refuse")
    env = gallery_env(
        {"GALLERY_STORAGE": f"gs://{gcs_bucket}", "GALLERY_STORAGE_TIMEOUT": str(TIMEOUT)},
        {"STORAGE_EMULATOR_HOST": proxy.url},
    )
    with ServedGallery(free_port(), env, tmp_path / "server.log") as server:
        server.wait_answering()
        _assert_unavailable(server.base)

        # A worker that dies during the outage is replaced; the server stays up.
        workers = server.workers()
        if workers:
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            _until(lambda: victim not in server.workers() and len(server.workers()) == len(workers))
            assert server.proc.poll() is None, server.output()
            _assert_unavailable(server.base)

        proxy.heal()
        _until(lambda: _healthy(server.base))
        assert requests.get(server.base + "/", timeout=30).status_code == 200
        login = requests.get(server.base + "/login", timeout=30)  # signs a CSRF token: needs the key
        assert login.status_code == 200 and "csrf_token" in login.text
        assert server.proc.poll() is None


@pytest.fixture
def no_sidecar() -> None:
    """Nothing answers on the sidecar port (waiting a little for one just closed)."""
    import socket

    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 1106)) != 0:
                return
        if time.monotonic() > deadline:
            pytest.skip("another run holds the sidecar port 127.0.0.1:1106")
        time.sleep(0.2)


def test_replit_sidecar_down_at_start_then_up(
    no_sidecar: None, gcs_server: GCSServer, gcs_bucket: str, tmp_path: Path
) -> None:
    env = gallery_env(
        {"GALLERY_STORAGE": "replit://", "GALLERY_STORAGE_TIMEOUT": str(TIMEOUT)},
        {"STORAGE_EMULATOR_HOST": gcs_server.url},
    )
    with ServedGallery(free_port(), env, tmp_path / "server.log") as server:
        server.wait_answering()
        _assert_unavailable(server.base)
        with FakeSidecar(default_bucket=gcs_bucket):
            _until(lambda: _healthy(server.base))
            assert requests.get(server.base + "/", timeout=30).status_code == 200


def test_a_malformed_storage_url_still_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = gallery_env({"GALLERY_STORAGE": "gs://"})
    with ServedGallery(free_port(), env, tmp_path / "server.log") as server:
        server.proc.wait(timeout=60)
        assert server.proc.returncode != 0
        lines = [line for line in server.output().splitlines() if line.startswith("gallery: ")]
        # One line (from each worker that tried), no traceback.
        assert set(lines) == {"gallery: GALLERY_STORAGE 'gs://' names no bucket; try gs://my-bucket."}
        # (The server itself may log its own halt; no traceback comes from the app.)
        assert "/gallery/" not in server.output()
        assert "ConfigError" not in server.output()
