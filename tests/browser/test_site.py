"""The site in Chromium: the admin names it, the title and the About link show in the header,
the about page reads well; axe passes on /about and /admin/site, in light and dark."""

from __future__ import annotations

import pytest

from tests.browser import pages
from tests.browser.conftest import ADMIN
from tests.browser.pages import expect


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_an_admin_names_the_site_and_writes_its_about_page(page, axe, seed, color_scheme):
    seed(2, small=True)
    pages.sign_in(page, *ADMIN)
    page.goto("/admin/site")
    expect(page.get_by_role("heading", name="Site", exact=True)).to_be_visible()
    axe(page, "the site's settings")

    page.get_by_label("Title", exact=True).fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#title-error")).to_have_text("Give the site a title (1 to 100 characters).")
    expect(page.get_by_label("Title", exact=True)).to_have_attribute("aria-invalid", "true")
    axe(page, "the site's settings with an error")

    page.get_by_label("Title", exact=True).fill("Ada's photographs")
    page.get_by_label("Tagline", exact=True).fill("Light on the coast")
    page.get_by_label("About (Markdown)").fill(
        "## Who\n\nI photograph **harbours**. <script>window.hacked = 1</script>\n\n"
        "[My portfolio](https://ada.example)")
    page.get_by_label("Contact link").fill("mailto:ada@example.com")
    page.get_by_role("button", name="Preview the about page").click()
    expect(page.locator(".about-preview strong")).to_have_text("harbours")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the site's settings.")

    page.goto("/")
    expect(page).to_have_title("Ada's photographs")
    header = page.locator("header.site")
    expect(header.get_by_role("link", name="Ada's photographs")).to_be_visible()
    expect(header.locator(".tagline")).to_have_text("Light on the coast")
    header.get_by_role("link", name="About").click()
    expect(page).to_have_title("About · Ada's photographs")
    expect(page.get_by_role("heading", name="Who")).to_be_visible()
    expect(page.get_by_text("<script>window.hacked = 1</script>")).to_be_visible()
    assert page.evaluate("window.hacked") is None
    expect(page.get_by_role("link", name="My portfolio")).to_have_attribute(
        "rel", "nofollow noopener")
    expect(page.get_by_role("link", name="Get in touch")).to_have_attribute(
        "href", "mailto:ada@example.com")
    axe(page, "the about page")


def test_the_header_fits_a_phone(page, seed, runtime):
    seed(1, small=True)
    runtime.site.update({"title": "A rather long title for a small screen", "about": "Hi",
                         "tagline": "and a tagline to go with it"}, actor="ada")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")
    expect(page.locator("header.site .brand")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
