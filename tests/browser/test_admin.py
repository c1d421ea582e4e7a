"""The admin pages in a real Chromium: saving in place, selecting many, accessibility."""

from __future__ import annotations

from typing import Any

import pytest

from gallery.images.results import Actor
from gallery.storage.memory import MemoryStorage
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png


@pytest.fixture
def storage():
    """One backend is enough here: the page's behaviour does not depend on it."""
    return MemoryStorage()


@pytest.fixture
def add_image(runtime, users):
    """Store an image uploaded by bob through the image domain; returns its record."""
    counter = iter(range(10_000))

    def add(filename: str = "photo.png", *, title: str | None = None) -> dict:
        data = distinct_png(next(counter), (48, 32))
        return runtime.images.upload(data, filename, uploaded_by="bob", title=title).image

    return add


@pytest.fixture
def tab(page, users) -> Any:
    """A tab signed in as the admin."""
    page.goto("/login")
    page.fill("#username", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_title_saves_in_place_without_leaving_the_page(tab, runtime, add_image):
    image = add_image("harbour.png", title="Harbour")
    tab.goto("/admin/images?sort=name")
    row = tab.locator(f"#image-{image['id']}")
    row.locator("input[name=title]").fill("Harbour at dawn")
    row.locator("textarea[name=description]").fill("Fishing boats coming in.")
    row.get_by_role("button", name="Save").click()
    row.locator(".save-status", has_text="Saved.").wait_for()
    assert tab.url.endswith("/admin/images?sort=name")  # no reload, no navigation
    assert row.locator("[data-name]").text_content() == "Harbour at dawn"
    saved = runtime.images.get(image["id"])
    assert (saved["title"], saved["description"]) == ("Harbour at dawn", "Fishing boats coming in.")


def test_a_refused_edit_says_why_in_the_row(tab, runtime, add_image):
    image = add_image("harbour.png", title="Harbour")
    tab.goto("/admin/images")
    row = tab.locator(f"#image-{image['id']}")
    runtime.images.delete(image["id"], actor=Actor(ADMIN[0], is_admin=True))  # deleted meanwhile, elsewhere
    row.get_by_role("button", name="Save").click()
    row.locator(".save-status.failed", has_text="There is no such image.").wait_for()


def test_select_all_then_delete_after_confirming(tab, runtime, add_image):
    for n in range(3):
        add_image(f"picture-{n}.png")
    tab.goto("/admin/images")
    tab.get_by_label("Select every image on this page").check()
    assert tab.locator("[data-selection-count]").text_content() == "3 selected"
    tab.get_by_role("button", name="Delete selected…").click()
    tab.get_by_role("heading", name="Delete 3 images?").wait_for()
    assert len(runtime.images.view().ids()) == 3  # nothing yet
    tab.get_by_role("button", name="Delete 3 images").click()
    tab.locator("form.undo", has_text="Moved 3 images to the trash.").wait_for()
    assert len(runtime.images.view().ids()) == 0
    assert len(runtime.images.trash_ids()) == 3


def test_delete_selected_with_nothing_selected_asks_for_a_selection(tab, add_image):
    add_image()
    tab.goto("/admin/images")
    tab.get_by_role("button", name="Delete selected…").click()
    assert tab.locator("[data-selection-count]").text_content() == "Select at least one image first."
    assert tab.url.endswith("/admin/images")


@pytest.mark.parametrize("path", ["/admin/", "/admin/images", "/admin/users", "/admin/tokens",
                                  "/admin/cleanup", "/admin/reindex", "/admin/doctor", "/admin/audit",
                                  "/admin/export"])
def test_admin_pages_pass_axe(tab, axe, runtime, add_image, path):
    add_image("harbour.png")
    runtime.accounts.create_token("bob", "backup")
    tab.goto(path)
    axe(tab, path)
