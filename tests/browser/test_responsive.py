"""Every page on a phone (360 x 740): nothing wider than the screen, a one-line header,
and axe-core clean in light and dark."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS
from tests.browser.pages import expect

PHONE = {"width": 360, "height": 740}
OWNER = Actor(ADMIN[0], is_admin=True)

#: Pages a signed-in admin sees, by name; ``{image}``, ``{album}``, ``{token}`` and
#: ``{tag}`` are filled in from the gallery the test builds.
SIGNED_IN = {
    "the gallery": "/",
    "an image page": "/images/{image}",
    "the albums": "/albums",
    "an album": "/albums/{album}",
    "an album in select mode": "/albums/{album}?select=1",
    "an album's share links": "/albums/{album}/links",
    "the upload page": "/upload",
    "the account page": "/account",
    "the admin dashboard": "/admin/",
    "the admin images": "/admin/images",
    "the admin users": "/admin/users",
    "the admin tokens": "/admin/tokens",
    "the audit log": "/admin/audit",
    "the admin links": "/admin/links",
    "the cleanup page": "/admin/cleanup",
    "the health checks": "/admin/doctor",
    "the export page": "/admin/export",
    "a tag page": "/tags/{tag}",
    "a search": "/?q=harbour&sort=taken",
}
#: Pages of a visitor who is not signed in.
VISITOR = {
    "the sign-in page": "/login",
    "the gallery (visitor)": "/",
    "a share page": "/s/{token}",
    "an image under a share link": "/s/{token}/images/{image}",
}

#: The page's width beyond the screen's, and what sticks out (for the message).
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = Array.from(document.querySelectorAll('body *')).filter(el => {
    const box = el.getBoundingClientRect();
    return box.width && box.right > width + 0.5 && !el.closest('dialog:not([open]), [popover]:not(:popover-open)');
  }).slice(0, 5).map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
    + `${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''}`
    + ` (right ${Math.round(el.getBoundingClientRect().right)})`);
  return {scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth, wide};
}"""


@pytest.fixture
def gallery(runtime, seed):
    """Photos with a tag, an album of them, a share link to it, an API token."""
    photos = seed(5, small=False)
    tag = "Long weekend by the lake"
    runtime.images.update(photos[0]["id"], {"tags": [tag, "sea"]}, actor=OWNER)
    album = runtime.albums.create(
        title="A summer by the lake, with a title long enough to wrap on a phone",
        description="Two days by the water.", visibility="public", actor=OWNER)
    runtime.albums.change_images(album.id, add=[p["id"] for p in photos], actor=OWNER)
    link = runtime.links.create(album.id, actor=OWNER, show_details=True, allow_download=True,
                                label="For the family")
    runtime.accounts.create_token(ADMIN[0], "A laptop")
    return {"image": photos[0]["id"], "album": album.id, "token": link.token, "tag": tag}


@pytest.fixture
def phone(browser, base_url, color_scheme, axe_source) -> Iterator[Any]:
    """A phone-sized tab with axe-core in every page; a script error fails the test."""
    ctx = browser.new_context(base_url=base_url, viewport=PHONE, device_scale_factor=2,
                              is_mobile=True, has_touch=True, color_scheme=color_scheme,
                              reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_init_script(script=axe_source)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(f"{tab.url}: {err}"))
    yield tab
    ctx.close()
    assert not errors, errors


def visit(tab: Any, path: str, what: str, problems: list[str]) -> None:
    """Open ``path`` and :func:`check` it; what is wrong goes to ``problems`` (so one run
    reports every page)."""
    response = tab.goto(path)
    assert response is not None and response.status == 200, f"{what}: {path} answered {response}"
    try:
        check(tab, what)
    except AssertionError as err:
        problems.append(str(err))
    if SCREENSHOTS:
        pages.screenshot(tab, "phone-" + what.replace(" ", "-").replace("'", ""), full_page=True)


#: Set to keep a screenshot of every page (artifacts/screenshots/phone-*.png).
SCREENSHOTS = bool(os.environ.get("PHONE_SCREENSHOTS"))


def check(tab: Any, what: str) -> None:
    """No sideways scrolling, a header on one line, and axe-core clean."""
    measured = tab.evaluate(_OVERFLOW)
    # A phone zooms out to show a page wider than itself (innerWidth grows with it): the
    # screen's width is the measure.
    assert measured["scroll"] <= min(measured["inner"], PHONE["width"]), (
        f"{what} scrolls sideways: {measured['scroll']} px wide on a {PHONE['width']} px "
        f"screen; too wide: {measured['wide']}")
    header = tab.locator("header.site")
    if header.count():
        box = header.bounding_box()
        assert box["height"] <= 64, f"the header of {what} wraps: {box['height']} px high"
    pages.check_accessibility(tab, f"{what} on a phone")


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_every_page_fits_a_phone(phone, gallery, color_scheme):
    problems: list[str] = []
    for what, path in VISITOR.items():
        visit(phone, path.format(**gallery), what, problems)
    pages.sign_in(phone, *ADMIN)
    for what, path in SIGNED_IN.items():
        visit(phone, path.format(**gallery), what, problems)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_the_menu_holds_the_navigation_on_a_phone(phone, gallery, color_scheme):
    pages.sign_in(phone, *ADMIN)
    phone.goto("/")
    nav = phone.get_by_role("navigation", name="Main")
    menu = phone.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav).to_be_visible()
    for name in ("Albums", "Upload", "Admin"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    box = nav.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    pages.check_accessibility(phone, "the open menu")
    phone.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    menu.click()
    nav.get_by_role("link", name="Albums").click()
    expect(phone.get_by_role("heading", level=1, name="Albums")).to_be_visible()
    # From 800 px on the same links are in the header, on one line, and no menu.
    for width in (800, 1024):
        phone.set_viewport_size({"width": width, "height": 740})
        expect(menu).to_be_hidden()
        expect(nav.get_by_role("link", name="Upload")).to_be_visible()
        assert phone.locator("header.site").bounding_box()["height"] <= 64
        box = nav.bounding_box()
        assert box["x"] + box["width"] <= width
        assert phone.evaluate("document.scrollingElement.scrollWidth") <= width
