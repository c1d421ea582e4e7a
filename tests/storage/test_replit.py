"""The ``replit://`` backend: the whole storage contract through the fake sidecar and the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gallery.storage import open_storage
from gallery.storage.replit import ReplitStorage
from gallery.storage.retry import RetryPolicy
from tests.storage.contract import StorageContract, StorageFactory

FAST_RETRY = RetryPolicy(attempts=4, initial=0.001, maximum=0.005, deadline=30)


@pytest.fixture
def storage_factory(replit_default_bucket: dict[str, Any]) -> Iterator[StorageFactory]:
    made: list[ReplitStorage] = []

    def make() -> ReplitStorage:
        # No bucket id: every instance asks the sidecar for the default bucket.
        made.append(ReplitStorage(timeout=10, retry=FAST_RETRY))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def storage(storage_factory: StorageFactory) -> ReplitStorage:
    return storage_factory()  # type: ignore[return-value]


class TestReplitStorage(StorageContract):
    """The whole storage contract, for ``replit://`` with the default bucket."""


def test_describe_names_the_resolved_bucket(storage: ReplitStorage, replit_default_bucket: dict) -> None:
    assert storage.scheme == "replit"
    assert storage.bucket_name == replit_default_bucket["bucket"]
    assert storage.describe() == f"replit://{replit_default_bucket['bucket']} (Replit Object Storage)"


@pytest.mark.parametrize("fixture", ["replit_bucket", "replit_default_bucket"])
def test_open_storage_with_either_url(fixture: str, request: pytest.FixtureRequest) -> None:
    target = request.getfixturevalue(fixture)
    backend = open_storage(target["url"], timeout=10)
    try:
        assert isinstance(backend, ReplitStorage)
        assert backend.bucket_name == target["bucket"]
        backend.put("k", b"v", content_type="text/plain")
        assert backend.read("k")[0] == b"v"
    finally:
        backend.close()
