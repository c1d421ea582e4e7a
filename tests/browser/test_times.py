"""Times in the visitor's time zone (static/time.js), dates taken as the camera's clock,
and display names instead of usernames, in a real browser."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS, UPLOADER, VIEWPORT
from tests.browser.pages import expect

TOKYO = timezone(timedelta(hours=9))


def jpeg_taken(taken: str, offset: str) -> bytes:
    im = Image.new("RGB", (320, 240), (30, 110, 170))
    exif = Image.Exif()
    details = exif.get_ifd(0x8769)
    details[0x9003] = taken
    details[0x9011] = offset
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


@pytest.fixture
def context(browser, base_url):
    """A browser in Tokyo that reads British English."""
    ctx = browser.new_context(base_url=base_url, viewport=VIEWPORT, timezone_id="Asia/Tokyo",
                              locale="en-GB", reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def tokyo(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(TOKYO)


def test_upload_times_are_shown_in_the_visitors_zone_and_dates_taken_as_taken(page, runtime,
                                                                              users):
    image = runtime.images.upload(jpeg_taken("2023:04:01 14:05:00", "+02:00"), "DSCN0040.jpg",
                                  uploaded_by=ADMIN[0]).image
    local = tokyo(image["created_at"])
    pages.sign_in(page, *ADMIN)  # an owner sees the date taken
    page.goto(f"/images/{image['id']}")
    uploaded = page.locator(f'time[datetime="{image["created_at"]}"]')
    expect(uploaded).to_have_text(f"{local.day} {local:%b %Y}, {local:%H:%M}")
    expect(uploaded).to_have_attribute("title", f"{image['created_at'][:16].replace('T', ' ')} UTC")
    # Taken at 14:05 where the camera was (UTC+2): 14:05, not 21:05 in Tokyo.
    expect(page.locator(".taken-at time")).to_have_text("1 Apr 2023, 14:05 (UTC+02:00)")
    expect(page.locator("h1")).to_have_text("1 April 2023, 14:05")

    # The lightbox's date, set by its script, is rewritten too.
    page.goto("/")
    page.locator("a.tile").first.click()
    date = page.locator("dialog#lightbox .lightbox-date")
    expect(date).to_have_text(f"{local.day} {local:%b %Y}, {local:%H:%M}")


def test_without_javascript_times_say_utc(browser, base_url, runtime, users):
    image = runtime.images.upload(pages.photo(1)[0], "harbour.jpg", uploaded_by=ADMIN[0]).image
    ctx = browser.new_context(base_url=base_url, java_script_enabled=False,
                              timezone_id="Asia/Tokyo")
    try:
        tab = ctx.new_page()
        tab.goto(f"/images/{image['id']}")
        expect(tab.locator(f'time[datetime="{image["created_at"]}"]')).to_have_text(
            f"{image['created_at'][:16].replace('T', ' ')} UTC")
    finally:
        ctx.close()


def test_the_lightbox_names_the_uploader_by_display_name_only(page, runtime, users):
    runtime.accounts.set_display_name(UPLOADER[0], "Grandma Rose")
    runtime.images.upload(pages.photo(2)[0], "a.jpg", uploaded_by=UPLOADER[0])
    runtime.images.upload(pages.photo(3)[0], "b.jpg", uploaded_by=ADMIN[0])
    page.goto("/")
    lightbox = page.locator("dialog#lightbox")
    page.locator("a.tile").first.click()  # the admin's: no display name, so no "By" at all
    expect(lightbox.locator(".lightbox-title")).to_have_text("b")
    expect(lightbox.locator(".lightbox-by")).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox-title")).to_have_text("a")
    expect(lightbox.locator(".lightbox-by")).to_be_visible()
    expect(lightbox.locator(".lightbox-uploader")).to_have_text("Grandma Rose")
    content = page.content()  # no username as a word (ids and tokens may hold its letters)
    assert not re.search(rf"(?<![\w-])({ADMIN[0]}|{UPLOADER[0]})(?![\w-])", content)
