"""Albums and links over the memory and the file backend, with a clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gallery.albums import Albums, Links
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage
from gallery.throttle import LoginThrottle
from tests.images import BACKENDS, make_image, make_images, open_backend


class Clock:
    """Stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket = open_backend(request.param, tmp_path)
    yield bucket
    bucket.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def images(storage: Storage) -> Images:
    return make_images(storage, prefix="g/")


@pytest.fixture
def albums(storage: Storage, images: Images, clock: Clock) -> Albums:
    return Albums(storage, Keys("g/"), images, public_gallery=True, clock=clock)


@pytest.fixture
def links(storage: Storage, albums: Albums, clock: Clock) -> Links:
    throttle = LoginThrottle(storage, Keys("g/"), attempts=3, window=600,
                             clock=lambda: clock.now.timestamp())
    return Links(storage, Keys("g/"), albums, throttle=throttle, clock=clock,
                 password_method="pbkdf2:sha256:1000")


def upload(images: Images, count: int, who: str = "alice", start: int = 0) -> list[dict]:
    """``count`` distinct small images uploaded by ``who``, oldest first."""
    return [images.upload(make_image("png", seed), f"photo-{seed}.png", uploaded_by=who).image
            for seed in range(start, start + count)]
