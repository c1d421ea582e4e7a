"""The memory backend passes the storage contract."""

from __future__ import annotations

import pytest

from gallery.storage.memory import MemoryStorage
from tests.storage.contract import StorageContract, StorageFactory


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> MemoryStorage:
        return MemoryStorage()

    @pytest.fixture
    def storage_factory(self, storage: MemoryStorage) -> StorageFactory:
        # A memory bucket lives in its instance: every "client" is that instance.
        return lambda: storage


def test_instances_do_not_share_objects() -> None:
    first, second = MemoryStorage(), MemoryStorage()
    first.put("k", b"1")
    assert not second.exists("k")
