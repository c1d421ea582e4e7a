"""Slow clients: connections that stall halfway through a body must not starve the server.

The server is started with the very command ``make run`` uses (checked against
``make -n run``), on a free loopback port over a ``file://`` bucket.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from gallery.storage.local import FileStorage
from tests.web.harness import Client, build_app, serve

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT = 20.0
STALLED = 50
TEN_MB = 10_000_000


def server_command(host: str, port: int) -> list[str]:
    """The command ``make run HOST=host PORT=port`` serves with."""
    return [sys.executable, "-m", "gallery.serve", "--host", host, "--port", str(port),
            "--threads", "8"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gallery_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    return env | settings


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture
def served(tmp_path) -> Iterator[Callable[..., str]]:
    """Start the server as ``make run`` does; returns its base URL. Stopped at the end."""
    procs: list[tuple[subprocess.Popen, object]] = []

    def start(**settings: str) -> str:
        port = free_port()
        log_path = tmp_path / f"server-{port}.log"
        log = open(log_path, "wb")
        env = gallery_env(GALLERY_STORAGE=f"file://{tmp_path / 'bucket'}",
                          GALLERY_SECRET_KEY="test", **settings)
        proc = subprocess.Popen(server_command("127.0.0.1", port), cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    return base
            except requests.ConnectionError:
                time.sleep(0.1)
        pytest.fail(f"the server did not answer within {BOOT_TIMEOUT:.0f} s:\n"
                    + log_path.read_text(errors="replace"))

    yield start
    for proc, log in procs:
        try:
            stop(proc)
        finally:
            log.close()  # type: ignore[attr-defined]


def test_make_run_serves_with_this_command():
    printed = subprocess.run(["make", "-s", "-n", "run", "HOST=127.0.0.1", "PORT=5123",
                              f"BIN={Path(sys.executable).parent}"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in printed.splitlines() if "gallery.serve" in line]
    assert len(lines) == 1, printed
    assert shlex.split(lines[0]) == server_command("127.0.0.1", 5123)


def stall(base: str, path: str) -> socket.socket:
    """Open a connection that sends headers and a few bytes of a 10 MB body, then nothing."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {TEN_MB}\r\n\r\n"
        "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xff"
        .encode("latin-1"))
    return sock


def health_time(base: str) -> float:
    started = time.monotonic()
    response = requests.get(base + "/healthz", timeout=2, headers={"Connection": "close"})
    assert response.status_code == 200
    return time.monotonic() - started


def test_stalled_bodies_do_not_stop_the_health_check(served):
    base = served()
    sockets: list[socket.socket] = []
    try:
        for index in range(STALLED):
            sockets.append(stall(base, "/upload" if index % 2 else "/login"))
        time.sleep(1.0)  # let every stalled request reach as far as it will
        times = []
        for _ in range(10):  # each on a new connection
            try:
                times.append(health_time(base))
            except requests.Timeout:
                times.append(float("inf"))
        assert max(times) < 1.0, f"/healthz took {times} s with {STALLED} stalled uploads"
        # a real request with a body still gets through too
        login = requests.post(base + "/login", data={"username": "x", "password": "y"},
                              timeout=5)
        assert login.status_code < 500
    finally:
        for sock in sockets:
            sock.close()


def test_a_body_over_the_upload_limit_is_refused_unread(served):
    base = served(GALLERY_MAX_REQUEST_BYTES="2MB")
    sock = stall(base, "/api/v1/images")
    sock.close()
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST /api/v1/images HTTP/1.1\r\nHost: {host}\r\n"
                     f"Content-Type: multipart/form-data; boundary=xyz\r\n"
                     f"Content-Length: {10 * TEN_MB}\r\n\r\n".encode())
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert health_time(base) < 1.0


def test_slow_but_steady_upload_still_arrives(served):
    """A body sent in small pieces with pauses is read whole and answered."""
    base = served()
    host, port = base.removeprefix("http://").split(":")
    body = b"username=x&password=" + b"y" * 2000
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode())
        for start in range(0, len(body), 500):
            sock.sendall(body[start:start + 500])
            time.sleep(0.2)
        answer = sock.recv(4096)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500 or status in (200, 302), answer[:200]


# --- a delete racing a media request ------------------------------------------------------


class DeletedAfterCheck(FileStorage):
    """The file backend, with an image deleted right after its path was looked up.

    Stands for a delete (by another thread, worker or machine) landing between the
    media view's look-up and its read of the file.
    """

    def local_path(self, key: str) -> str:
        path = super().local_path(key)
        self.delete(key)
        return path


def test_a_delete_between_look_up_and_send_is_a_404(tmp_path):
    from tests.imaging.fixtures import jpeg
    from tests.security.conftest import UPLOADER

    storage = DeletedAfterCheck(tmp_path / "bucket")
    app = build_app(storage)
    app.extensions["gallery"].accounts.create_user(*UPLOADER, role="uploader")
    with serve(app) as base, Client(base) as client:
        assert client.login(*UPLOADER).status_code == 302
        created = client.api("POST", "/api/v1/images",
                             files={"file": ("a.jpg", jpeg(), "image/jpeg")})
        assert created.status_code == 201, created.text
        image = created.json()
        for path in (f"/media/{image['id']}", f"/media/{image['id']}/sm"):
            response = client.get(path, headers={"Accept": "application/json"})
            assert response.status_code == 404, (path, response.status_code, response.text[:200])
            assert response.json()["error"]["code"] == "not_found"


def test_media_fetched_while_images_are_deleted_is_whole_or_404(uploader, anonymous):
    """Threads fetch originals and thumbnails while the images are deleted under them."""
    from tests.imaging.fixtures import jpeg

    images = []
    for index in range(12):
        created = uploader.api("POST", "/api/v1/images",
                               files={"file": (f"{index}.jpg", jpeg(64 + index, 48), "image/jpeg")})
        assert created.status_code == 201, created.text
        images.append(created.json())
    statuses: list[int] = []
    stop_at = time.monotonic() + 20

    def fetch(image: dict) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                for suffix in ("", "/sm", "/lg"):
                    response = session.get(f"{anonymous.base}/media/{image['id']}{suffix}",
                                           timeout=10)
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        assert len(response.content) == int(response.headers["Content-Length"])
                if statuses.count(404) > 200:
                    return
                if response.status_code == 404:
                    return

    threads = [threading.Thread(target=fetch, args=(image,)) for image in images for _ in range(2)]
    for thread in threads:
        thread.start()
    for image in images:
        assert uploader.api("DELETE", f"/api/v1/images/{image['id']}").status_code == 204
    for thread in threads:
        thread.join(timeout=30)
    assert statuses and set(statuses) <= {200, 404}, sorted(set(statuses))
