"""Screenshots of the grid, the lightbox, the upload panel, albums and a share page,
light and dark.

Saved under artifacts/screenshots/ (``make screenshots`` copies them to
docs/screenshots/ for the README). Each test also checks the page shows what
the picture is meant to show, so a broken page never becomes the README's picture.
"""

from __future__ import annotations

import pytest
from PIL import Image

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, UPLOADER, VIEWPORT
from tests.browser.pages import expect

pytestmark = pytest.mark.parametrize("color_scheme", ["light", "dark"])

ALL_IMAGES_SHOWN = """() => Array.from(document.querySelectorAll(
  'ul.grid img, #lightbox img, #upload-list img, .album-cover img'))
  .every(i => i.complete && i.naturalWidth > 0)"""


def saved(page, name: str, full_page: bool = False):
    """Take the screenshot once every picture on screen has loaded; check the PNG."""
    page.wait_for_function(ALL_IMAGES_SHOWN)
    path = pages.screenshot(page, name, full_page=full_page)
    with Image.open(path) as shot:
        assert shot.width == VIEWPORT["width"]
        assert shot.height == VIEWPORT["height"] or full_page and shot.height > VIEWPORT["height"]
        colours = shot.convert("RGB").resize((64, 64)).getcolors(64 * 64)
        assert colours is None or len(colours) > 50, f"{name} looks blank"
    return path


def test_grid(page, seed, color_scheme):
    seed(12)
    page.goto("/")
    expect(page.locator("ul.grid a.tile")).to_have_count(12)
    saved(page, f"grid-{color_scheme}")


def test_lightbox(page, seed, color_scheme):
    images = seed(12)
    page.goto("/")
    page.locator("ul.grid a.tile").nth(2).click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox).to_have_attribute("open", "")
    expect(lightbox.locator(".lightbox-title")).to_have_text(images[2]["title"])
    page.locator("button.lightbox-close").blur()  # no focus ring in the picture
    saved(page, f"lightbox-{color_scheme}")


def test_upload_panel(page, seed, color_scheme):
    seed(1)
    pages.sign_in(page, *UPLOADER)
    page.goto("/upload")
    again, _ = pages.photo(0)
    files = [(name, "image/jpeg", data) for data, name in
             (pages.photo(n, size=(480, 320)) for n in (3, 4, 6))]
    pages.drop_files(page, "#dropzone", files + [
        ("Harbour at dawn (copy).jpg", "image/jpeg", again), pages.NOT_AN_IMAGE])
    items = page.locator("ul#upload-list li.upload-item")
    expect(items).to_have_count(5)
    expect(page.locator("#upload-summary")).to_contain_text("Done: 4 of 5 stored (1 already in the gallery)")
    expect(page.locator("#upload-summary")).to_contain_text("1 failed")
    saved(page, f"upload-{color_scheme}", full_page=True)


def test_share_page(page, seed, runtime, color_scheme):
    images = seed(9)
    owner = Actor(ADMIN[0], is_admin=True)
    album = runtime.albums.create(title="A week on the coast", actor=owner,
                                  description="Cliffs, harbours and the long light of June.")
    runtime.albums.change_images(album.id, add=[i["id"] for i in images[::-1]], actor=owner)
    link = runtime.links.create(album.id, actor=owner, allow_download=True, show_details=True)
    page.goto(f"/s/{link.token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("A week on the coast")
    expect(page.locator("ul.grid a.tile")).to_have_count(9)
    expect(page.get_by_role("link", name="Download all")).to_be_visible()
    saved(page, f"share-{color_scheme}")


def albums(runtime, images):
    """Three albums of the seeded images, as their owner would arrange them."""
    ada = Actor(ADMIN[0], is_admin=True)
    made = []
    for title, visibility, picked, text in (
            ("Along the coast", "public", images[0:8],
             "Cliffs, harbours and lighthouses from a week of walking the coast path."),
            ("Mountains", "unlisted", images[4:10], ""),
            ("Winter", "private", images[9:12], "")):
        album = runtime.albums.create(title=title, visibility=visibility, description=text,
                                      actor=ada)
        made.append(runtime.albums.change_images(album.id, add=[i["id"] for i in picked],
                                                 actor=ada))
    return made


def test_album(page, seed, runtime, color_scheme):
    coast = albums(runtime, seed(12))[0]
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{coast.id}")
    expect(page.locator("ul.grid a.tile")).to_have_count(8)
    expect(page.get_by_role("heading", level=1)).to_have_text("Along the coast")
    expect(page.locator("#album-visibility")).to_have_text("Public")
    saved(page, f"album-{color_scheme}")


def test_album_list(page, seed, runtime, color_scheme):
    albums(runtime, seed(12))
    pages.sign_in(page, *ADMIN)
    page.goto("/albums")
    expect(page.locator(".album-card")).to_have_count(3)
    saved(page, f"albums-{color_scheme}")
