"""Reading forms out of admin pages."""

from __future__ import annotations

import re

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first CSRF token in a page (every form on a page carries the same one)."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
