"""The grid, the lightbox, editing and deleting, and signing out, in a real browser."""

from __future__ import annotations

import re

import pytest

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN
from tests.browser.pages import expect

TILES = "ul.grid > li > a.tile[data-id]"


def at(path: str) -> re.Pattern[str]:
    """A URL matcher for ``path`` on the app (no query string)."""
    return re.compile(rf"^http://127\.0\.0\.1:\d+{re.escape(path)}$")


def test_grid_shows_thumbnails_newest_first(page, seed):
    images = seed(3)
    page.goto("/")
    tiles = page.locator(TILES)
    expect(tiles).to_have_count(3)
    for n, image in enumerate(images):
        tile = tiles.nth(n)
        expect(tile).to_have_attribute("data-id", image["id"])
        img = tile.locator("img")
        expect(img).to_have_attribute("src", f"/media/{image['id']}/sm")
        expect(img).to_have_attribute("loading", "lazy")
        expect(img).to_have_attribute("alt", image["title"])
        for attribute in ("srcset", "sizes", "width", "height"):
            assert img.get_attribute(attribute), f"tile image without {attribute}"
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => i.naturalWidth") > 0, "the thumbnail did not decode"


def test_lightbox_steps_through_images_and_follows_the_back_button(page, seed):
    images = seed(4)
    page.goto("/")
    lightbox = page.locator("dialog#lightbox")
    title = lightbox.locator(".lightbox-title")
    expect(lightbox).not_to_have_attribute("open", "")

    page.locator(TILES).first.click()
    expect(lightbox).to_have_attribute("open", "")
    expect(title).to_have_text(images[0]["title"])
    expect(page).to_have_url(at(f"/images/{images[0]['id']}"))
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(rf"/media/{images[0]['id']}/"))
    expect(lightbox.locator("a.lightbox-original")).to_have_attribute(
        "href", f"/media/{images[0]['id']}")
    expect(lightbox.locator("button.lightbox-prev")).to_be_disabled()

    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(images[1]["title"])
    expect(page).to_have_url(at(f"/images/{images[1]['id']}"))
    lightbox.locator("button.lightbox-next").click()
    expect(title).to_have_text(images[2]["title"])
    expect(page).to_have_url(at(f"/images/{images[2]['id']}"))
    page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(images[1]["title"])
    expect(page).to_have_url(at(f"/images/{images[1]['id']}"))

    page.go_back()  # back to the image seen before, still in the lightbox
    expect(page).to_have_url(at(f"/images/{images[2]['id']}"))
    expect(title).to_have_text(images[2]["title"])
    expect(lightbox).to_have_attribute("open", "")

    page.keyboard.press("Escape")
    expect(lightbox).not_to_have_attribute("open", "")
    expect(page).to_have_url(at("/"))
    expect(page.locator(TILES)).to_have_count(4)


def test_back_button_closes_the_lightbox(page, seed):
    images = seed(2)
    page.goto("/")
    lightbox = page.locator("dialog#lightbox")
    page.locator(TILES).nth(1).click()
    expect(lightbox).to_have_attribute("open", "")
    expect(page).to_have_url(at(f"/images/{images[1]['id']}"))
    page.go_back()
    expect(lightbox).not_to_have_attribute("open", "")
    expect(page).to_have_url(at("/"))
    # The close button does the same, and the image's own page is a real page.
    page.locator(TILES).first.click()
    lightbox.locator("button.lightbox-close").click()
    expect(lightbox).not_to_have_attribute("open", "")
    expect(page).to_have_url(at("/"))
    page.goto(f"/images/{images[0]['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(images[0]["title"])


def test_edit_title_in_place(page, seed):
    image = seed(1)[0]
    pages.sign_in(page, *ADMIN)
    page.goto(f"/images/{image['id']}")
    page.evaluate("window.stillTheSamePage = true")
    form = page.locator("form.edit")
    form.locator("[name=title]").fill("Sunrise over the harbour")
    form.locator("[name=description]").fill("Taken from the old pier.")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sunrise over the harbour")
    assert page.evaluate("window.stillTheSamePage === true"), "saving left the page"

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sunrise over the harbour")
    expect(page.locator("form.edit [name=title]")).to_have_value("Sunrise over the harbour")
    expect(page.locator(".details .description")).to_have_text("Taken from the old pier.")
    expect(page).to_have_title(re.compile("^Sunrise over the harbour"))


def test_edit_refused_shows_the_servers_message(page, seed):
    image = seed(1)[0]
    pages.sign_in(page, *ADMIN)
    page.goto(f"/images/{image['id']}")
    # Longer than the form allows: the server says so, the page keeps the old title.
    page.locator("form.edit [name=title]").evaluate("el => el.removeAttribute('maxlength')")
    page.locator("form.edit [name=title]").fill("x" * 500)
    page.locator("form.edit").get_by_role("button", name="Save").click()
    status = page.locator("#edit-status")
    expect(status).not_to_have_text(re.compile(r"^(|Saving…|Saved\.)$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(image["title"])
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(image["title"])


def test_delete_with_the_confirm_dialog(page, seed, runtime):
    images = seed(2)
    pages.sign_in(page, *ADMIN)
    page.goto(f"/images/{images[0]['id']}")
    dialog = page.locator("dialog#confirm-delete")
    page.get_by_role("link", name="Delete…").click()
    expect(dialog).to_have_attribute("open", "")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).not_to_have_attribute("open", "")

    page.get_by_role("link", name="Delete…").click()
    dialog.locator("button.confirm-delete").click()
    expect(page).to_have_url(at("/"))
    undo = page.locator("form.undo")
    expect(undo).to_contain_text(f"Moved “{images[0]['title']}” to the trash.")
    expect(page.locator(TILES)).to_have_count(1)
    expect(page.locator(TILES).first).to_have_attribute("data-id", images[1]["id"])
    assert [i["id"] for i in runtime.images.list_images(limit=10)[0]] == [images[1]["id"]]
    undo.get_by_role("button", name="Undo").click()  # the dialog's delete can be undone
    expect(page.locator(TILES)).to_have_count(2)
    runtime.images.delete(images[0]["id"], actor=Actor(ADMIN[0], is_admin=True))
    assert page.goto(f"/images/{images[0]['id']}").status == 404


def test_sign_out(page, users):
    pages.sign_in(page, *ADMIN)
    page.goto("/")
    expect(page.locator("header")).to_contain_text(ADMIN[0])
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.locator("header")).not_to_contain_text(ADMIN[0])
    page.goto("/upload")
    expect(page).to_have_url(re.compile(r"/login"))


def test_first_run_set_up_with_the_code_from_the_log(page, runtime):
    from gallery import setup_code

    page.goto("/")
    expect(page).to_have_url(at("/setup"))
    code = setup_code.shown(setup_code.read(runtime.storage, runtime.keys))
    page.get_by_label("Set-up code").fill(code)
    page.get_by_label("Admin username").fill(ADMIN[0])
    page.get_by_label("Password", exact=True).fill(ADMIN[1])
    page.get_by_label("Repeat password").fill(ADMIN[1])
    page.get_by_role("button", name="Create admin").click()
    expect(page).to_have_url(at("/upload"))
    expect(page.locator("header")).to_contain_text(ADMIN[0])


def test_sign_out_everywhere_from_the_account_page(page, context, browser, base_url, users):
    pages.sign_in(page, *ADMIN)
    other = browser.new_context(base_url=base_url)
    try:
        elsewhere = other.new_page()
        pages.sign_in(elsewhere, *ADMIN)
        page.goto("/")
        page.locator("header").get_by_role("link", name=re.compile(ADMIN[0])).click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_role("status")).to_contain_text("Signed out everywhere")
        elsewhere.goto("/upload")
        expect(elsewhere).to_have_url(re.compile(r"/login"))
    finally:
        other.close()


@pytest.mark.parametrize("settings", [{"page_size": 48}])
def test_infinite_scroll_loads_the_next_pages(page, seed, settings):
    images = seed(140, small=True)
    # A phone: three photos a row, so a page of 48 is taller than the screen and the
    # margin the next page loads within.
    page.set_viewport_size({"width": 420, "height": 600})
    page.goto("/")
    tiles = page.locator(TILES)
    expect(tiles).to_have_count(48)
    expect(page.locator("a[rel=next]")).to_have_attribute("href", re.compile(r"page=2"))
    for shown in (96, 140):
        tiles.last.scroll_into_view_if_needed()
        expect(tiles).to_have_count(shown)
    ids = [tiles.nth(i).get_attribute("data-id") for i in range(140)]
    assert ids == [image["id"] for image in images], "every image once, newest first"
    expect(page.locator("#grid-status")).to_have_text("That is every image.")
    expect(page.locator("a[rel=next]")).to_have_count(0)
    # The address follows the page in view, so a reload shows what was on screen.
    tiles.last.evaluate("tile => tile.scrollIntoView({block: 'center'})")
    expect(page).to_have_url(re.compile(r"\?page=3$"))
    tiles.first.evaluate("tile => tile.scrollIntoView({block: 'center'})")
    expect(page).to_have_url(at("/"))


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_theme_follows_the_system_setting(page, seed, color_scheme):
    seed(1)
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
    if color_scheme == "dark":
        assert luminance < 0.2, f"dark theme has a light background {background}"
    else:
        assert luminance > 0.8, f"light theme has a dark background {background}"
