"""Fixtures shared by the accounts, throttle and session-key tests."""

from __future__ import annotations

import pytest

from gallery.keys import Keys
from tests.accounts import FakeClock, HookedStorage


@pytest.fixture
def storage() -> HookedStorage:
    return HookedStorage()


@pytest.fixture
def keys() -> Keys:
    return Keys("site/")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
