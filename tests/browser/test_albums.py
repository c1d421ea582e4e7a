"""Albums in a real Chromium: making one, filling it by multi-select on the grid, arranging it
by drag and by keyboard, editing it in place, its lightbox, and axe in light and dark."""

from __future__ import annotations

import re

import pytest

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN
from tests.browser.pages import expect

ADA = Actor(ADMIN[0], is_admin=True)
TILES = "ul.grid > li > a.tile[data-id]"


def at(path: str) -> re.Pattern[str]:
    """A URL matcher for ``path`` on the app (no query string)."""
    return re.compile(rf"^http://127\.0\.0\.1:\d+{re.escape(path)}$")


def shown_ids(page) -> list[str]:
    return page.locator(TILES).evaluate_all("tiles => tiles.map(t => t.dataset.id)")


@pytest.fixture
def album_of(runtime):
    """``album_of(images, title=..., visibility=...)``: an album of ``images``, in that order."""

    def make(images: list[dict], title: str = "Holiday", visibility: str = "public",
             description: str = "") -> object:
        album = runtime.albums.create(title=title, visibility=visibility, actor=ADA,
                                      description=description)
        return runtime.albums.change_images(album.id, add=[i["id"] for i in images], actor=ADA)

    return make


def drag(page, source, target, *, to_the_right: bool) -> None:
    """Press on ``source``, move over ``target`` (past its middle) and let go, as a mouse does."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 12, start["y"] + start["height"] / 2, steps=3)
    x = end["x"] + end["width"] * (0.8 if to_the_right else 0.2)
    page.mouse.move(x, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_make_an_album_and_fill_it_by_selecting_on_the_grid(page, seed, runtime):
    images = seed(4, small=True)
    pages.sign_in(page, *ADMIN)
    page.goto("/albums")
    expect(page.get_by_text("No albums yet.")).to_be_visible()
    page.locator("summary", has_text="New album").click()
    page.get_by_label("Title").fill("Road trip")
    page.get_by_label("Description").fill("Four days on the coast.")
    page.get_by_role("button", name="Create album").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Road trip")
    expect(page.get_by_text("This album is empty.")).to_be_visible()
    album_id = page.url.rsplit("/", 1)[1]

    page.goto("/")
    page.evaluate("window.stillTheSamePage = true")
    lightbox = page.locator("dialog#lightbox")
    page.get_by_role("button", name="Select").click()
    expect(page.locator("ul#grid")).to_have_class(re.compile(r"\bselecting\b"))
    expect(page.locator("#select-form")).to_be_visible()
    add = page.get_by_role("button", name="Add to album")
    expect(add).to_be_disabled()
    page.locator(TILES).nth(0).click()  # a click ticks the tile rather than opening it
    page.locator(TILES).nth(2).click(modifiers=["Shift"])  # shift: the range between
    page.locator(TILES).nth(1).click()  # untick the middle one again
    expect(lightbox).not_to_have_attribute("open", "")
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.get_by_label("Album", exact=True).select_option(label="Road trip")
    add.click()
    expect(page.locator(".select-status")).to_have_text("Added 2 images to “Road trip”.")
    assert page.evaluate("window.stillTheSamePage === true"), "adding left the page"
    expect(page.locator("[data-selected-count]")).not_to_have_text("2 selected")

    page.goto(f"/albums/{album_id}")
    expect(page.locator(TILES)).to_have_count(2)
    assert shown_ids(page) == [images[0]["id"], images[2]["id"]]
    assert runtime.albums.get(album_id).image_ids == [images[0]["id"], images[2]["id"]]
    expect(page.locator(".album-facts")).to_contain_text("2 images")


def test_arrange_by_dragging_and_the_order_stays_after_a_reload(page, seed, runtime, album_of):
    images = seed(4, small=True)
    album = album_of(images)
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}")
    tiles = page.locator(TILES)
    expect(tiles).to_have_count(4)
    drag(page, tiles.nth(0), tiles.nth(2), to_the_right=True)
    expect(page.locator("#album-status")).to_have_text("Order saved.")
    expected = [images[1]["id"], images[2]["id"], images[0]["id"], images[3]["id"]]
    assert shown_ids(page) == expected
    expect(page.locator("dialog#lightbox")).not_to_have_attribute("open", "")  # a drag opens nothing

    drag(page, tiles.nth(3), tiles.nth(0), to_the_right=False)
    expect(page.locator("#album-status")).to_have_text("Order saved.")
    expected = [images[3]["id"], images[1]["id"], images[2]["id"], images[0]["id"]]
    assert shown_ids(page) == expected
    page.reload()
    expect(tiles).to_have_count(4)
    assert shown_ids(page) == expected
    assert runtime.albums.get(album.id).image_ids == expected
    # The first image is the cover until one is chosen.
    expect(page.locator("#grid > li").first.locator(".tile-badge")).to_have_text("Cover")


def test_arrange_with_the_keyboard_and_choose_a_cover(page, seed, runtime, album_of):
    images = seed(3, small=True)
    album = album_of(images)
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}")
    page.get_by_role("button", name="Select").click()
    box = page.get_by_label(f"Select {images[2]['title']}")
    box.focus()
    page.keyboard.press("Space")
    expect(page.locator("[data-selected-count]")).to_have_text("1 selected")
    earlier = page.get_by_role("button", name="Move earlier")
    earlier.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".select-status")).to_have_text("Moved 1 image.")
    earlier.click()
    expect(page.locator(".select-status")).to_have_text("Moved 1 image.")
    page.wait_for_function(
        f"document.querySelector('#grid > li a.tile').dataset.id === '{images[2]['id']}'")
    assert runtime.albums.get(album.id).image_ids == [images[2]["id"], images[0]["id"],
                                                       images[1]["id"]]
    expect(box).to_be_checked()  # the selection stays, to move again

    page.get_by_role("button", name="Make cover").click()
    expect(page.locator(".select-status")).to_have_text("Cover changed.")
    expect(page.locator(".tile-badge")).to_have_count(1)
    assert runtime.albums.get(album.id).cover == images[2]["id"]

    page.get_by_role("button", name="Remove from album").click()
    expect(page.locator(".select-status")).to_contain_text("Removed 1 image")
    expect(page.locator(TILES)).to_have_count(2)
    expect(page.locator("#album-count")).to_have_text("2 images")
    assert runtime.albums.get(album.id).image_ids == [images[0]["id"], images[1]["id"]]


def test_edit_the_album_in_place(page, seed, runtime, album_of):
    album = album_of(seed(2, small=True), visibility="private")
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}")
    page.evaluate("window.stillTheSamePage = true")
    page.locator("summary", has_text="Edit album").click()
    page.get_by_label("Title").fill("Harbour days")
    page.get_by_label("Description").fill("Boats, mostly.")
    page.get_by_label("Who sees it").select_option("unlisted")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#album-edit-status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour days")
    expect(page.locator("#album-description")).to_have_text("Boats, mostly.")
    expect(page.locator("#album-visibility")).to_have_text("Unlisted")
    expect(page).to_have_title(re.compile("^Harbour days"))
    assert page.evaluate("window.stillTheSamePage === true"), "saving left the page"

    # Past the limit the field allows (as an older browser might send): the server says no.
    page.get_by_label("Title").evaluate(
        "el => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(300); }")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#album-edit-status")).to_have_text(
        "The album title is longer than 200 characters.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour days")
    assert runtime.albums.get(album.id).title == "Harbour days"


def test_upload_straight_into_an_album(page, users, runtime, album_of):
    album = album_of([], title="Fresh")
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}")
    page.locator(".album-actions").get_by_role("link", name="Upload").click()
    expect(page.get_by_label("Add to album")).to_have_value(album.id)
    files = [(name, "image/png", data) for data, name in (pages.png(n) for n in (1, 2))]
    pages.drop_files(page, "#dropzone", files)
    summary = page.locator("#upload-summary")
    expect(summary).to_contain_text("Done: 2 of 2 stored")
    expect(summary).to_contain_text("2 added to the album")
    expect(page.locator("ul#upload-list .upload-message").first).to_contain_text("added to “Fresh”")
    summary.get_by_role("link", name="Open “Fresh”").click()
    expect(page.locator(TILES)).to_have_count(2)
    ids = runtime.albums.get(album.id).image_ids
    assert [runtime.images.get(i)["filename"] for i in ids] == [name for name, _, _ in files]


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_the_lightbox_stays_in_the_album(page, seed, album_of):
    images = seed(6, small=True)
    chosen = [images[4], images[1], images[3]]  # not the gallery's order, and not all of it
    album = album_of(chosen)
    page.goto(f"/albums/{album.id}")
    lightbox = page.locator("dialog#lightbox")
    title = lightbox.locator(".lightbox-title")
    page.locator(TILES).first.click()
    expect(lightbox).to_have_attribute("open", "")
    expect(title).to_have_text(chosen[0]["title"])
    expect(lightbox.locator("button.lightbox-prev")).to_be_disabled()
    expect(lightbox.locator(".lightbox-position")).to_have_text("1 of 3")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(chosen[1]["title"])
    page.keyboard.press("ArrowRight")  # past the page: the album's next page loads
    expect(title).to_have_text(chosen[2]["title"])
    expect(page).to_have_url(at(f"/images/{chosen[2]['id']}"))
    expect(lightbox.locator("button.lightbox-next")).to_be_disabled()
    page.keyboard.press("ArrowRight")  # the end of the album: nothing further
    expect(title).to_have_text(chosen[2]["title"])
    page.go_back()
    expect(title).to_have_text(chosen[1]["title"])
    page.keyboard.press("Escape")
    expect(lightbox).not_to_have_attribute("open", "")
    expect(page).to_have_url(at(f"/albums/{album.id}"))
    assert shown_ids(page) == [c["id"] for c in chosen]

    # A page of the album opened by its address starts there; the count stays the album's.
    page.goto(f"/albums/{album.id}?page=2")
    assert shown_ids(page) == [chosen[2]["id"]]
    page.locator(TILES).first.click()
    expect(title).to_have_text(chosen[2]["title"])
    expect(lightbox.locator(".lightbox-position")).to_have_text("3 of 3")
    expect(lightbox.locator("button.lightbox-next")).to_be_disabled()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_album_pages_pass_axe(page, axe, seed, album_of, color_scheme):
    images = seed(4, small=True)
    album = album_of(images[:3], description="Four days on the coast.")
    album_of([], title="Still empty", visibility="private")
    page.goto("/albums")
    expect(page.locator(".album-card")).to_have_count(1)
    axe(page, "the album list (visitor)")
    page.goto(f"/albums/{album.id}")
    expect(page.locator(TILES)).to_have_count(3)
    axe(page, "an album (visitor)")

    pages.sign_in(page, *ADMIN)
    page.goto("/albums")
    expect(page.locator(".album-card")).to_have_count(2)
    page.locator("summary", has_text="New album").click()
    expect(page.get_by_role("button", name="Create album")).to_be_visible()
    axe(page, "the album list with the new album form")
    page.goto(f"/albums/{album.id}")
    page.locator("summary", has_text="Edit album").click()
    page.get_by_role("button", name="Select").click()
    page.locator(TILES).first.click()
    expect(page.locator("[data-selected-count]")).to_have_text("1 selected")
    axe(page, "an album for its owner, editing and selecting")
    page.goto("/?select=1")
    expect(page.get_by_role("button", name="Add to album")).to_be_visible()
    axe(page, "the gallery in select mode")
    page.goto(f"/images/{images[0]['id']}")
    expect(page.get_by_role("heading", name="Albums")).to_be_visible()
    axe(page, "an image page with its albums")
