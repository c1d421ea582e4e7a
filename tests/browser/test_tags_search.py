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


TILES = "#grid > li > a.tile"


def test_tag_many_images_from_the_grid_selection(page, axe, seed, runtime):
    images = seed(4, small=True)
    runtime.images.change_tags([images[3]["id"]], add=("Harbour",), actor=_admin())
    pages.sign_in(page, *ADMIN)
    page.goto("/")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Select").click()
    add = page.get_by_role("button", name="Add tags")
    expect(add).to_be_disabled()
    page.locator(TILES).nth(0).click()
    page.locator(TILES).nth(1).click()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    field = page.get_by_label("Tags", exact=True)
    field.focus()  # the tags already in use are fetched as suggestions
    expect(page.locator("#select-known-tags option[value='Harbour']")).to_have_count(1)
    field.fill("x" * 60)
    add.click()
    status = page.locator("[data-tag-status]")
    expect(status).to_contain_text("at most 50 characters")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("Boats, harbour")
    field.press("Enter")  # Enter in the field adds the tags, not to an album
    expect(status).to_have_text("Tagged 2 images “Boats”, “harbour”.")
    assert page.evaluate("window.stillTheSamePage === true"), "tagging left the page"
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")  # still ticked
    axe(page, "the grid's select bar after tagging")
    assert runtime.images.get(images[0]["id"])["tags"] == ["Boats", "harbour"]
    assert runtime.images.get(images[1]["id"])["tags"] == ["Boats", "harbour"]
    field.fill("boats")
    page.get_by_role("button", name="Remove tags").click()
    expect(status).to_have_text("Took “boats” off 2 images.")
    assert runtime.images.get(images[1]["id"])["tags"] == ["harbour"]
    assert runtime.images.get(images[2]["id"])["tags"] == []

    page.goto("/tags/harbour")
    expect(page.locator("#grid > li")).to_have_count(3)


def test_bulk_tagging_in_the_admin_table(page, axe, seed, runtime):
    images = seed(3, small=True)
    runtime.images.change_tags([images[2]["id"]], add=("Pier",), actor=_admin())
    pages.sign_in(page, *ADMIN)
    page.goto("/admin/images")
    page.get_by_label(f"Select {images[0]['title'] or images[0]['filename']}").check()
    page.get_by_label(f"Select {images[1]['title'] or images[1]['filename']}").check()
    field = page.get_by_label("Tags", exact=True)
    expect(page.locator("#bulk-known-tags option[value='Pier']")).to_have_count(1)
    field.fill("Sunset, pier")
    page.get_by_role("button", name="Add tags").click()
    expect(page.get_by_text("Tagged 2 images “Sunset”, “pier”.")).to_be_visible()
    axe(page, "the admin table after bulk tagging")
    assert runtime.images.get(images[0]["id"])["tags"] == ["Sunset", "pier"]
    page.get_by_label(f"Select {images[0]['title'] or images[0]['filename']}").check()
    page.get_by_label("Tags", exact=True).fill("SUNSET")
    page.get_by_role("button", name="Remove tags").click()
    expect(page.get_by_text("Took “SUNSET” off 1 image.")).to_be_visible()
    assert runtime.images.get(images[0]["id"])["tags"] == ["pier"]
    assert runtime.images.get(images[1]["id"])["tags"] == ["Sunset", "pier"]


def _admin():
    from gallery.images.results import Actor

    return Actor(ADMIN[0], True)
