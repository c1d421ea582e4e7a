"""Fixtures for the attack tests: the app over a real folder bucket, on a real loopback server.

The folder bucket is the one ``make run`` uses; a second app over the same
folder stands for another gunicorn worker or machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from gallery.storage.local import FileStorage
from tests.web.conftest import (  # noqa: F401 -- fixtures shared with the web tests
    ADMIN,
    UPLOADER,
    admin,
    anonymous,
    app,
    base_url,
    make_client,
    runtime,
    settings,
    uploader,
    users,
)
from tests.web.harness import Client, build_app, serve


@pytest.fixture
def storage(tmp_path):
    return FileStorage(tmp_path / "bucket")


@pytest.fixture
def other_instance(storage, settings) -> Iterator[str]:  # noqa: F811 - the fixture
    """The base URL of a second app over the same bucket: another worker or machine."""
    with serve(build_app(storage, **settings)) as url:
        yield url


def cookies_of(client: Client) -> dict[str, str]:
    """The client's cookies by name (what an attacker who copied them holds)."""
    return {c.name: c.value for c in client.session.cookies}


def signed_in_as(base: str, cookies: dict[str, str]) -> str | None:
    """Who ``cookies`` sign in as on the app at ``base`` (from the page header), or ``None``."""
    with Client(base) as replay:
        for name, value in cookies.items():
            replay.session.cookies.set(name, value)
        page = replay.get("/upload")
        if page.status_code != 200:
            return None
        found = re.search(r'class="who"[^>]*>([a-z0-9._-]+)', page.text)
        return found.group(1) if found else None
