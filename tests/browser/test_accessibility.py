"""Every page passes axe-core with no serious or critical violation, in light and dark."""

from __future__ import annotations

import re

import pytest

from tests.browser import pages
from tests.browser.conftest import ADMIN
from tests.browser.pages import expect

pytestmark = pytest.mark.parametrize("color_scheme", ["light", "dark"])


def test_setup_page(page, axe, color_scheme):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    axe(page, "the first-run set-up page")


def test_setup_page_with_a_wrong_code(page, axe, color_scheme):
    page.goto("/setup")
    page.get_by_label("Set-up code").fill("AAAA-BBBB-CCCC-DDDD")
    page.get_by_label("Admin username").fill("ada")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_role("button", name="Create admin").click()
    expect(page.get_by_role("status")).to_contain_text("set-up code is not right")
    axe(page, "the set-up page after a wrong code")


def test_account_page(page, axe, users, color_scheme):
    pages.sign_in(page, *ADMIN)
    page.goto("/account")
    expect(page.get_by_role("button", name="Sign out everywhere")).to_be_visible()
    axe(page, "the account page")


def test_login_page(page, axe, users, color_scheme):
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    axe(page, "the sign-in page")


def test_login_page_with_an_error(page, axe, users, color_scheme):
    page.goto("/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("Wrong username or password")
    axe(page, "the sign-in page after a wrong password")


def test_grid(page, axe, seed, color_scheme):
    seed(6)
    page.goto("/")
    expect(page.locator("ul.grid > li")).to_have_count(6)
    axe(page, "the gallery grid (visitor)")
    pages.sign_in(page, *ADMIN)
    page.goto("/")
    expect(page.locator("ul.grid > li")).to_have_count(6)
    axe(page, "the gallery grid (signed in)")


def test_empty_grid(page, axe, users, color_scheme):
    pages.sign_in(page, *ADMIN)
    page.goto("/")
    expect(page.get_by_text("No images yet.")).to_be_visible()
    axe(page, "the empty gallery")


def test_image_page(page, axe, seed, color_scheme):
    image = seed(1)[0]
    page.goto(f"/images/{image['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(image["title"])
    axe(page, "an image page (visitor)")
    pages.sign_in(page, *ADMIN)
    page.goto(f"/images/{image['id']}")
    expect(page.locator("form.edit")).to_be_visible()
    axe(page, "an image page with its edit form")


def test_upload_page(page, axe, users, color_scheme):
    pages.sign_in(page, *ADMIN)
    page.goto("/upload")
    expect(page.locator("input#images")).to_be_attached()
    axe(page, "the upload page")


def test_error_page(page, axe, users, color_scheme):
    page.goto("/images/no-such-image")
    expect(page.locator("main")).to_be_visible()
    axe(page, "a 404 page")


def test_lightbox_open(page, axe, seed, color_scheme):
    images = seed(3)
    page.goto("/")
    page.locator("ul.grid a.tile").nth(1).click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox).to_have_attribute("open", "")
    expect(lightbox.locator(".lightbox-title")).to_have_text(images[1]["title"])
    axe(page, "the lightbox")


def test_upload_page_with_results(page, axe, users, seed, color_scheme):
    seed(1)
    pages.sign_in(page, *ADMIN)
    page.goto("/upload")
    duplicate = pages.photo(0)  # the seeded image's bytes again
    fresh = pages.photo(5, size=(480, 320))
    pages.drop_files(page, "#dropzone", [
        (fresh[1], "image/jpeg", fresh[0]),
        ("again.jpg", "image/jpeg", duplicate[0]),
        pages.NOT_AN_IMAGE,
    ])
    items = page.locator("ul#upload-list li.upload-item")
    expect(items).to_have_count(3)
    for state in ("done", "duplicate", "error"):
        expect(items.and_(page.locator(f"[data-state={state}]"))).to_have_count(1)
    expect(page.locator("#upload-summary")).to_contain_text("1 failed")
    axe(page, "the upload page with results")
