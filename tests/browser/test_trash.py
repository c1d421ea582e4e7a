"""The trash in a real Chromium: delete, Undo, restore, empty with its confirmation, axe."""

from __future__ import annotations

from typing import Any

import pytest

from gallery.images.results import Actor
from gallery.storage.memory import MemoryStorage
from tests.browser.pages import sign_in
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png


@pytest.fixture
def storage():
    """One backend is enough here: the page's behaviour does not depend on it."""
    return MemoryStorage()


@pytest.fixture
def pictures(runtime, users) -> list[str]:
    return [runtime.images.upload(distinct_png(n, (64, 48)), f"p{n}.png", uploaded_by=ADMIN[0],
                                  title=f"Picture {n}").image["id"] for n in range(3)]


@pytest.fixture
def tab(page, users) -> Any:
    sign_in(page, *ADMIN)
    return page


def test_delete_undo_restore_and_empty_the_trash(tab, axe, runtime, pictures):
    target = pictures[1]
    tab.goto(f"/images/{target}/delete")
    tab.get_by_role("button", name="Move to the trash").click()
    tab.locator("form.undo", has_text="Moved “Picture 1” to the trash.").wait_for()
    assert tab.locator(f'a[href="/images/{target}"]').count() == 0
    tab.locator("form.undo").get_by_role("button", name="Undo").click()
    tab.locator(".flash", has_text="Restored “Picture 1”.").wait_for()
    assert tab.locator(f'a[href="/images/{target}"]').count() >= 1  # back on the grid

    runtime.images.delete_many(pictures[:2], actor=Actor(ADMIN[0], is_admin=True))
    tab.goto("/trash")
    item = tab.locator(f"#trash-{pictures[0]}")
    item.locator("img.trash-thumb").wait_for()
    assert item.locator("img.trash-thumb").evaluate("img => img.naturalWidth") > 0
    assert "Deleted just now" in item.inner_text()
    axe(tab, "/trash")

    item.get_by_role("button", name="Restore Picture 0").click()
    tab.locator(".flash", has_text="Restored “Picture 0”.").wait_for()
    assert runtime.images.trash_ids() == {pictures[1]}

    tab.get_by_role("link", name="Empty trash…").click()
    tab.get_by_role("heading", name="Empty the trash?").wait_for()
    axe(tab, "/trash/empty")
    tab.get_by_role("button", name="Empty trash").click()
    tab.get_by_text("The trash is empty.", exact=True).wait_for()
    assert runtime.images.trash_ids() == set()


@pytest.mark.parametrize("color_scheme", ["dark"])
def test_the_trash_page_passes_axe_in_dark_mode(tab, axe, runtime, pictures):
    runtime.images.delete(pictures[0], actor=Actor(ADMIN[0], is_admin=True))
    tab.goto("/trash")
    axe(tab, "/trash (dark)")
    tab.set_viewport_size({"width": 380, "height": 800})
    axe(tab, "/trash (narrow)")
