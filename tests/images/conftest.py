"""Fixtures of the service tests: every test runs on the memory and the file backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gallery.service import GalleryService
from gallery.storage.base import Storage
from tests.service import BACKENDS, make_service, open_backend


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket = open_backend(request.param, tmp_path)
    yield bucket
    bucket.close()


@pytest.fixture
def service(storage: Storage) -> GalleryService:
    return make_service(storage, prefix="g/")
