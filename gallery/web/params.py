"""Strict readers for what a request carries: whole numbers in the query string, JSON bodies.

Python's ``str.isdigit`` accepts superscripts and other scripts' digits that
``int`` then refuses, and ``json`` recurses once per nesting level; both turned
odd input into server errors. These readers accept only what they document and
answer anything else with a ``400`` that says what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from flask import request

from gallery.errors import BadRequest

_DIGITS = re.compile(r"[0-9]{1,9}")

#: The most images one form may select (a bulk action on the admin table, the trash).
MAX_SELECTION = 1000

MAX_JSON_BYTES = 64 * 1024
"""Largest JSON body an API call takes (an image's texts are far smaller)."""

MAX_JSON_DEPTH = 8
"""Deepest nesting of arrays and objects a JSON body may have."""


def whole_number(args: Mapping[str, str], name: str, default: int, minimum: int, maximum: int,
                 label: str | None = None) -> int:
    """The query argument ``name`` as a whole number from ``minimum`` to ``maximum``.

    Only ASCII digits count (no sign, spaces, other scripts' digits or exponents);
    a missing argument is ``default``.

    Raises:
        BadRequest: anything else, or a number out of range.
    """
    raw = args.get(name)
    if raw is None:
        return default
    what = label or name
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        bound = f"from {minimum}" if maximum >= 10**9 else f"from {minimum} to {maximum}"
        raise BadRequest(f"{what} must be a whole number {bound}.")
    return int(raw)


def selected_ids(ids: list[str]) -> list[str]:
    """The image ids a form selected (``ids``), once each, in the order given.

    Raises:
        BadRequest: none, more than :data:`MAX_SELECTION`, or one that is not an image id.
    """
    from gallery.keys import is_image_id

    ids = list(dict.fromkeys(ids))
    if not ids:
        raise BadRequest("Select at least one image first.")
    if len(ids) > MAX_SELECTION:
        raise BadRequest(f"Select at most {MAX_SELECTION} images at once.")
    if not all(is_image_id(i) for i in ids):
        raise BadRequest("The selection contains something that is not an image id.")
    return ids


def json_body(max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The request's body parsed as JSON: at most ``max_bytes`` (:data:`MAX_JSON_BYTES`
    unless a call takes long lists), nested at most :data:`MAX_JSON_DEPTH` deep.

    Raises:
        BadRequest: too large, not JSON, or nested too deep.
    """
    too_large = f"The JSON body can be at most {max_bytes // 1024} KiB."
    if request.content_length is not None and request.content_length > max_bytes:
        raise BadRequest(too_large)
    raw = request.get_data(cache=False)
    if len(raw) > max_bytes:
        raise BadRequest(too_large)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The body is not valid JSON.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
    return value


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) \
            else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
