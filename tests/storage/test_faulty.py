"""The fault-injecting wrapper fails exactly as scheduled and otherwise stays out of the way."""

from __future__ import annotations

import pytest

from gallery.errors import ObjectNotFound, StorageUnavailable
from gallery.storage.memory import MemoryStorage
from tests.storage.contract import StorageContract, StorageFactory
from tests.support.faulty import FaultyStorage


class TestFaultyPassesThrough(StorageContract):
    """Without a fault armed, the wrapper is the backend it wraps."""

    @pytest.fixture
    def storage(self) -> FaultyStorage:
        return FaultyStorage(MemoryStorage())

    @pytest.fixture
    def storage_factory(self, storage: FaultyStorage) -> StorageFactory:
        return lambda: storage


def test_next_n_calls_fail_then_heal_by_themselves() -> None:
    flaky = FaultyStorage(MemoryStorage(), fail_on={"put"}, fail_times=2)
    for _ in range(2):
        with pytest.raises(StorageUnavailable) as caught:
            flaky.put("k", b"1")
        assert caught.value.status == 503
        assert caught.value.headers()["Retry-After"]
    assert not flaky.inner.exists("k")  # failed before reaching the backend
    flaky.put("k", b"1")
    assert flaky.get("k") == b"1"
    assert flaky.calls["put"] == 3
    assert flaky.failures == {"put": 2}


def test_fails_until_healed() -> None:
    inner = MemoryStorage()
    inner.put("k", b"1")
    down = FaultyStorage(inner, fail_on="*")
    for call in (lambda: down.read("k"), lambda: down.exists("k"), lambda: list(down.list())):
        with pytest.raises(StorageUnavailable):
            call()
    assert down.total_failures == 3
    down.heal()
    assert down.get("k") == b"1"
    assert down.total_failures == 3


def test_only_scheduled_operations_fail() -> None:
    flaky = FaultyStorage(MemoryStorage(), fail_on={"read"})
    flaky.put("k", b"1")
    assert flaky.stat("k").size == 1
    with pytest.raises(StorageUnavailable):
        flaky.get("k")  # get goes through read
    with pytest.raises(ObjectNotFound):
        flaky.stat("missing")  # real errors still come through


def test_schedule_by_key() -> None:
    flaky = FaultyStorage(MemoryStorage(), fail_on=lambda op, key: key.startswith("images/"))
    flaky.put("index.json", b"{}")
    with pytest.raises(StorageUnavailable):
        flaky.put("images/a/original", b"x")


def test_failure_after_the_work_is_done() -> None:
    lost = FaultyStorage(MemoryStorage(), fail_on={"put"}, fail_times=1, after=True)
    with pytest.raises(StorageUnavailable):
        lost.put("k", b"1", if_absent=True)
    assert lost.get("k") == b"1"  # the write happened; only its answer was lost


def test_rearm_and_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("tests.support.faulty.time.sleep", slept.append)
    slow = FaultyStorage(MemoryStorage(), fail_on={"stat"}, fail_times=0, delay=0.25)
    slow.put("k", b"1")
    assert slow.exists("k")
    assert slept == [0.25]  # only the scheduled operation waited
    slow.fail({"delete"}, times=1)
    with pytest.raises(StorageUnavailable):
        slow.delete("k")
    slow.delete("k")
    assert not slow.exists("k")


def test_unknown_operation_names_are_refused() -> None:
    with pytest.raises(ValueError, match="goes through"):
        FaultyStorage(MemoryStorage(), fail_on={"get"})
    with pytest.raises(ValueError, match="unknown"):
        FaultyStorage(MemoryStorage(), fail_on={"putt"})
