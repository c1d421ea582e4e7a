"""Tests of the sharded catalog, on real storage backends."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

from PIL import Image

from gallery.images.service import Images
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.base import Storage

PREFIX = "g/"


def png(seed: int, size: int = 8) -> bytes:
    """A small PNG, distinct for every seed."""
    rng = random.Random(f"catalog-{seed}")
    pixels = bytes(rng.randrange(256) for _ in range(size * size * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), pixels).save(out, "PNG")
    return out.getvalue()


class StepClock:
    """A clock that moves a second forward on every call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 8, 30, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def images_over(storage: Storage, *, max_records: int = 5, clock: StepClock | None = None
                ) -> Images:
    """The image domain over ``storage`` with small shards, so a few images split them."""
    return Images(storage, Keys(PREFIX), limits=Limits(), clock=clock or StepClock(),
                  max_records=max_records)
