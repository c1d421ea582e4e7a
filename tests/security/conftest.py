"""Fixtures for the attack tests: the app on a real loopback server over a file bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gallery.storage.local import FileStorage
from tests.web.harness import Client, build_app, serve

ADMIN = ("ada", "correct horse battery")
UPLOADER = ("bob", "another long secret")


@pytest.fixture
def storage(tmp_path):
    return FileStorage(tmp_path / "bucket")


@pytest.fixture
def app(storage):
    app = build_app(storage)
    accounts = app.extensions["gallery"].accounts
    accounts.create_user(*ADMIN, role="admin")
    accounts.create_user(*UPLOADER, role="uploader")
    return app


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def make_client(base_url):
    clients: list[Client] = []

    def make(user: tuple[str, str] | None = None) -> Client:
        client = Client(base_url)
        clients.append(client)
        if user is not None:
            assert client.login(*user).status_code == 302
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def uploader(make_client) -> Client:
    return make_client(UPLOADER)


@pytest.fixture
def admin(make_client) -> Client:
    return make_client(ADMIN)


@pytest.fixture
def anonymous(make_client) -> Client:
    return make_client()
