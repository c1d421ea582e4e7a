"""Filenames as people typed them, cleaned so they are safe to show and to send back.

A filename is data only: it is kept in the image's record, shown in pages and
offered in ``Content-Disposition``; it never becomes part of an object key
(those are built by :mod:`gallery.keys`). Unlike Werkzeug's ``secure_filename``,
letters of every script stay readable: ``"Café del Mar 日本.jpg"`` is kept as it is.
"""

from __future__ import annotations

import re
import unicodedata

FALLBACK_NAME = "image"

#: Characters unsafe in a filename on some system or in an HTTP header.
_UNSAFE = frozenset('/\\:*?"<>|\';`')
_SPACES = re.compile(r" {2,}")
_MAX_EXTENSION = 16


def _keep(char: str) -> bool:
    if char in _UNSAFE:
        return False
    category = unicodedata.category(char)
    # Cc control, Cf format (bidi overrides, zero-width joiners), Cs surrogates,
    # Co private use, Cn unassigned, Zl/Zp line and paragraph separators.
    return category not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _is_space(char: str) -> bool:
    return char in "\t\n\r\v\f\u0085\u2028\u2029" or unicodedata.category(char) == "Zs"


def sanitize_filename(name: str, max_length: int = 120) -> str:
    """A readable, safe version of a user's filename.

    Keeps the last path component (``/`` or ``\\``), normalises to NFC, drops
    control and format characters and ``/ \\ : * ? " < > | ' ; ` ``, collapses
    runs of whitespace into one space, strips leading dots and spaces (and
    trailing dots and spaces), and caps the length at ``max_length``
    characters while keeping a short extension. Returns ``"image"`` when
    nothing usable is left.

    Raises:
        ValueError: ``max_length`` is smaller than 1.
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    if not isinstance(name, str):
        return FALLBACK_NAME
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    # Whitespace (including tabs and newlines) becomes a space before control
    # characters are dropped, so "a\tb" reads "a b", not "ab".
    text = "".join(" " if _is_space(c) else c for c in text if _is_space(c) or _keep(c))
    text = _SPACES.sub(" ", text).strip(" .")
    if not text:
        return FALLBACK_NAME
    if len(text) > max_length:
        text = _shorten(text, max_length)
    return text or FALLBACK_NAME


def _shorten(text: str, max_length: int) -> str:
    stem, dot, extension = text.rpartition(".")
    if dot and stem and 0 < len(extension) <= _MAX_EXTENSION and len(extension) + 2 <= max_length:
        head = stem[: max_length - len(extension) - 1].rstrip(" .")
        if head:
            return head + "." + extension
    return text[:max_length].rstrip(" .")
