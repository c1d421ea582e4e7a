"""A TCP proxy on loopback that breaks connections on purpose.

It sits between the app and a server (fake-gcs-server) and forwards bytes as
they are, until a test switches it into a fault mode:

=================  =========================================================
``pass``           forward everything (the default)
``refuse``         stop listening (connections are refused); open ones are reset
``stall``          accept and read requests, never answer (a frozen service)
``delay``          answer, but wait ``delay`` seconds before each piece of it
``reset_before``   reset the connection when a request arrives, before any answer
``reset_during``   send the answer's headers and half of its body, then reset
``reset_after``    send the whole answer, then reset (a dead kept-alive connection)
``cut``            send the headers and half of the body, then close cleanly
                   (a chunked or sized body cut half-way)
=================  =========================================================

``set(mode, after=N, path_contains=...)`` applies the mode only to requests
whose request line contains ``path_contains``, and only after ``N`` such
requests went through untouched. A request's outcome is decided when its first
bytes arrive (so a request split over several reads is not told apart from a
new one that starts with an HTTP method; good enough for the clients tested).

Bounded: at most ``max_connections`` at once (more are reset), every
connection ends after ``max_life`` seconds, and ``stop()`` ends them all.
Loopback only.
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
import time

from tests.support.service import Service

MODES = ("pass", "refuse", "stall", "delay", "reset_before", "reset_during", "reset_after", "cut")
_REQUEST_LINE = re.compile(rb"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
_TICK = 0.05


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset rather than a clean close."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FaultProxy(Service):
    """A fault-injecting TCP proxy in front of ``target`` (``http://127.0.0.1:PORT``).

    Attributes:
        url: ``http://127.0.0.1:PORT`` of the proxy (what the app is pointed at).
        requests: the request lines (method and path) seen, in order.
    """

    def __init__(self, target: str, *, max_connections: int = 64, max_life: float = 120.0) -> None:
        host, _, port = target.removeprefix("http://").rstrip("/").partition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("The fault proxy only forwards to loopback.")
        self._target = ("127.0.0.1", int(port))
        self._slots = threading.BoundedSemaphore(max_connections)
        self._max_life = max_life
        self._lock = threading.Lock()
        self._mode = "pass"
        self._delay = 0.0
        self._after = 0
        self._fragment = ""
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self.requests: list[str] = []
        probe = self._listen(0)
        self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener = probe
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    # -- control -------------------------------------------------------------------

    def set(self, mode: str, *, delay: float = 0.0, after: int = 0, path_contains: str = "") -> None:
        """Switch to ``mode`` (see the module docstring) for the requests that follow."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self._mode, self._delay, self._after, self._fragment = mode, delay, after, path_contains
            if mode == "refuse":
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                for sock in list(self._open):
                    _reset(sock)
                self._open.clear()
            elif self._listener is None:
                self._listener = self._listen(self.port)

    def heal(self) -> None:
        """Back to forwarding everything."""
        self.set("pass")

    @property
    def mode(self) -> str:
        return self._mode

    def start(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every connection and wait (boundedly) for the threads."""
        self._stopping.set()
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    # -- plumbing ------------------------------------------------------------------

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        sock.settimeout(_TICK)
        return sock

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                time.sleep(_TICK)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self._slots.acquire(blocking=False):
                _reset(client)
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _decide(self, first_bytes: bytes) -> str:
        """The mode for a request that starts with ``first_bytes`` (``pass`` when not matched)."""
        match = _REQUEST_LINE.match(first_bytes)
        line = f"{match.group(1).decode()} {match.group(2).decode()}" if match else ""
        with self._lock:
            if line:
                self.requests.append(line)
            if self._mode == "pass" or self._fragment not in line:
                return "pass"
            if self._after > 0:
                self._after -= 1
                return "pass"
            return self._mode

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            with self._lock:
                self._open.add(client)
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _reset(client)
                return
            with self._lock:
                self._open.add(upstream)
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._open.discard(client)
                if upstream is not None:
                    self._open.discard(upstream)
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
            self._slots.release()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        ends = time.monotonic() + self._max_life
        current = "pass"  # the mode of the request whose answer is under way
        answer = b""  # the start of that answer, while its headers are incomplete
        while not self._stopping.is_set() and time.monotonic() < ends:
            if client.fileno() < 0 or upstream.fileno() < 0:
                return
            try:
                ready, _, _ = select.select([client, upstream], [], [], _TICK)
            except (OSError, ValueError):
                return
            if current == "stall" and self._mode != "stall":
                return  # a frozen request is dropped when the stall ends
            try:
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    if _REQUEST_LINE.match(data):
                        current, answer = self._decide(data), b""
                    if current == "reset_before":
                        _reset(client)
                        return
                    if current == "refuse":
                        _reset(client)
                        return
                    if current != "stall":
                        upstream.sendall(data)
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    if current == "stall":
                        continue
                    if current == "delay":
                        time.sleep(min(self._delay, 60.0))
                    if current in ("cut", "reset_during"):
                        answer += data
                        head, found, body = answer.partition(b"\r\n\r\n")
                        empty = found and b"\r\ncontent-length: 0" in head.lower()
                        if not found or not (body or empty):
                            continue  # wait for the headers and the first body bytes
                        client.sendall(head + found + body[: len(body) // 2 or len(body)])
                        if current == "cut":
                            client.shutdown(socket.SHUT_RDWR)
                            client.close()
                        else:
                            _reset(client)
                        return
                    client.sendall(data)
                    if current == "reset_after":
                        time.sleep(0.2)  # let the client read the answer first
                        _reset(client)
                        return
            except OSError:
                return
