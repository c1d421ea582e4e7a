"""Fixtures of the image domain tests: every test runs on the memory and the file backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gallery.images.service import Images
from gallery.storage.base import Storage
from tests.images import BACKENDS, make_images, open_backend


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket = open_backend(request.param, tmp_path)
    yield bucket
    bucket.close()


@pytest.fixture
def images(storage: Storage) -> Images:
    return make_images(storage, prefix="g/")
