"""Sessions signed with a key that is fetched on first use, not at start-up.

The session key may live in the bucket (see :mod:`gallery.session_key`), and a
gallery must start, and answer ``503`` with ``Retry-After``, while its storage
is away. So Flask's ``SECRET_KEY`` is resolved per request: reading it from the
config asks the runtime, which asks the bucket once and keeps the answer.

A request without a session cookie needs no key to open its session. A request
whose cookie cannot be checked yet (the storage is down) gets the storage's
error as its answer, except ``/healthz`` and static files, which need no session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, request, session
from flask.config import Config
from flask.sessions import NullSession, SecureCookieSession, SessionInterface, SessionMixin

from gallery.errors import GalleryError

log = logging.getLogger(__name__)

#: Endpoints that answer without a session, so without the key.
NO_SESSION_ENDPOINTS = frozenset({"pages.healthz", "static"})


class LazySecretConfig(Config):
    """Flask's config whose ``SECRET_KEY``, while unset, comes from :attr:`resolve_secret`."""

    resolve_secret: Callable[[], str] | None = None

    def __getitem__(self, key: str) -> Any:
        if key == "SECRET_KEY" and dict.get(self, key) is None and self.resolve_secret is not None:
            return self.resolve_secret()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == "SECRET_KEY":
            try:
                return self[key]
            except KeyError:
                return default
        return super().get(key, default)


class GalleryFlask(Flask):
    """Flask with a session key resolved on first use."""

    config_class = LazySecretConfig


class UnavailableSession(NullSession):
    """The session of a request whose cookie cannot be checked right now."""

    def __init__(self, error: GalleryError) -> None:
        super().__init__()
        self.error = error


class LazyKeySessions(SessionInterface):
    """Wraps the app's session interface so that a key the storage cannot give yet
    is an answer (503 with ``Retry-After``), never a crash of the request.

    Without a session cookie there is nothing to check: the request gets an
    empty session. With one, it gets :class:`UnavailableSession`, and
    :func:`init_app`'s hook answers with the storage's error.
    """

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def make_null_session(self, app: Flask) -> NullSession:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        try:
            return self.inner.open_session(app, request)
        except GalleryError as err:  # the storage holding the key did not answer
            if not request.cookies.get(self.inner.get_cookie_name(app)):
                return SecureCookieSession()
            return UnavailableSession(err)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, UnavailableSession):
            return
        try:
            self.inner.save_session(app, session, response)
        except GalleryError as err:
            log.warning("The session could not be saved: %s", err.message)


def init_app(app: Flask, resolve_secret: Callable[[], str]) -> None:
    """Resolve ``SECRET_KEY`` lazily through ``resolve_secret`` and check it per request.

    Call :func:`wrap_sessions` once the app's session interface is in place.
    """
    if isinstance(app.config, LazySecretConfig):
        app.config.resolve_secret = resolve_secret
        app.config["SECRET_KEY"] = None
    else:  # a plain Flask app: the key is needed now
        app.config["SECRET_KEY"] = resolve_secret()

    @app.before_request
    def session_needs_its_key() -> None:
        current = session._get_current_object()  # type: ignore[attr-defined]
        if isinstance(current, UnavailableSession) and request.endpoint not in NO_SESSION_ENDPOINTS:
            raise current.error


def wrap_sessions(app: Flask) -> None:
    """Wrap the app's session interface in :class:`LazyKeySessions` (once)."""
    if not isinstance(app.session_interface, LazyKeySessions):
        app.session_interface = LazyKeySessions(app.session_interface)
