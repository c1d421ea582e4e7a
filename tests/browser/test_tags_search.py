"""Tagging an image on its page, then finding it from the grid's search form, in Chromium."""

from __future__ import annotations

import re

from tests.browser import pages
from tests.browser.conftest import ADMIN
from tests.browser.pages import expect


def test_tag_an_image_then_find_it(page, axe, seed):
    images = seed(3, small=True)
    pages.sign_in(page, *ADMIN)
    target = images[1]
    page.goto(f"/images/{target['id']}")
    page.get_by_label("Add a tag").fill("  Harbour   lights ")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("link", name="Harbour lights")).to_be_visible()
    axe(page, "an image page with a tag and the tag form")

    page.goto("/")
    page.get_by_label("Search", exact=True).fill("HARBOUR")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=HARBOUR"))
    expect(page.get_by_role("status").filter(has_text="found")).to_have_text("1 image found.")
    expect(page.locator("#grid > li")).to_have_count(1)
    axe(page, "the grid showing a search")

    page.get_by_label("Search", exact=True).fill("no such words")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No images match “no such words”.")).to_be_visible()
    axe(page, "a search that finds nothing")

    page.goto(f"/images/{target['id']}")
    page.get_by_role("link", name="Harbour lights").click()
    expect(page.get_by_role("heading", name="Tagged “Harbour lights”")).to_be_visible()
    expect(page.locator("#grid > li")).to_have_count(1)
    page.goto(f"/images/{target['id']}")
    page.get_by_role("button", name="Remove the tag “Harbour lights”").click()
    expect(page.get_by_text("No tags yet.")).to_be_visible()
