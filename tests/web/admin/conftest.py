"""Fixtures for the admin pages: images stored through the runtime behind the app."""

from __future__ import annotations

import pytest

from tests.web.images import distinct_png


@pytest.fixture
def add_image(runtime):
    """Store an image as ``uploaded_by`` through the image domain (as an upload would); returns
    its record."""
    counter = iter(range(10_000))

    def add(filename: str = "photo.png", uploaded_by: str = "bob", *, title: str | None = None,
            size: tuple[int, int] = (48, 32)) -> dict:
        data = distinct_png(next(counter), size)
        return runtime.images.upload(data, filename, uploaded_by=uploaded_by, title=title).image

    return add
