"""Fixtures for the web tests: the app on a real loopback server, over a real backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage
from tests.web.harness import Client, build_app, serve

ADMIN = ("ada", "correct horse battery")
UPLOADER = ("bob", "another long secret")


@pytest.fixture(params=["memory", "file"])
def storage(request, tmp_path):
    """Each web test runs on the memory and the file backend."""
    if request.param == "memory":
        return MemoryStorage()
    return FileStorage(tmp_path / "bucket")


@pytest.fixture
def settings() -> dict:
    """Setting overrides for the app under test (tests may change them before use)."""
    return {}


@pytest.fixture
def app(storage, settings):
    return build_app(storage, **settings)


@pytest.fixture
def runtime(app):
    """The app's runtime: the domain behind the pages."""
    return app.extensions["gallery"]


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def make_client(base_url):
    clients: list[Client] = []

    def make() -> Client:
        client = Client(base_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def users(app):
    """An admin and an uploader, made through the domain (as the CLI does)."""
    accounts = app.extensions["gallery"].accounts
    accounts.create_user(*ADMIN, role="admin")
    accounts.create_user(*UPLOADER, role="uploader")
    return {"admin": ADMIN, "uploader": UPLOADER}


@pytest.fixture
def admin(make_client, users) -> Client:
    client = make_client()
    assert client.login(*ADMIN).status_code == 302
    return client


@pytest.fixture
def uploader(make_client, users) -> Client:
    client = make_client()
    assert client.login(*UPLOADER).status_code == 302
    return client


@pytest.fixture
def anonymous(make_client, users) -> Client:
    return make_client()
