"""The lightbox in Chromium: zoom (wheel, double-click, keys, pan, the original swapped in),
full screen, the information panel that remembers being hidden, the description, swipes,
and the slideshow (its interval, its end, the space bar, reduced motion, the next page)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS
from tests.browser.pages import expect

TILES = "ul.grid > li > a.tile[data-id]"
OWNER = Actor(ADMIN[0], is_admin=True)
#: A slideshow interval short enough for a test, offered through the page's own choice.
QUICK = """(seconds) => {
  const select = document.querySelector('.lightbox-interval');
  select.add(new Option(`${seconds} seconds`, String(seconds)));
  select.value = String(seconds);
  select.dispatchEvent(new Event('change'));
}"""


@pytest.fixture
def large(runtime, users):
    """``large(count)``: photos bigger than the large thumbnail (3000 × 2000), newest first."""

    def upload(count: int) -> list[dict]:
        made = []
        for n in range(count):
            data, name = pages.photo(n, size=(3000, 2000))
            made.append(runtime.images.upload(data, name, uploaded_by=ADMIN[0]).image)
        return made[::-1]

    return upload


def open_first(page: Any, path: str = "/") -> Any:
    page.goto(path)
    page.locator(TILES).first.click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox).to_have_attribute("open", "")
    picture = lightbox.locator(".lightbox-stage img")
    expect(picture).to_have_js_property("complete", True)
    return lightbox


def scale(lightbox: Any) -> float:
    return float(lightbox.get_attribute("data-zoom") or "1")


def box(page: Any) -> dict[str, float]:
    return page.locator(".lightbox-stage img").bounding_box()


def test_the_wheel_zooms_toward_the_cursor_and_swaps_in_the_original(page, large):
    [image] = large(1)
    original = re.compile(rf"/media/{image['id']}$")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if original.search(r.url) else None)
    lightbox = open_first(page)
    picture = lightbox.locator(".lightbox-stage img")
    assert picture.evaluate("i => i.currentSrc").endswith(f"/media/{image['id']}/lg")
    before = box(page)
    at = (before["x"] + before["width"] * 0.25, before["y"] + before["height"] * 0.3)
    page.mouse.move(*at)
    page.mouse.wheel(0, -150)
    expect(lightbox).not_to_have_attribute("data-zoom", "1.000")
    after = box(page)
    assert after["width"] > before["width"] * 1.1
    assert not fetched  # within the large thumbnail's pixels: no original yet
    # The point under the cursor stays under it (across: the picture is wider than the
    # stage now); down, where it still fits, it stays centred.
    assert abs((at[0] - after["x"]) / after["width"] - 0.25) < 0.02
    middle = before["y"] + before["height"] / 2
    assert after["y"] + after["height"] / 2 == pytest.approx(middle, abs=2)
    # Zoomed in further, it is taller than the stage too: the point stays in both directions.
    page.mouse.wheel(0, -150)
    page.wait_for_function("() => document.getElementById('lightbox').dataset.zoom > 1.8")
    tall = box(page)
    assert tall["height"] > 860
    pointed = ((at[0] - tall["x"]) / tall["width"], (at[1] - tall["y"]) / tall["height"])
    page.mouse.wheel(0, -100)
    page.wait_for_function("() => document.getElementById('lightbox').dataset.zoom > 2.2")
    further = box(page)
    assert abs((at[0] - further["x"]) / further["width"] - pointed[0]) < 0.02
    assert abs((at[1] - further["y"]) / further["height"] - pointed[1]) < 0.02
    # Past the large thumbnail's pixels, the original is fetched and shown instead.
    for _ in range(12):
        page.mouse.wheel(0, -300)
    page.wait_for_function("(id) => document.querySelector('.lightbox-stage img')"
                           ".currentSrc.endsWith(`/media/${id}`)", arg=image["id"])
    assert len(fetched) == 1
    # Zoom stops at the original's own pixels: 3000 wide on screen.
    assert box(page)["width"] == pytest.approx(3000, rel=0.01)
    expect(lightbox.locator("button.lightbox-zoom-in")).to_be_disabled()
    page.keyboard.press("0")
    expect(lightbox).to_have_attribute("data-zoom", "1.000")
    assert box(page)["width"] == pytest.approx(before["width"], rel=0.01)


def test_double_click_toggles_the_zoom_and_a_drag_pans(page, large):
    large(2)
    lightbox = open_first(page)
    before = box(page)
    middle = (before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    page.mouse.dblclick(*middle)
    expect(lightbox).not_to_have_attribute("data-zoom", "1.000")
    assert scale(lightbox) >= 1.5
    zoomed = box(page)
    page.mouse.move(*middle)
    page.mouse.down()
    page.mouse.move(middle[0] + 120, middle[1] + 60, steps=5)
    page.mouse.up()
    panned = box(page)
    assert panned["x"] == pytest.approx(zoomed["x"] + 120, abs=2)
    assert panned["y"] == pytest.approx(zoomed["y"] + 60, abs=2)
    expect(lightbox).to_have_attribute("open", "")  # the drag's click closes nothing
    page.mouse.dblclick(*middle)
    expect(lightbox).to_have_attribute("data-zoom", "1.000")
    # Keys and buttons too; a step starts the next picture unzoomed.
    page.keyboard.press("+")
    expect(lightbox).not_to_have_attribute("data-zoom", "1.000")
    lightbox.locator("button.lightbox-zoom-out").click()
    expect(lightbox).to_have_attribute("data-zoom", "1.000")
    lightbox.locator("button.lightbox-zoom-in").click()
    expect(lightbox).not_to_have_attribute("data-zoom", "1.000")
    page.keyboard.press("ArrowRight")
    expect(lightbox).to_have_attribute("data-zoom", "1.000")


@pytest.fixture
def plain_link(runtime, large):
    """A share link (no downloads) to an album of one large photo."""
    [image] = large(1)
    made = runtime.albums.create(title="Dunes", actor=OWNER)
    runtime.albums.change_images(made.id, add=[image["id"]], actor=OWNER)
    return runtime.links.create(made.id, actor=OWNER), image


def test_without_originals_zoom_stops_at_the_large_thumbnail(page, plain_link):
    link, image = plain_link
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    lightbox = open_first(page, f"/s/{link.token}")
    page.mouse.move(640, 400)
    for _ in range(12):
        page.mouse.wheel(0, -300)
    expect(lightbox.locator("button.lightbox-zoom-in")).to_be_disabled()
    lg = image["variants"]["lg"]["w"]
    assert box(page)["width"] == pytest.approx(lg, rel=0.01)  # its pixels, one to one
    picture = lightbox.locator(".lightbox-stage img")
    assert picture.evaluate("i => i.currentSrc").endswith(f"/{image['id']}/lg")
    assert not [u for u in requested if re.search(rf"/media/{image['id']}$", u)]


def test_full_screen_toggles_with_the_button_and_f(page, large):
    large(1)
    lightbox = open_first(page)
    button = lightbox.locator("button.lightbox-fullscreen")
    expect(button).to_be_visible()
    page.keyboard.press("f")
    # A modal dialog may not be the full-screen element itself: the page is, under it.
    page.wait_for_function("() => document.fullscreenElement === document.documentElement")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(lightbox).to_be_visible()
    assert page.evaluate("() => screen.width") == pytest.approx(
        lightbox.bounding_box()["width"], abs=1)
    button.click()
    page.wait_for_function("() => document.fullscreenElement === null")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(lightbox).to_have_attribute("open", "")


def test_the_information_panel_hides_and_stays_hidden(page, large):
    large(1)
    lightbox = open_first(page)
    panel = lightbox.locator(".lightbox-info")
    toggle = lightbox.get_by_role("button", name="Information")
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    wide = box(page)["width"]
    toggle.click()
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert box(page)["width"] > wide  # the picture takes the room
    page.reload()  # the address is the image's page: reloading shows that page
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/")
    page.locator(TILES).first.click()
    expect(lightbox).to_have_attribute("open", "")
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("i")
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")


def test_a_phone_shows_the_picture_alone_until_asked(browser, base_url, seed):
    seed(1, small=True)
    ctx = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 800},
                              has_touch=True, is_mobile=True, reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        page = ctx.new_page()
        lightbox = open_first(page)
        expect(lightbox.locator(".lightbox-info")).to_be_hidden()
        lightbox.get_by_role("button", name="Information").click()
        panel = lightbox.locator(".lightbox-info")
        expect(panel).to_be_visible()
        assert panel.bounding_box()["height"] <= 800 * 0.31  # a short overlay, not a third
    finally:
        ctx.close()


def test_the_description_and_details_are_shown(page, runtime, seed):
    [image] = seed(1, small=True)
    runtime.images.update(image["id"], {"description": "Low tide.\nThe boats wait."}, actor=OWNER)
    pages.sign_in(page, *ADMIN)  # the uploader sees camera details and dates taken
    lightbox = open_first(page)
    expect(lightbox.locator(".lightbox-description")).to_have_text("Low tide.\nThe boats wait.")
    expect(lightbox.locator(".lightbox-taken-row")).to_be_hidden()  # no date taken: no row


@pytest.fixture
def touch_page(browser, base_url) -> Iterator[Any]:
    ctx = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 800},
                              has_touch=True, is_mobile=True, reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    yield tab
    ctx.close()
    assert not errors, errors


def swipe(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A finger on the touch screen, from ``start`` to ``end``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": start[0], "y": start[1]}]})
    for n in range(1, 9):
        x = start[0] + (end[0] - start[0]) * n / 8
        y = start[1] + (end[1] - start[1]) * n / 8
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_swipes_step_sideways_and_close_downwards(touch_page, seed):
    images = seed(3, small=True)
    lightbox = open_first(touch_page)
    title = lightbox.locator(".lightbox-title")
    swipe(touch_page, (300, 400), (80, 410))
    expect(title).to_have_text(images[1]["title"])
    swipe(touch_page, (80, 400), (300, 405))
    expect(title).to_have_text(images[0]["title"])
    swipe(touch_page, (200, 300), (205, 600))
    expect(lightbox).not_to_have_attribute("open", "")


def test_the_slideshow_advances_and_stops_at_the_end(page, seed):
    images = seed(3, small=True)
    lightbox = open_first(page)
    title = lightbox.locator(".lightbox-title")
    page.evaluate(QUICK, 0.3)
    play = lightbox.locator("button.lightbox-play")
    play.click()
    expect(play).to_have_attribute("aria-label", "Pause slideshow")
    expect(title).to_have_text(images[1]["title"], timeout=3000)
    expect(title).to_have_text(images[2]["title"], timeout=3000)
    expect(play).to_have_attribute("aria-label", "Play slideshow", timeout=3000)
    expect(lightbox.locator(".lightbox-announce")).to_have_text("The slideshow reached the last image.")
    expect(title).to_have_text(images[2]["title"])
    expect(page).to_have_url(re.compile(rf"/images/{images[2]['id']}$"))
    # Closing goes back to the grid, past the slideshow's images.
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/$"))


def test_the_space_bar_plays_and_pauses_and_the_choices_are_remembered(page, seed):
    images = seed(3, small=True)
    lightbox = open_first(page)
    play = lightbox.locator("button.lightbox-play")
    expect(lightbox.locator("button.lightbox-close")).to_be_focused()
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-label", "Pause slideshow")
    expect(lightbox).to_have_attribute("open", "")  # the focused Close button was not pressed
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-label", "Play slideshow")
    lightbox.locator(".lightbox-interval").select_option("10")
    lightbox.locator(".lightbox-loop").check()
    page.goto("/")
    assert page.locator(".lightbox-interval").input_value() == "10"
    expect(page.locator(".lightbox-loop")).to_be_checked()
    # Looping, the last image is followed by the first.
    page.locator(TILES).nth(2).click()
    page.evaluate(QUICK, 0.3)
    page.keyboard.press(" ")
    expect(page.locator(".lightbox-title")).to_have_text(images[0]["title"], timeout=3000)


def test_the_slideshow_holds_while_zoomed(page, large):
    images = large(2)
    lightbox = open_first(page)
    page.evaluate(QUICK, 0.3)
    lightbox.locator("button.lightbox-play").click()
    page.keyboard.press("+")
    expect(lightbox).not_to_have_attribute("data-zoom", "1.000")
    page.wait_for_timeout(900)  # three intervals: still the same picture while zoomed
    expect(lightbox.locator(".lightbox-title")).to_have_text(images[0]["title"])
    page.keyboard.press("0")
    expect(lightbox.locator(".lightbox-title")).to_have_text(images[1]["title"], timeout=3000)


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_the_slideshow_loads_the_next_page_at_the_last_tile(page, seed):
    images = seed(3, small=True)
    held: list[Any] = []  # the second page's answer waits until the slideshow reaches it
    page.route(re.compile(r"/\?page=2$"), lambda route: held.append(route))
    page.goto("/")
    expect(page.locator(TILES)).to_have_count(2)
    page.locator(TILES).nth(1).click()
    title = page.locator(".lightbox-title")
    page.evaluate(QUICK, 0.3)
    page.keyboard.press(" ")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(700)  # intervals pass: the slideshow waits for the page, not past it
    expect(title).to_have_text(images[1]["title"])
    expect(page.locator(".lightbox-play")).to_have_attribute("aria-label", "Pause slideshow")
    for route in held:
        route.continue_()
    expect(title).to_have_text(images[2]["title"], timeout=5000)
    expect(page.locator(TILES)).to_have_count(3)


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_the_slideshow_cross_fades_unless_motion_is_reduced(page, seed, motion):
    images = seed(2, small=True)
    page.emulate_media(reduced_motion=motion)
    lightbox = open_first(page)
    page.evaluate(QUICK, 0.3)
    page.keyboard.press(" ")
    title = lightbox.locator(".lightbox-title")
    expect(title).to_have_text(images[1]["title"], timeout=3000)
    shown = lightbox.locator(".lightbox-stage img:not(.lightbox-leaving)")
    animation = shown.evaluate("i => getComputedStyle(i).animationName")
    if motion == "reduce":
        assert animation == "none"
        expect(lightbox.locator(".lightbox-stage img")).to_have_count(1)
    else:
        assert animation == "lightbox-fade-in"
        expect(lightbox.locator(".lightbox-stage img")).to_have_count(1)  # the old one goes


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_details_lead_to_the_image_page_which_steps_and_leads_back(page, seed):
    images = seed(3, small=True)
    page.goto("/?page=2")
    page.locator(TILES).first.click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox.locator(".lightbox-title")).to_have_text(images[2]["title"])
    details = lightbox.locator("a.lightbox-page")
    expect(details).to_have_attribute("href", f"/images/{images[2]['id']}?from=%2F%3Fpage%3D2")
    details.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(images[2]["title"])
    steps = page.get_by_role("navigation", name="Images of the gallery")
    expect(steps.locator(".image-position")).to_have_text("3 of 3")
    page.wait_for_load_state("load")  # the page's scripts listen (the heading shows before)
    page.keyboard.press("ArrowLeft")  # ← follows the Previous link
    expect(page.get_by_role("heading", level=1)).to_have_text(images[1]["title"])
    steps.get_by_role("link", name="← Gallery").click()
    expect(page).to_have_url(re.compile(r"/\?page=2$"))
