"""The admin pages in a real Chromium: saving in place, selecting many, accessibility.

Uses the same Chromium, Playwright and axe-core as tests/browser, and skips (or
fails under CI) the same way when they are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gallery.service import Actor
from gallery.storage.memory import MemoryStorage
from tests.browser import pages
from tests.browser.conftest import AXE, CHROMIUM_ARGS, TIMEOUT_MS, chromium_path, unavailable
from tests.web.conftest import ADMIN


@pytest.fixture
def storage():
    """One backend is enough here: the page's behaviour does not depend on it."""
    return MemoryStorage()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        unavailable("Chromium is not installed: apt-get install chromium (or set CHROMIUM)")
    driver = sync_playwright().start()
    try:
        try:
            chromium = driver.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS, timeout=60_000)
        except Error as err:
            unavailable(f"Chromium at {executable} did not start: {err.message.splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        driver.stop()


@pytest.fixture
def tab(browser, base_url, users) -> Iterator[Any]:
    """A tab signed in as the admin; an uncaught script error fails the test."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    if AXE.is_file():
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(f"{page.url}: {err}"))
    page.goto("/login")
    page.fill("#username", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    yield page
    context.close()
    assert not errors, "uncaught script errors in the page:\n" + "\n".join(errors)


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
    saved = runtime.service.get(image["id"])
    assert (saved["title"], saved["description"]) == ("Harbour at dawn", "Fishing boats coming in.")


def test_a_refused_edit_says_why_in_the_row(tab, runtime, add_image):
    image = add_image("harbour.png", title="Harbour")
    tab.goto("/admin/images")
    row = tab.locator(f"#image-{image['id']}")
    runtime.service.delete(image["id"], actor=Actor(ADMIN[0], is_admin=True))  # deleted meanwhile, elsewhere
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
    assert len(runtime.service.index.snapshot().images) == 3  # nothing yet
    tab.get_by_role("button", name="Delete 3 images").click()
    tab.locator(".flash", has_text="Deleted 3 images.").wait_for()
    assert len(runtime.service.index.snapshot().images) == 0


def test_delete_selected_with_nothing_selected_asks_for_a_selection(tab, add_image):
    add_image()
    tab.goto("/admin/images")
    tab.get_by_role("button", name="Delete selected…").click()
    assert tab.locator("[data-selection-count]").text_content() == "Select at least one image first."
    assert tab.url.endswith("/admin/images")


@pytest.mark.parametrize("path", ["/admin/", "/admin/images", "/admin/users", "/admin/tokens",
                                  "/admin/cleanup", "/admin/reindex", "/admin/doctor", "/admin/audit"])
def test_admin_pages_pass_axe(tab, runtime, add_image, path):
    if not AXE.is_file():
        unavailable("axe-core is not installed: run `npm ci` in tests/browser")
    add_image("harbour.png")
    runtime.accounts.create_token("bob", "backup")
    tab.goto(path)
    pages.check_accessibility(tab, path)
