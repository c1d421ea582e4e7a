"""Sign-in throttling: guesses are few and slow, and nobody can lock the owner out.

Usernames are public (every image shows ``uploaded_by``), so an attacker can
aim at any account. The app sits behind one trusted proxy here, so each client
chooses its address with ``X-Forwarded-For`` as a real one would have it set.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.web.conftest import ADMIN, UPLOADER
from tests.web.harness import Client

LIMIT = 5
pytestmark = pytest.mark.parametrize("settings", [{"login_attempts": LIMIT, "trusted_proxies": 1}])

ATTACKER = "203.0.113.66"
OWNER_ELSEWHERE = "198.51.100.9"


def attempt(client: Client, username: str, password: str, address: str) -> int:
    """One sign-in from ``address``; its status (302 in, 401 checked and wrong, 429 refused)."""
    token = client.csrf("/login")
    response = client.request(
        "POST", "/login", data={"csrf_token": token, "username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return response.status_code


def parallel(base: str, guesses: list[tuple[str, str, str]]) -> Counter:
    """Send every ``(username, password, address)`` at once; count the statuses."""
    clients = [Client(base) for _ in guesses]
    tokens = [c.csrf("/login") for c in clients]
    start = threading.Barrier(len(guesses))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(client: Client, token: str, guess: tuple[str, str, str]) -> None:
        username, password, address = guess
        start.wait()
        response = client.request(
            "POST", "/login",
            data={"csrf_token": token, "username": username, "password": password},
            headers={"X-Forwarded-For": address},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=run, args=args) for args in zip(clients, tokens, guesses, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    assert len(statuses) == len(guesses)
    return Counter(statuses)


def test_parallel_guesses_never_get_more_than_the_limit_checked(base_url, users):
    counts = parallel(base_url, [(ADMIN[0], f"guess number {n}", ATTACKER) for n in range(12)])
    assert counts[401] <= LIMIT, counts  # 401: the password was checked (and wrong)
    assert counts[401] + counts[429] == 12, counts
    # And the refused ones were not counted either: the limit stays the limit.
    with Client(base_url) as late:
        assert attempt(late, ADMIN[0], "one more", ATTACKER) == 429


def test_parallel_guesses_across_accounts_from_one_address_are_capped(base_url, users):
    names = [ADMIN[0], UPLOADER[0]] + [f"user{n}" for n in range(8)]
    guesses = [(names[n % len(names)], f"guess {n}", ATTACKER) for n in range(4 * LIMIT + 10)]
    counts = parallel(base_url, guesses)
    assert counts[401] <= 4 * LIMIT, counts


def test_the_owner_signs_in_from_elsewhere_while_an_attacker_hammers(base_url, users):
    stop = threading.Event()
    seen: Counter = Counter()

    def hammer(address: str) -> None:
        with Client(base_url) as client:
            while not stop.is_set():
                seen[attempt(client, ADMIN[0], "wrong password", address)] += 1

    attackers = [threading.Thread(target=hammer, args=(f"203.0.113.{n}",)) for n in range(3)]
    for thread in attackers:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while seen[429] < 3 and time.monotonic() < deadline:  # the attack is being refused
            time.sleep(0.05)
        assert seen[429] >= 3, seen
        for _ in range(3):
            with Client(base_url) as owner:
                assert attempt(owner, *ADMIN, OWNER_ELSEWHERE) == 302
                page = owner.get("/", headers={"X-Forwarded-For": OWNER_ELSEWHERE})
                assert "Sign out" in page.text
    finally:
        stop.set()
        for thread in attackers:
            thread.join(timeout=60)


def test_the_owner_with_a_typo_elsewhere_still_gets_in(base_url, users):
    with Client(base_url) as attacker:
        statuses = [attempt(attacker, ADMIN[0], f"guess {n}", ATTACKER) for n in range(LIMIT + 3)]
    assert statuses[:LIMIT] == [401] * LIMIT and set(statuses[LIMIT:]) == {429}
    with Client(base_url) as owner:
        assert attempt(owner, ADMIN[0], "typo", OWNER_ELSEWHERE) == 401
        assert attempt(owner, *ADMIN, "192.0.2.44") == 302


def test_an_attacker_changing_addresses_is_slowed_down(base_url, users):
    with Client(base_url) as attacker:
        for n in range(LIMIT):  # the account is now under attack
            assert attempt(attacker, ADMIN[0], "wrong", f"203.0.113.{n}") == 401
        # Every address that already failed on it now waits before its next guess.
        again = [attempt(attacker, ADMIN[0], "wrong", f"203.0.113.{n}") for n in range(LIMIT)]
    assert 429 in again, again
    with Client(base_url) as owner:
        assert attempt(owner, *ADMIN, OWNER_ELSEWHERE) == 302


def test_refusals_say_when_to_try_again(base_url, users):
    with Client(base_url) as attacker:
        for _ in range(LIMIT):
            attempt(attacker, UPLOADER[0], "wrong", ATTACKER)
        token = attacker.csrf("/login")
        response = attacker.request(
            "POST", "/login",
            data={"csrf_token": token, "username": UPLOADER[0], "password": UPLOADER[1]},
            headers={"X-Forwarded-For": ATTACKER},
        )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.text
