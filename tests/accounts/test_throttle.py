"""The sign-in throttle: per account from an address, per address, and a slow-down per account."""

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
    """``times`` wrong passwords: each attempt is reserved and never taken back."""
    for _ in range(times):
        throttle.reserve(username, address)


def test_attempts_are_allowed_until_the_limit(throttle: LoginThrottle):
    fail(throttle, ATTEMPTS)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.reserve("alice", HOME)
    err = caught.value
    assert err.status == 429
    assert err.retry_after == WINDOW
    assert err.headers() == {"Retry-After": str(WINDOW)}
    assert "from your address" in err.message and "15 minutes" in err.message
    assert throttle.failures("alice", HOME) == ATTEMPTS  # a refused attempt is not counted


def test_the_window_slides(throttle: LoginThrottle, clock: FakeClock):
    fail(throttle, 1)
    clock.advance(100)
    fail(throttle, 1)
    clock.advance(100)
    fail(throttle, 1)
    clock.advance(100)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.reserve("alice", HOME)
    assert caught.value.retry_after == WINDOW - 300
    clock.advance(WINDOW - 300)  # the first failure left the window
    throttle.reserve("alice", HOME)
    assert throttle.failures("alice", HOME) == ATTEMPTS


def test_a_right_password_forgets_the_address_on_that_account(throttle: LoginThrottle):
    fail(throttle, ATTEMPTS - 1)
    throttle.succeeded(throttle.reserve("alice", HOME))
    assert throttle.failures("alice", HOME) == 0
    assert throttle.failures(address=HOME) == ATTEMPTS - 1  # its guesses elsewhere still count
    assert throttle.failures(username="alice") == ATTEMPTS - 1


def test_the_owner_elsewhere_is_never_locked_out(throttle: LoginThrottle):
    refused = 0
    for n in range(10):  # strangers at many addresses, each as often as it is let
        for _ in range(ATTEMPTS + 1):
            try:
                throttle.reserve("alice", f"10.0.0.{n}")
            except TooManyAttempts:
                refused += 1
    assert refused >= 10 and throttle.failures(username="alice") > ATTEMPTS
    throttle.succeeded(throttle.reserve("alice", ELSEWHERE))


def test_an_address_that_failed_on_an_account_under_attack_slows_down(
    throttle: LoginThrottle, clock: FakeClock
):
    for n in range(ATTEMPTS + 2):
        fail(throttle, 1, address=f"10.0.0.{n}")
    fail(throttle, 1, address=HOME)  # the account now has ATTEMPTS + 3 failures
    with pytest.raises(TooManyAttempts, match="for this account") as caught:
        throttle.reserve("alice", HOME)
    wait = caught.value.retry_after
    assert wait == throttle.slow_down(ATTEMPTS + 3) == 8
    clock.advance(wait)
    throttle.reserve("alice", HOME)
    throttle.reserve("bob", HOME)  # another account is not slowed


def test_the_slow_down_grows_and_stops_at_the_window(throttle: LoginThrottle):
    assert throttle.slow_down(ATTEMPTS - 1) == 0
    waits = [throttle.slow_down(ATTEMPTS + n) for n in range(12)]
    assert waits == sorted(waits) and waits[0] == 1
    assert waits[-1] == WINDOW


def test_an_address_may_fail_more_often_than_one_account(throttle: LoginThrottle):
    fail(throttle, ATTEMPTS, username="alice")
    throttle.reserve("bob", HOME)  # people sharing an address are not all locked out at once


def test_the_address_limit_spans_usernames(throttle: LoginThrottle):
    for n in range(ATTEMPTS * ADDRESS_FACTOR):
        fail(throttle, 1, username=f"user{n}")
    with pytest.raises(TooManyAttempts, match="from your address"):
        throttle.reserve("dave", HOME)
    throttle.reserve("dave", ELSEWHERE)
    # The refused attempt took nothing from the account from that address.
    assert throttle.failures("dave", HOME) == 0


def test_usernames_are_counted_whatever_their_case_and_spaces(throttle: LoginThrottle):
    throttle.reserve("Alice", HOME)
    throttle.reserve(" ALICE ", HOME)
    throttle.reserve("alice", HOME)
    with pytest.raises(TooManyAttempts):
        throttle.reserve("aLiCe", HOME)


def test_two_workers_share_their_counts(storage: HookedStorage, keys: Keys, clock: FakeClock):
    first = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    second = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    first.reserve("alice", HOME)
    second.reserve("alice", HOME)
    first.reserve("alice", HOME)
    with pytest.raises(TooManyAttempts):
        second.reserve("alice", HOME)


def test_an_attempt_reserved_meanwhile_is_not_lost(
    throttle: LoginThrottle, storage: HookedStorage, keys: Keys, clock: FakeClock
):
    other = LoginThrottle(storage, keys, attempts=ATTEMPTS, window=WINDOW, clock=clock.seconds)
    fail(throttle, 1)
    storage.before_put = lambda key: other.reserve("alice", HOME)
    fail(throttle, 1)
    assert throttle.failures("alice", HOME) == 3
    assert throttle.failures(address=HOME) == 3
    with pytest.raises(TooManyAttempts):
        throttle.reserve("alice", HOME)


def test_counters_hold_no_names_or_addresses(throttle: LoginThrottle, storage: HookedStorage):
    fail(throttle, 1, username="alice")
    objects = list(storage.list())
    assert len(objects) == 3
    for info in objects:
        assert info.key.startswith("site/throttle/")
        body = storage.get(info.key)
        assert b"alice" not in body and HOME.encode() not in body
        assert "alice" not in info.key and HOME not in info.key


def test_the_throttle_fails_closed_when_the_storage_is_down(
    throttle: LoginThrottle, storage: HookedStorage
):
    def down(key: str) -> None:
        raise StorageUnavailable("down")

    storage.before_read = down
    with pytest.raises(StorageUnavailable):
        throttle.reserve("alice", HOME)


def test_a_damaged_counter_blocks_and_is_left_alone(
    throttle: LoginThrottle, storage: HookedStorage
):
    fail(throttle, 1)
    damaged = b'{"failures": "many"}'
    for info in storage.list():
        storage.put(info.key, damaged)
    with pytest.raises(DocumentDamaged):
        throttle.reserve("alice", HOME)
    assert [storage.get(info.key) for info in storage.list()] == [damaged] * 3


def test_counters_stay_small(throttle: LoginThrottle, storage: HookedStorage, clock: FakeClock):
    for n in range(ATTEMPTS * ADDRESS_FACTOR * 10):
        clock.advance(WINDOW / 10)
        try:
            throttle.reserve("alice", f"10.0.{n % 7}.1")
        except TooManyAttempts:
            pass
    for info in storage.list():
        assert info.size < 40 * (ATTEMPTS + 40)


@pytest.mark.parametrize(("attempts", "window"), [(0, 60), (5, 0), (-1, 60)])
def test_nonsense_limits_are_refused(
    storage: HookedStorage, keys: Keys, attempts: int, window: int
):
    with pytest.raises(ValueError):
        LoginThrottle(storage, keys, attempts=attempts, window=window)
