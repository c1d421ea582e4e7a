"""A stand-in for the Replit storage sidecar on 127.0.0.1:1106.

It serves the three endpoints the ``replit-object-storage`` package and its
``google.auth.identity_pool`` credentials use:

* ``GET /credential``                      -> ``{"access_token": ...}`` (the subject token)
* ``POST /token``                          -> an STS token-exchange answer
* ``GET /object-storage/default-bucket``   -> ``{"bucketId": ...}``

It counts requests per path and can be switched into failure modes. The port is
fixed by the replit package, so only one sidecar can run at a time: every test
that starts one, or needs the port to be silent, holds :func:`hold_port` (a lock
file every process of every test run on this machine takes in turn).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.service import Service

HOST = "127.0.0.1"
PORT = 1106
#: The port is fixed inside the replit package, so another test run on this
#: machine may hold it for a moment: wait this long for it before failing.
BIND_WAIT_SECONDS = 60.0
#: How long a test waits for the port's lock while another process's tests hold it.
LOCK_WAIT_SECONDS = 240.0
LOCK_FILE = os.path.join(tempfile.gettempdir(), f"gallery-tests-sidecar-{PORT}.lock")

_held = 0  # how deeply this process holds the lock
_held_file: int | None = None
_held_guard = threading.Lock()


@contextmanager
def hold_port() -> Iterator[None]:
    """Hold the sidecar port for this process, waiting (bounded) for any other.

    Re-entrant within a process, so a test holding the port may start and stop
    sidecars inside; other processes (the suite's other workers, another run)
    wait until the outermost hold ends.

    Raises:
        TimeoutError: another process held the port for ``LOCK_WAIT_SECONDS``.
    """
    global _held, _held_file
    with _held_guard:
        if _held == 0:
            handle = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        os.close(handle)
                        raise TimeoutError(
                            f"another process held the sidecar port's lock {LOCK_FILE} "
                            f"for {LOCK_WAIT_SECONDS:.0f} s"
                        ) from None
                    time.sleep(0.01)
            _held_file = handle
        _held += 1
    try:
        yield
    finally:
        with _held_guard:
            _held -= 1
            if _held == 0 and _held_file is not None:
                os.close(_held_file)  # closing the descriptor releases the lock
                _held_file = None


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:1106, waiting (bounded) while another run holds the port."""
    deadline = time.monotonic() + BIND_WAIT_SECONDS
    while True:
        try:
            return ThreadingHTTPServer((HOST, PORT), handler)
        except OSError as err:
            if err.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)

CREDENTIAL = "/credential"
TOKEN = "/token"
DEFAULT_BUCKET = "/object-storage/default-bucket"


class FakeSidecar(Service):
    """The fake sidecar, served from a daemon thread; a context manager.

    Attributes:
        default_bucket: what ``/object-storage/default-bucket`` names; ``None``
            answers 404 with an error body, ``""`` answers ``{"bucketId": ""}``.
        bucket_status: force this HTTP status on the default-bucket endpoint.
        credential_status: force this HTTP status on ``/credential`` (and
            ``/token``), e.g. 500 for "credential endpoint down".
        hits: requests seen per path.
    """

    def __init__(self, default_bucket: str | None = None) -> None:
        self.default_bucket = default_bucket
        self.bucket_status: int | None = None
        self.credential_status: int | None = None
        self.hits: Counter[str] = Counter()
        self.token_requests: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._hold = ExitStack()  # the port's lock, held while serving

    def reset(self, default_bucket: str | None = None) -> None:
        """Back to answering normally, with fresh counters."""
        with self._lock:
            self.default_bucket = default_bucket
            self.bucket_status = None
            self.credential_status = None
            self.hits.clear()
            self.token_requests.clear()

    def _answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, object]]:
        path = path.split("?", 1)[0]
        with self._lock:
            self.hits[path] += 1
            if path == CREDENTIAL and method == "GET":
                if self.credential_status:
                    return self.credential_status, {"error": "credential source unavailable"}
                return 200, {"access_token": "fake-replit-subject-token"}
            if path == TOKEN and method == "POST":
                self.token_requests.append(body.decode("utf-8", "replace"))
                if self.credential_status:
                    return self.credential_status, {"error": "invalid_grant"}
                return 200, {
                    "access_token": "fake-gcs-access-token",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            if path == DEFAULT_BUCKET and method == "GET":
                if self.bucket_status:
                    return self.bucket_status, {"error": "sidecar failure"}
                if self.default_bucket is None:
                    return 404, {"error": "no default bucket configured"}
                return 200, {"bucketId": self.default_bucket}
        return 404, {"error": f"unknown endpoint {method} {path}"}

    def start(self) -> FakeSidecar:
        """Listen on 127.0.0.1:1106 and serve from a daemon thread.

        Raises:
            OSError: the port is taken.
            TimeoutError: another process held the port's lock too long.
        """
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = sidecar._answer(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # No connection outlives its answer, so a stopped sidecar is gone at once
                # (stopping the server leaves the connections it accepted open).
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        with ExitStack() as hold:
            hold.enter_context(hold_port())
            self._server = _bind(Handler)
            self._hold = hold.pop_all()
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._hold.close()

    @property
    def running(self) -> bool:
        return self._server is not None
