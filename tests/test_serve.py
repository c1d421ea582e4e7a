"""The gallery as several processes over one bucket: gunicorn with two workers.

(``make run`` serves one process with waitress; a deployment may run several
instances, which is what two workers stand for here.) No ``GALLERY_SECRET_KEY``:
the workers must agree on the session key kept in the bucket, or a visitor
signed in by one worker would be a stranger to the other. Each gunicorn runs
without a control socket, so that several on one host do not share one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.imaging.fixtures import jpeg
from tests.web.harness import Client

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
BOOT_TIMEOUT = 15.0
#: Access log lines: the serving worker's pid, the request line, the status.
ACCESS_FORMAT = "%(p)s %(s)s %(r)s"
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) GET (\S+) ")
#: Closes the connection after the answer, so the next request may go to the other worker.
CLOSE = {"Connection": "close"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gallery_env(**settings: str) -> dict[str, str]:
    """This environment without any ``GALLERY_*`` variable, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    return env | settings


def gunicorn_args(port: int, workers: int = 2, threads: int = 2) -> list[str]:
    return [GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--threads", str(threads), "--no-control-socket", "--access-logfile", "-",
            "--access-logformat", ACCESS_FORMAT, "app:app"]


def stop(proc: subprocess.Popen) -> None:
    """Stop gunicorn and its workers: TERM, a bounded wait, then KILL."""
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


class Served:
    """A running gunicorn: its base URL and what it logged."""

    def __init__(self, proc: subprocess.Popen, base: str, log: Path) -> None:
        self.proc = proc
        self.base = base
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers_that_served(self, path: str, status: int = 200) -> set[str]:
        """The pids of the workers that answered GET ``path`` with ``status``."""
        pids = set()
        for line in self.output().splitlines():
            match = ACCESS_LINE.match(line)
            if match and match.group(2) == str(status) and match.group(3) == path:
                pids.add(match.group(1))
        return pids


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., Served]]:
    """Start gunicorn over a ``file://`` bucket in ``tmp_path``; stopped at the end."""
    started: list[tuple[subprocess.Popen, object]] = []

    def start(**settings: str) -> Served:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        out = open(log, "wb")
        env = gallery_env(GALLERY_STORAGE=f"file://{tmp_path / 'bucket'}", **settings)
        proc = subprocess.Popen(gunicorn_args(port), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        started.append((proc, out))
        served = Served(proc, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}:\n{served.output()}"
            try:
                if requests.get(served.base + "/healthz", timeout=2).status_code == 200:
                    return served
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or a worker still importing the app
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer /healthz within {BOOT_TIMEOUT:.0f} s:\n"
                    f"{served.output()}")

    yield start
    for proc, out in started:
        try:
            stop(proc)
        finally:
            out.close()


def test_both_workers_share_the_session_key_and_serve_uploads(serve):
    served = serve()
    with Client(served.base) as browser:
        first = browser.get("/")
        assert first.status_code == 302
        assert first.headers["Location"].endswith("/setup")

        code = re.search(r"set-up code: (\S+)", served.output())
        assert code, f"no set-up code in the log:\n{served.output()}"
        setup = browser.post_form("/setup", {"code": code.group(1), "username": "ada",
                                             "password": "correct horse battery",
                                             "confirm": "correct horse battery"})
        assert setup.status_code == 302, setup.text
        assert setup.headers["Location"].endswith("/upload")

        # New connections land on either worker; every page must know who is signed in.
        pages = ["/", "/upload"]
        served_by: set[str] = set()
        for attempt in range(60):
            path = pages[attempt % len(pages)]
            page = browser.get(path, headers=CLOSE)
            assert page.status_code == 200, f"{path}: {page.status_code}"
            assert "Sign out" in page.text, f"{path} (request {attempt + 1}) forgot the sign-in"
            if attempt >= 9:
                served_by = set().union(*(served.workers_that_served(p) for p in pages))
                if len(served_by) >= 2:
                    break
        assert len(served_by) >= 2, f"all signed-in pages came from one worker:\n{served.output()}"

        photo = jpeg(width=640, height=480)
        token = browser.csrf("/upload")
        created = browser.request("POST", "/api/v1/images", headers={"X-CSRFToken": token},
                                  files={"file": ("holiday.jpg", photo, "image/jpeg")})
        assert created.status_code == 201, created.text
        image = created.json()

        for _ in range(4):
            media = browser.get(f"/media/{image['id']}", headers=CLOSE)
            assert media.status_code == 200
            assert media.headers["Content-Type"] == "image/jpeg"
            assert media.content == photo
        thumbnail = browser.get(f"/media/{image['id']}/sm")
        assert thumbnail.status_code == 200
        assert thumbnail.headers["Content-Type"] == "image/webp"

        # A visitor without the cookie is not signed in, whichever worker answers.
        with Client(served.base) as stranger:
            assert "Sign out" not in stranger.get("/").text


def test_an_unknown_setting_stops_gunicorn_naming_it(tmp_path):
    env = gallery_env(GALLERY_STORAGE=f"file://{tmp_path / 'bucket'}",
                      GALLERY_STORAGE_TIMOUT="5")
    proc = subprocess.Popen(gunicorn_args(free_port()), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    start = time.monotonic()
    try:
        _, stderr = proc.communicate(timeout=BOOT_TIMEOUT)
    finally:
        stop(proc)
    assert proc.returncode != 0
    assert time.monotonic() - start < BOOT_TIMEOUT
    assert "GALLERY_STORAGE_TIMOUT" in stderr
