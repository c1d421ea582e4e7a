"""The sign-in throttle: per account and per address, shared through the bucket."""

from __future__ import annotations

import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import StorageUnavailable, TooManyAttempts
from gallery.keys import Keys
from gallery.throttle import ADDRESS_FACTOR, LoginThrottle
from tests.accounts import FakeClock, HookedStorage

ATTEMPTS = 3
WINDOW = 900
HOME = "203.0.113.7"
ELSEWHERE = "198.51.100.9"


@pytest.fixture
def throttle(storage: HookedStorage, keys: Keys, clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)


def fail(throttle: LoginThrottle, times: int, username: str = "alice", address: str = HOME) -> None:
    for _ in range(times):
        throttle.record_failure(username, address)


def test_attempts_are_allowed_until_the_limit(throttle: LoginThrottle):
    throttle.check("alice", HOME)
    fail(throttle, ATTEMPTS - 1)
    throttle.check("alice", HOME)
    fail(throttle, 1)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("alice", HOME)
    err = caught.value
    assert err.status == 429
    assert err.retry_after == WINDOW
    assert err.headers() == {"Retry-After": str(WINDOW)}
    assert "for this account" in err.message and "15 minutes" in err.message


def test_the_window_slides(throttle: LoginThrottle, clock: FakeClock):
    fail(throttle, 1)
    clock.advance(100)
    fail(throttle, 2)
    clock.advance(200)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("alice", HOME)
    assert caught.value.retry_after == WINDOW - 300
    assert "10 minutes" in caught.value.message
    clock.advance(WINDOW - 300 - 1)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("alice", HOME)
    assert caught.value.retry_after == 1
    assert "1 second" in caught.value.message
    clock.advance(1)  # the first failure left the window
    throttle.check("alice", HOME)
    fail(throttle, 1)  # back at the limit: wait for the next-oldest failure
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("alice", HOME)
    assert caught.value.retry_after == 100


def test_expired_failures_are_forgotten(throttle: LoginThrottle, clock: FakeClock):
    fail(throttle, ATTEMPTS)
    clock.advance(WINDOW)
    throttle.check("alice", HOME)
    assert throttle.failures(username="alice") == 0
    fail(throttle, ATTEMPTS - 1)
    throttle.check("alice", HOME)


def test_success_clears_the_account_but_not_the_address(throttle: LoginThrottle):
    fail(throttle, ATTEMPTS)
    throttle.record_success("alice", HOME)
    assert throttle.failures(username="alice") == 0
    assert throttle.failures(address=HOME) == ATTEMPTS
    throttle.check("alice", HOME)
    fail(throttle, ATTEMPTS * ADDRESS_FACTOR - ATTEMPTS, username="bob")
    throttle.check("alice", ELSEWHERE)
    with pytest.raises(TooManyAttempts, match="for this address"):
        throttle.check("alice", HOME)


def test_an_address_may_fail_more_often_than_one_account(throttle: LoginThrottle):
    fail(throttle, ATTEMPTS, username="alice")
    throttle.check("bob", HOME)  # people sharing an address are not all locked out at once
    with pytest.raises(TooManyAttempts, match="for this account"):
        throttle.check("alice", ELSEWHERE)


def test_the_address_limit_spans_usernames(throttle: LoginThrottle):
    for n in range(ATTEMPTS * ADDRESS_FACTOR):
        fail(throttle, 1, username=f"user{n}")
    with pytest.raises(TooManyAttempts, match="for this address"):
        throttle.check("dave", HOME)
    throttle.check("dave", ELSEWHERE)


def test_the_account_limit_spans_addresses(throttle: LoginThrottle):
    for address in ("10.0.0.1", "10.0.0.2", "2001:db8::1"):
        fail(throttle, 1, address=address)
    with pytest.raises(TooManyAttempts, match="for this account"):
        throttle.check("alice", ELSEWHERE)
    throttle.check("bob", ELSEWHERE)


def test_usernames_are_counted_whatever_their_case_and_spaces(throttle: LoginThrottle):
    throttle.record_failure("Alice", HOME)
    throttle.record_failure(" ALICE ", ELSEWHERE)
    throttle.record_failure("alice", "10.0.0.1")
    with pytest.raises(TooManyAttempts, match="for this account"):
        throttle.check("aLiCe", "10.0.0.2")


def test_the_longer_wait_is_reported(throttle: LoginThrottle, clock: FakeClock):
    fail(throttle, ATTEMPTS, username="x", address=HOME)  # address locked from t=0
    clock.advance(60)
    fail(throttle, ATTEMPTS, username="alice", address=ELSEWHERE)  # account locked from t=60
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("alice", HOME)
    assert caught.value.retry_after == WINDOW
    assert "for this account" in caught.value.message


def test_two_workers_share_their_counts(storage: HookedStorage, keys: Keys, clock: FakeClock):
    first = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    second = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    first.record_failure("alice", HOME)
    second.record_failure("alice", HOME)
    first.record_failure("alice", HOME)
    with pytest.raises(TooManyAttempts):
        second.check("alice", HOME)
    second.record_success("alice", HOME)
    assert first.failures(username="alice") == 0


def test_a_failure_recorded_meanwhile_is_not_lost(
    throttle: LoginThrottle, storage: HookedStorage, keys: Keys, clock: FakeClock
):
    other = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    fail(throttle, 1)
    storage.before_put = lambda key: other.record_failure("alice", HOME)
    fail(throttle, 1)
    assert throttle.failures(username="alice") == 3
    assert throttle.failures(address=HOME) == 3


def test_counters_hold_no_names_or_addresses(throttle: LoginThrottle, storage: HookedStorage):
    fail(throttle, 1, username="alice")
    objects = list(storage.list())
    assert len(objects) == 2
    for info in objects:
        assert info.key.startswith("site/throttle/")
        body = storage.get(info.key)
        assert b"alice" not in body and HOME.encode() not in body
        assert "alice" not in info.key and HOME not in info.key


def test_an_unknown_address_counts_only_the_account(
    throttle: LoginThrottle, storage: HookedStorage
):
    fail(throttle, ATTEMPTS, address=None)
    assert len(list(storage.list())) == 1
    with pytest.raises(TooManyAttempts, match="for this account"):
        throttle.check("alice", None)


def test_the_throttle_fails_closed_when_the_storage_is_down(
    throttle: LoginThrottle, storage: HookedStorage
):
    def down(key: str) -> None:
        raise StorageUnavailable("down")

    storage.before_read = down
    with pytest.raises(StorageUnavailable):
        throttle.check("alice", HOME)


def test_a_damaged_counter_blocks_and_is_left_alone(
    throttle: LoginThrottle, storage: HookedStorage
):
    fail(throttle, 1)
    damaged = b'{"failures": "many"}'
    for info in storage.list():
        storage.put(info.key, damaged)
    with pytest.raises(DocumentDamaged):
        throttle.check("alice", HOME)
    with pytest.raises(DocumentDamaged):
        throttle.record_failure("alice", HOME)
    assert [storage.get(info.key) for info in storage.list()] == [damaged, damaged]


def test_counters_stay_small(throttle: LoginThrottle, storage: HookedStorage):
    fail(throttle, ATTEMPTS * ADDRESS_FACTOR * 10)
    for info in storage.list():
        assert info.size < 40 * ATTEMPTS * ADDRESS_FACTOR


@pytest.mark.parametrize(("attempts", "window"), [(0, 60), (5, 0), (-1, 60)])
def test_nonsense_limits_are_refused(
    storage: HookedStorage, keys: Keys, attempts: int, window: int
):
    with pytest.raises(ValueError):
        LoginThrottle(storage, keys, attempts=attempts, window=window)
