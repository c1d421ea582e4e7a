"""The session key generated once and shared through the bucket."""

from __future__ import annotations

import threading

import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import Conflict, ObjectNotFound, StorageUnavailable
from gallery.keys import Keys
from gallery.session_key import ensure_secret_key
from tests.accounts import HookedStorage


def test_a_key_is_generated_once_and_then_reused(storage: HookedStorage):
    keys = Keys("site/")
    first = ensure_secret_key(storage, keys)
    assert len(first) >= 64
    assert storage.get("site/secret_key") == first.encode()
    assert ensure_secret_key(storage, keys) == first
    assert ensure_secret_key(storage, Keys("site/")) == first
    assert ensure_secret_key(storage, Keys("other/")) != first


def test_an_instance_that_loses_the_race_uses_the_winners_key(storage: HookedStorage):
    keys = Keys()
    winner: list[str] = []
    # The other instance writes its key between our look-up and our create-only write.
    storage.before_put = lambda key: winner.append(ensure_secret_key(storage, keys))
    ours = ensure_secret_key(storage, keys)
    assert winner and ours == winner[0]
    assert storage.get(keys.secret) == ours.encode()


def test_many_instances_starting_together_agree(storage: HookedStorage):
    keys = Keys()
    count = 8
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait()
        key = ensure_secret_key(storage, keys)
        with lock:
            results.append(key)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count
    assert set(results) == {storage.get(keys.secret).decode()}


def test_a_key_set_by_hand_in_the_bucket_is_used(storage: HookedStorage):
    chosen = "k" * 40
    storage.put(Keys().secret, (chosen + "\n").encode())
    assert ensure_secret_key(storage, Keys()) == chosen


@pytest.mark.parametrize("raw", [b"", b"short", b"\xff" * 40, b"has spaces " * 4])
def test_a_damaged_key_is_reported_and_left_alone(storage: HookedStorage, raw: bytes):
    storage.put(Keys().secret, raw)
    with pytest.raises(DocumentDamaged, match="GALLERY_SECRET_KEY"):
        ensure_secret_key(storage, Keys())
    assert storage.get(Keys().secret) == raw


def test_an_unreachable_storage_stops_start_up(storage: HookedStorage):
    def down(key: str) -> None:
        raise StorageUnavailable("down")

    storage.before_read = down
    with pytest.raises(StorageUnavailable):
        ensure_secret_key(storage, Keys())
    with pytest.raises(ObjectNotFound):
        storage.get(Keys().secret)


def test_a_key_that_keeps_vanishing_gives_up():
    class Vanishing(HookedStorage):
        """Someone else's key appears just before each write of ours and is gone right after."""

        def put(self, key, data, **kwargs):
            super().put(key, b"x" * 40)
            try:
                return super().put(key, data, **kwargs)
            finally:
                self.delete(key, missing_ok=True)

    with pytest.raises(Conflict):
        ensure_secret_key(Vanishing(), Keys())
