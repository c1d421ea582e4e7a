"""Screenshots of the home page's justified rows, the lightbox (as it opens and zoomed
in), the upload panel, albums, the about page and a share page, light and dark, on a
desktop and (the home page, an album, the zoomed lightbox, the about page) on a phone.

Saved under artifacts/screenshots/ (``make screenshots`` copies them to
docs/screenshots/ for the README). Each test also checks the page shows what
the picture is meant to show, so a broken page never becomes the README's picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS, UPLOADER, VIEWPORT
from tests.browser.pages import expect

pytestmark = pytest.mark.parametrize("color_scheme", ["light", "dark"])

ALL_IMAGES_SHOWN = """() => Array.from(document.querySelectorAll(
  'ul.grid img, #lightbox img, #upload-list img, .album-cover img'))
  .every(i => i.complete && i.naturalWidth > 0)"""


#: A phone's screen in css pixels (at two device pixels each).
PHONE = {"width": 390, "height": 844}

#: Photos of the shapes cameras and phones make: 3:2, 2:3, 4:3, 3:4, square, 16:9, a
#: panorama. The justified rows keep each one's shape.
SHAPES = [(720, 480), (480, 720), (640, 480), (480, 640), (600, 600), (800, 450),
          (1600, 400), (720, 480), (480, 720), (720, 540), (720, 480), (540, 720),
          (800, 450), (600, 600)]

ABOUT = """I photograph the coast where I grew up: harbours before the boats go out,
cliffs in the long light of June, and the lighthouse in every weather.

## Prints

Most of these pictures are available as **prints** on archival paper. Write to me
through the contact link below, or find me at [the harbour market](https://example.com)
on Saturdays.
"""


def saved(page, name: str, full_page: bool = False, viewport: dict[str, int] = VIEWPORT):
    """Take the screenshot once every picture on screen has loaded; check the PNG."""
    page.wait_for_function(ALL_IMAGES_SHOWN)
    path = pages.screenshot(page, name, full_page=full_page)
    with Image.open(path) as shot:
        scale = shot.width / viewport["width"]
        assert scale in (1, 2), (shot.size, viewport)
        height = viewport["height"] * scale
        assert shot.height == height or full_page and shot.height > height
        colours = shot.convert("RGB").resize((64, 64)).getcolors(64 * 64)
        assert colours is None or len(colours) > 50, f"{name} looks blank"
    return path


@pytest.fixture
def portfolio(runtime, users):
    """A gallery as a photographer sets it up: a title, a tagline, an about page, and
    photos of every shape, newest first."""
    runtime.site.update({"title": "Harbour Light", "tagline": "Photographs of the north coast",
                         "about": ABOUT, "contact": "mailto:studio@example.com"},
                        actor=ADMIN[0])
    made = []
    for n, size in enumerate(SHAPES):
        data, name = pages.photo(n, size=size)
        made.append(runtime.images.upload(data, name, uploaded_by=ADMIN[0]).image)
    return made[::-1]


@pytest.fixture
def phone(browser, base_url, color_scheme) -> Iterator[Any]:
    """A tab on a phone: a small touch screen at two device pixels per css pixel."""
    ctx = browser.new_context(base_url=base_url, viewport=PHONE, device_scale_factor=2,
                              is_mobile=True, has_touch=True, color_scheme=color_scheme,
                              reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    tab = ctx.new_page()
    yield tab
    ctx.close()


def rows_laid_out(page) -> None:
    """Wait until the grid's script has laid the tiles out in justified rows."""
    page.wait_for_function("() => { const g = document.getElementById('grid');"
                           " return g && g.querySelectorAll('a.tile').length > 0"
                           " && !g.classList.contains('squares') }")
    shapes = page.evaluate("""() => Array.from(document.querySelectorAll('#grid a.tile img'))
        .map(i => { const b = i.getBoundingClientRect();
                    return [b.width / b.height, i.width / i.height]; })""")
    for shown, own in shapes:  # every photo keeps its own shape: nothing is cropped
        assert shown == pytest.approx(own, rel=0.03)


def test_home(page, portfolio, color_scheme):
    page.goto("/")
    expect(page.locator("header.site .brand")).to_have_text("Harbour Light")
    expect(page.locator("ul.grid a.tile")).to_have_count(len(SHAPES))
    rows_laid_out(page)
    saved(page, f"home-{color_scheme}")


def test_home_on_a_phone(phone, portfolio, color_scheme):
    phone.goto("/")
    expect(phone.locator("header.site .brand")).to_have_text("Harbour Light")
    rows_laid_out(phone)
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    saved(phone, f"home-phone-{color_scheme}", viewport=PHONE)


def zoomed_in(page, presses: int = 3) -> Any:
    """Open the first tile in the lightbox and zoom in with the keyboard."""
    page.locator("ul.grid a.tile").first.click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox).to_have_attribute("open", "")
    expect(lightbox.locator(".lightbox-stage img")).to_have_js_property("complete", True)
    for _ in range(presses):
        page.keyboard.press("+")
    page.wait_for_function("() => Number(document.getElementById('lightbox').dataset.zoom) > 1.5")
    page.locator("button.lightbox-close").blur()  # no focus ring in the picture
    return lightbox


def test_lightbox_zoomed(page, runtime, users, color_scheme):
    data, name = pages.photo(5, size=(3000, 2000))
    runtime.images.upload(data, name, uploaded_by=ADMIN[0],
                          description="The harbour wall at low tide.")
    page.goto("/")
    zoomed_in(page)
    saved(page, f"lightbox-zoomed-{color_scheme}")


def test_lightbox_zoomed_on_a_phone(phone, runtime, users, color_scheme):
    data, name = pages.photo(5, size=(3000, 2000))
    runtime.images.upload(data, name, uploaded_by=ADMIN[0])
    phone.goto("/")
    zoomed_in(phone, presses=4)
    saved(phone, f"lightbox-zoomed-phone-{color_scheme}", viewport=PHONE)


def test_about(page, portfolio, color_scheme):
    page.goto("/")
    page.locator("header.site").get_by_role("link", name="About").click()
    expect(page.get_by_role("heading", name="Prints")).to_be_visible()
    expect(page.locator("main a[href='https://example.com']")).to_have_attribute(
        "rel", "nofollow noopener")
    saved(page, f"about-{color_scheme}")


def test_about_on_a_phone(phone, portfolio, color_scheme):
    phone.goto("/about")
    expect(phone.get_by_role("heading", name="Prints")).to_be_visible()
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    saved(phone, f"about-phone-{color_scheme}", viewport=PHONE)


def test_lightbox(page, portfolio, color_scheme):
    images = portfolio
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


def test_album(page, portfolio, runtime, color_scheme):
    coast = albums(runtime, portfolio)[0]
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{coast.id}")
    expect(page.locator("ul.grid a.tile")).to_have_count(8)
    expect(page.get_by_role("heading", level=1)).to_have_text("Along the coast")
    expect(page.locator("#album-visibility")).to_have_text("Public")
    rows_laid_out(page)
    saved(page, f"album-{color_scheme}")


def test_album_on_a_phone(phone, portfolio, runtime, color_scheme):
    coast = albums(runtime, portfolio)[0]
    phone.goto(f"/albums/{coast.id}")  # as a visitor sees it
    expect(phone.get_by_role("heading", level=1)).to_have_text("Along the coast")
    expect(phone.locator("ul.grid a.tile")).to_have_count(8)
    rows_laid_out(phone)
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    saved(phone, f"album-phone-{color_scheme}", viewport=PHONE)


def test_album_list(page, seed, runtime, color_scheme):
    albums(runtime, seed(12))
    pages.sign_in(page, *ADMIN)
    page.goto("/albums")
    expect(page.locator(".album-card")).to_have_count(3)
    saved(page, f"albums-{color_scheme}")
