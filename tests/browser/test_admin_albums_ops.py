"""The admin's overview and cleanup pages with albums and share links, checked by axe."""

from __future__ import annotations

from typing import Any

import pytest

from gallery.images.results import Actor
from gallery.storage.memory import MemoryStorage
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png

BOB = Actor("bob", is_admin=False)


@pytest.fixture
def storage():
    return MemoryStorage()


@pytest.fixture
def settings() -> dict:
    """No grace period, so cleanup has album members and links to show at once; deletes
    are final, so an album can list an image that is gone."""
    return {"cleanup_grace": 0, "trash_days": 0}


@pytest.fixture
def tab(page, users) -> Any:
    page.goto("/login")
    page.fill("#username", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.fixture
def untidy(runtime, users):
    """An album that lists a deleted image, and a link whose album was deleted."""
    ids = [runtime.images.upload(distinct_png(n, (48, 32)), f"{n}.png", uploaded_by="bob")
           .image["id"] for n in range(2)]
    album = runtime.albums.create(title="Harbour", actor=BOB)
    runtime.albums.change_images(album.id, add=ids, actor=BOB)
    runtime.links.create(album.id, actor=BOB)
    runtime.images.d.deleted_listeners.clear()  # as a process that knew nothing of albums
    runtime.images.delete(ids[0], actor=Actor("ada", is_admin=True))
    gone = runtime.albums.create(title="Gone", actor=BOB)
    runtime.links.create(gone.id, actor=BOB)
    runtime.albums.delete(gone.id, actor=BOB)
    return album


@pytest.mark.parametrize("path", ["/admin/", "/admin/cleanup", "/admin/cleanup/run"])
def test_pages_with_albums_and_links_pass_axe(tab, axe, untidy, path):
    tab.goto(path)
    axe(tab, path)
    if path != "/admin/":
        heading = tab.get_by_role("heading", name="Album members whose image is gone: 1 in 1 album")
        assert heading.is_visible()
        assert tab.get_by_role("heading", name="Share links closed for good: 1").is_visible()
    else:
        assert tab.get_by_role("heading", name="Albums").is_visible()
