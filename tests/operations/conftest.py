"""Fixtures of the operations tests: a whole runtime over the memory and the file backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gallery.config import load_settings
from gallery.runtime import Runtime
from gallery.storage.base import Storage
from tests.images import BACKENDS, StepClock, make_image, open_backend


def set_clock(runtime: Runtime, clock: Callable[[], datetime]) -> None:
    """Make the runtime's image domain take the time from ``clock``."""
    runtime.images.d = replace(runtime.images.d, clock=clock)


def build_runtime(storage: Storage, **overrides: Any) -> Runtime:
    """A runtime over ``storage`` with the prefix ``g/`` and a clock that steps a second per call.

    Deletes are final (``trash_days=0``) unless a test asks for the trash.
    """
    settings = load_settings({}, {"prefix": "g/", "secret_key": "ops-test", "trash_days": 0,
                                  **overrides})
    runtime = Runtime.build(settings, storage)
    set_clock(runtime, StepClock())
    return runtime


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket = open_backend(request.param, tmp_path)
    yield bucket
    bucket.close()


@pytest.fixture
def runtime(storage: Storage) -> Runtime:
    return build_runtime(storage)


@pytest.fixture
def later() -> datetime:
    """A moment well past the grace period of everything a test writes now."""
    return datetime.now(UTC) + timedelta(days=2)


@pytest.fixture
def upload(runtime: Runtime) -> Callable[..., str]:
    """Upload a distinct generated image; return its id."""

    def upload(seed: int, kind: str = "png", by: str = "alice", **texts: str) -> str:
        result = runtime.images.upload(make_image(kind, seed), f"photo-{seed}.{kind}",
                                        uploaded_by=by, **texts)
        assert not result.duplicate
        return result.image["id"]

    return upload


def snapshot_bucket(storage: Storage) -> dict[str, tuple[bytes, str]]:
    """Every object's bytes and version: equal before and after means nothing was written."""
    return {info.key: (storage.get(info.key), info.version) for info in storage.list("")}
