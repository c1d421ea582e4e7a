"""A real HTTP server on loopback running the app, and a small client for it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from gallery import create_app

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll: shutting the server down waits for the loop's next look.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


#: scrypt with a small work factor: the same code paths as the real one, in a millisecond.
FAST_PASSWORD_HASH = "scrypt:1024:8:1"


def build_app(storage, **overrides: Any):
    """The app over ``storage`` with test-friendly settings (cheap, fixed secret, passwords
    hashed with a small work factor)."""
    settings = {"secret_key": "test-secret-key", **overrides}
    app = create_app(settings, environ={}, storage=storage)
    rt = app.extensions["gallery"]
    rt.accounts._password_method = FAST_PASSWORD_HASH
    rt.links._password_method = FAST_PASSWORD_HASH
    return app


class Client:
    """A browser-like HTTP client: cookies, CSRF tokens from forms, sign-in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        return self.session.get(self.url(path), **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.url(path), **kwargs)

    def csrf(self, page: str = "/login") -> str:
        """The CSRF token of the form on ``page``."""
        response = self.get(page)
        match = CSRF_FIELD.search(response.text)
        assert match, f"no CSRF token on {page} ({response.status_code})"
        return match.group(1)

    def post_form(self, path: str, data: dict | None = None, *, form_page: str | None = None,
                  files: Any = None, **kwargs: Any) -> requests.Response:
        """POST a form the way a browser would: with the page's CSRF token."""
        token = self.csrf(form_page or path)
        return self.request("POST", path, data={"csrf_token": token, **(data or {})},
                            files=files, **kwargs)

    def login(self, username: str, password: str, remember: bool = False) -> requests.Response:
        data = {"username": username, "password": password}
        if remember:
            data["remember"] = "y"
        return self.post_form("/login", data)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An API call with the session cookie and its CSRF token in ``X-CSRFToken``."""
        headers = kwargs.pop("headers", {})
        if method.upper() not in ("GET", "HEAD") and "X-CSRFToken" not in headers:
            headers["X-CSRFToken"] = self.csrf("/upload")
        return self.request(method, path, headers=headers, **kwargs)
