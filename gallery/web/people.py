"""How people are named on pages and in the API: by their display name, never by the
name they sign in with, unless the one asking is signed in.

A username signs in (with a password that can be guessed), so visitors are never
told one. Where an account has a display name, everybody sees that; where it has
none, signed-in users see the username and visitors see nothing.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_login import current_user

from gallery.errors import GalleryError
from gallery.web.context import runtime


def _display_names() -> dict[str, str]:
    """Every display name by username, read once per request (``{}`` if unreadable)."""
    names = g.get("_display_names") if has_request_context() else None
    if names is None:
        try:
            names = runtime().accounts.display_names()
        except GalleryError:
            names = {}  # a page still shows without the names; accounts answer for themselves
        if has_request_context():
            g._display_names = names
    return names


def display_names_state() -> str:
    """Every display name, as one string that changes whenever any of them does
    (for ETags of pages that print them)."""
    return "\n".join(f"{name}\0{shown}" for name, shown in sorted(_display_names().items()))


def knows_usernames() -> bool:
    """Whether the one asking may learn usernames: signed-in users and the command line."""
    if not has_request_context():
        return True
    return bool(current_user.is_authenticated)


def display_name(username: str | None) -> str:
    """The display name of ``username``, or ``""`` when it has none."""
    if not username:
        return ""
    return _display_names().get(username, "")


def person_name(username: str | None) -> str:
    """What the one asking sees for the uploader or owner ``username``: the display name;
    without one, the username for signed-in users and ``""`` (nothing) for visitors."""
    if not username:
        return ""
    return display_name(username) or (username if knows_usernames() else "")


def account_name(username: str | None) -> str | None:
    """``username`` for those who may learn it, else ``None`` (the API's ``uploaded_by``
    and ``owner`` for visitors)."""
    return username if username and knows_usernames() else None


def both_names(username: str | None) -> str:
    """``Grandma Rose (rose)`` or ``rose``: for admin pages, which show both."""
    if not username:
        return ""
    shown = display_name(username)
    return f"{shown} ({username})" if shown else username


def init_app(app: Flask) -> None:
    """Give templates ``person_name``, ``display_name`` and ``both_names``."""
    for helper in (person_name, display_name, both_names):
        app.add_template_global(helper)
