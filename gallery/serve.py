"""Serve the gallery with waitress: ``python -m gallery.serve [--host H] [--port P]``.

waitress reads every request whole in its asynchronous I/O layer (bodies past a
small buffer go to a temporary file) before an application thread sees it, so
clients that send slowly, or stop halfway through a body, hold a socket and
nothing else: the threads stay free for everyone else. Connections that go
quiet are closed after :data:`CHANNEL_TIMEOUT` seconds, and a body longer than
the upload limit is refused before it is read.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

THREADS = 8
"""Application threads. Requests reach them complete, so they only ever wait on storage."""

CONNECTION_LIMIT = 1000
"""Open connections at once; each idle or slow one costs a socket and a small buffer."""

CHANNEL_TIMEOUT = 60
"""Seconds a connection may stay silent (nothing received, nothing sent) before it is closed."""

BODY_HEADROOM = 1_000_000
"""Bytes a request body may exceed ``GALLERY_MAX_REQUEST_BYTES`` by and still reach the app,
which then answers with its own ``413`` message; beyond that waitress refuses it unread."""

EXIT_BAD_SETTINGS = 4
"""Exit status when a setting is wrong; gunicorn, too, takes 4 as 'the app cannot load' and stops."""

log = logging.getLogger("gallery.access")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def access_log(app: WSGIApp) -> WSGIApp:
    """Wrap ``app`` so that every request is logged: address, method, path, status, time."""

    def logged(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        status: list[str] = []

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info)

        try:
            return app(environ, start)
        finally:
            log.info("%s %s %s %s %.0fms", environ.get("REMOTE_ADDR", "-"),
                     environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                     status[-1] if status else "-", (time.monotonic() - started) * 1000)

    return logged


def options(app: Any, host: str, port: int, threads: int = THREADS) -> dict[str, Any]:
    """The waitress settings for ``app``: address, threads, and the limits on clients."""
    settings = getattr(app, "extensions", {}).get("gallery")
    max_body = (settings.settings["max_request_bytes"] + BODY_HEADROOM) if settings else None
    chosen: dict[str, Any] = {
        "host": host,
        "port": port,
        "threads": threads,
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": 10,
        "ident": "gallery",
        "clear_untrusted_proxy_headers": False,  # GALLERY_TRUSTED_PROXIES decides (ProxyFix)
    }
    if max_body is not None:
        chosen["max_request_body_size"] = max_body
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Build the app from the environment's settings and serve it until stopped.

    Exits :data:`EXIT_BAD_SETTINGS` with one line on standard error when a setting is wrong.
    """
    parser = argparse.ArgumentParser(prog="python -m gallery.serve",
                                     description="Serve the gallery with waitress.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)

    from waitress import serve

    from gallery import create_app
    from gallery.errors import ConfigError

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        app = create_app()
    except ConfigError as err:
        print(f"gallery: {err.message}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    serve(access_log(app), **options(app, args.host, args.port, args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
