"""Small helpers views share: the runtime, the acting user, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_login import current_user

from gallery.errors import Forbidden, NotSignedIn
from gallery.images.results import Actor
from gallery.runtime import Runtime


def runtime() -> Runtime:
    """The running gallery's services."""
    return current_app.extensions["gallery"]


def actor() -> Actor | None:
    """The signed-in user as the service sees them, or ``None``."""
    if not current_user.is_authenticated:
        return None
    return Actor(username=current_user.username, is_admin=current_user.is_admin)


def require_actor() -> Actor:
    """The signed-in user who may upload.

    Raises:
        NotSignedIn: nobody is signed in.
    """
    who = actor()
    if who is None:
        raise NotSignedIn()
    return who


def require_admin() -> Actor:
    """The signed-in admin.

    Raises:
        NotSignedIn: nobody is signed in.
        Forbidden: the user is not an admin.
    """
    who = require_actor()
    if not who.is_admin:
        raise Forbidden("Only admins can do that.")
    return who


def can_browse() -> bool:
    """Whether the current visitor may see the gallery."""
    return runtime().public or current_user.is_authenticated


def can_edit(image: dict) -> bool:
    """Whether the current user may edit or delete this image."""
    who = actor()
    return who is not None and (who.is_admin or who.username == image.get("uploaded_by"))


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``.

    Rejects absolute URLs, scheme-relative ``//host``, backslash tricks
    (``/\\host``), ``javascript:`` and control characters.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
