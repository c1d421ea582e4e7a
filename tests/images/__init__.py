"""Tests of the image domain, on real storage backends.

Shared helpers and fixtures live here; test modules import the fixtures they use.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.base import Storage
from gallery.storage.memory import MemoryStorage

BACKENDS = ("memory", "file")
ALICE = Actor("alice", is_admin=False)
BOB = Actor("bob", is_admin=False)
ADMIN = Actor("root", is_admin=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_image(kind: str = "jpeg", seed: int = 0, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small image of ``kind`` (jpeg, png, png_rgba, gif, gif_animated, webp), distinct per seed."""
    rng = random.Random(f"{kind}-{seed}")
    mode = "RGBA" if kind == "png_rgba" else "RGB"
    channels = len(mode)

    def frame() -> Image.Image:
        pixels = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * channels))
        return Image.frombytes(mode, size, pixels)

    buffer = io.BytesIO()
    if kind == "jpeg":
        frame().save(buffer, "JPEG", quality=90)
    elif kind in ("png", "png_rgba"):
        frame().save(buffer, "PNG")
    elif kind == "gif":
        frame().convert("P").save(buffer, "GIF")
    elif kind == "gif_animated":
        first, *rest = [frame().convert("P") for _ in range(3)]
        first.save(buffer, "GIF", save_all=True, append_images=rest, duration=80, loop=0)
    elif kind == "webp":
        frame().save(buffer, "WEBP", quality=80)
    else:
        raise ValueError(kind)
    return buffer.getvalue()


class StepClock:
    """A clock that moves ``step`` forward on every call, from a fixed start."""

    def __init__(self, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = datetime(2026, 11, 21, 8, 30, 0, 123000, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def open_backend(name: str, root: Path, factory: Callable[[], Storage] | None = None) -> Storage:
    """A fresh, empty bucket of the named backend."""
    if name == "memory":
        return (factory or MemoryStorage)()
    if name == "file":
        local = pytest.importorskip("gallery.storage.local")
        return local.FileStorage(str(root / "bucket"))
    raise ValueError(name)


def make_images(storage: Storage, *, prefix: str = "", clock: Callable[[], datetime] | None = None,
                max_records: int | None = None) -> Images:
    return Images(storage, Keys(prefix), limits=Limits(), clock=clock or StepClock(),
                  max_records=max_records)


def catalog_records(images: Images) -> dict[str, dict[str, Any]]:
    """Every image in the catalog as the site shows it (public form), by id, oldest first."""
    return {record.id: record.public() for record in images.view().records()}


def stored_records(images: Images) -> dict[str, dict[str, Any]]:
    """Every record of the catalog in its lean stored form (as ``meta.json`` holds it), by id."""
    return {record.id: record.to_json() for record in images.view().records()}


def image_keys(storage: Storage, keys: Keys) -> list[str]:
    """Every object under ``images/``."""
    return [info.key for info in storage.list(keys.images_prefix)]
