"""Quantities as people read them, the same on pages and on the command line."""

from __future__ import annotations


def human_size(n: int) -> str:
    """A byte count as people read it: ``1.2 MB``, ``340 KB``, ``512 bytes``."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1000:
        return f"{round(n / 1000)} KB"
    return f"{n} bytes"
