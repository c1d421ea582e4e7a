"""Share links in Chromium: an owner makes a link with a password, a stranger opens it in
a browser of their own, types the password, sees the album and downloads it; the owner
revokes it and the stranger's page closes. Every share page passes axe-core, light and dark."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS, VIEWPORT
from tests.browser.pages import expect

OWNER = Actor(ADMIN[0], is_admin=True)
PASSWORD = "blue heron at noon"
TILES = "ul.grid > li > a.tile[data-id]"


@pytest.fixture
def album(runtime, seed):
    """An album of three photos (and one more photo of the gallery, outside it)."""
    photos = seed(4, small=True)
    made = runtime.albums.create(title="Lake weekend", description="Two days by the water.",
                                 visibility="private", actor=OWNER)
    return runtime.albums.change_images(made.id, add=[p["id"] for p in photos[:3]], actor=OWNER)


@pytest.fixture
def stranger(browser, base_url, color_scheme) -> Iterator[Any]:
    """A second, fresh browser profile (no cookies) that accepts downloads; a script
    error on its page fails the test."""
    ctx = browser.new_context(base_url=base_url, viewport=VIEWPORT, color_scheme=color_scheme,
                              reduced_motion="reduce", accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(f"{tab.url}: {err}"))
    yield tab
    ctx.close()
    assert not errors, "uncaught script errors in the page:\n" + "\n".join(errors)


def test_a_link_with_a_password_from_making_it_to_revoking_it(page, context, stranger, album,
                                                              runtime):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}/links")
    expect(page.get_by_role("heading", name="Share “Lake weekend”")).to_be_visible()
    page.get_by_label("Label").fill("For the neighbours")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Allow downloads").check()
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#flashes")).to_contain_text("Link created.")
    [link] = runtime.links.for_album(album.id)
    assert link.has_password and link.allow_download and not link.show_details
    row = page.locator(f"tr#link-{link.id}")
    address = row.locator("input[data-share-url]")
    expect(address).to_have_value(f"{page.url.split('/albums/')[0]}/s/{link.token}")
    row.get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == address.input_value()

    # A stranger opens it: only the password form, nothing of the album.
    stranger.goto(url)
    expect(stranger.get_by_role("heading", level=1)).to_have_text(
        "This album is protected by a password")
    expect(stranger.locator("img")).to_have_count(0)
    assert "Lake weekend" not in stranger.content()
    stranger.get_by_label("Password").fill("not the password")
    stranger.get_by_role("button", name="Open album").click()
    expect(stranger.get_by_role("alert")).to_have_text("That password is not right.")
    stranger.get_by_label("Password").fill(PASSWORD)
    stranger.get_by_role("button", name="Open album").click()

    # Then the album, and only the album: no site header, no way into the rest.
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Lake weekend")
    tiles = stranger.locator(TILES)
    expect(tiles).to_have_count(3)
    expect(stranger.locator("header.site")).to_have_count(0)
    expect(stranger.get_by_role("link", name="Sign in")).to_have_count(0)
    for n in range(3):
        img = tiles.nth(n).locator("img")
        expect(img).to_have_attribute("src", f"/s/{link.token}/media/"
                                      f"{tiles.nth(n).get_attribute('data-id')}/sm")
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => i.naturalWidth") > 0, "a thumbnail did not load"

    # The lightbox steps inside the album and stops at its end.
    tiles.nth(2).click()
    lightbox = stranger.locator("dialog#lightbox")
    expect(lightbox).to_have_attribute("open", "")
    expect(lightbox.locator(".lightbox-position")).to_have_text("3 of 3")
    expect(lightbox.locator("button.lightbox-next")).to_be_disabled()
    expect(lightbox.locator("a.lightbox-original")).to_have_attribute(
        "href", f"/s/{link.token}/media/{tiles.nth(2).get_attribute('data-id')}")
    stranger.keyboard.press("ArrowLeft")
    expect(lightbox.locator(".lightbox-position")).to_have_text("2 of 3")
    stranger.keyboard.press("Escape")
    expect(lightbox).not_to_have_attribute("open", "")

    with stranger.expect_download() as started:
        stranger.get_by_role("link", name="Download all").click()
    download = started.value
    assert download.suggested_filename == "Lake weekend.zip"
    with zipfile.ZipFile(download.path()) as archive:
        names = sorted(archive.namelist())
    assert names == sorted(r.filename for r in runtime.albums.records(album))

    # The owner revokes it; the stranger's next look finds it closed.
    page.reload()
    page.locator(f"tr#link-{link.id}").get_by_role("link", name="Revoke…").click()
    dialog = page.locator("dialog#confirm-revoke")
    expect(dialog).to_have_attribute("open", "")
    expect(dialog).to_contain_text("Revoke the link “For the neighbours”?")
    dialog.get_by_role("button", name="Revoke link").click()
    expect(page.locator("#flashes")).to_contain_text("Revoked the link “For the neighbours”")
    expect(page.locator(f"tr#link-{link.id} .badge")).to_have_text("revoked")

    deadline = time.monotonic() + 5
    while True:
        response = stranger.reload()
        if response is not None and response.status == 410:
            break
        assert time.monotonic() < deadline, "the revoked link still opens after 5 seconds"
        stranger.wait_for_timeout(250)
    expect(stranger.get_by_role("heading", level=1)).to_have_text("This link was revoked")
    expect(stranger.locator("img")).to_have_count(0)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_share_pages_pass_axe(page, axe, context, album, runtime, color_scheme):
    open_link = runtime.links.create(album.id, actor=OWNER, allow_download=True,
                                     show_details=True, label="Everyone")
    locked = runtime.links.create(album.id, actor=OWNER, password=PASSWORD)
    page.goto(f"/s/{open_link.token}")
    expect(page.locator(TILES)).to_have_count(3)
    axe(page, "a share page")
    page.locator(TILES).first.click()
    expect(page.locator("dialog#lightbox")).to_have_attribute("open", "")
    axe(page, "the lightbox of a share page")
    page.goto(f"/s/{open_link.token}/images/{album.image_ids[1]}")
    expect(page.get_by_text("Photo 2 of 3")).to_be_visible()
    axe(page, "an image page under a link")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("Photo 3 of 3")).to_be_visible()

    page.goto(f"/s/{locked.token}")
    expect(page.get_by_label("Password")).to_be_visible()
    axe(page, "the password page of a link")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Open album").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe(page, "the password page after a wrong password")

    pages.sign_in(page, *ADMIN)
    runtime.links.revoke(locked.id, actor=OWNER)
    page.goto(f"/albums/{album.id}/links")
    expect(page.locator("table.share-links tbody tr")).to_have_count(2)
    axe(page, "the link manager")
    page.locator(f"tr#link-{open_link.id}").get_by_role("link", name="Revoke…").click()
    expect(page.locator("dialog#confirm-revoke")).to_have_attribute("open", "")
    axe(page, "the revoke dialog")
    page.goto("/admin/links")
    expect(page.get_by_role("link", name="Links", exact=True)).to_have_attribute(
        "aria-current", "page")
    axe(page, "the admin's list of links")

    page.goto("/s/" + "A" * 43)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
    axe(page, "the page of an unknown link")
