"""The grid's layout in Chromium: justified rows that keep every photo's shape and fill the
width, square tiles as the visitor's remembered choice, no jump while thumbnails load,
three photos or more a row on a phone with thumbnails sized for the tile, and month
headings that stay right as more pages load."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gallery.catalog import Change
from gallery.images.results import Actor
from tests.browser import pages
from tests.browser.conftest import ADMIN, TIMEOUT_MS
from tests.browser.pages import expect

TILES = "ul.grid > li > a.tile[data-id]"

#: Photo shapes of a camera roll: 3:2 and 4:3 landscapes, portraits, a square, 16:9.
SHAPES = [(720, 480), (480, 720), (640, 480), (720, 405), (500, 500), (720, 480), (480, 640),
          (720, 480), (405, 720), (720, 540), (720, 480), (480, 720)]
PANORAMA = (1600, 400)  # 4:1, as an 8000 x 2000 stitched panorama

#: Each tile's box, its image's box, the shape its photo has, and whether it has loaded.
_BOXES = """() => Array.from(document.querySelectorAll('#grid > li:has(> a.tile)'), li => {
  const box = li.getBoundingClientRect();
  const img = li.querySelector('img');
  const pic = img.getBoundingClientRect();
  return {x: box.left, y: box.top, w: box.width, h: box.height, iw: pic.width, ih: pic.height,
          ratio: img.getAttribute('width') / img.getAttribute('height'),
          natural: img.naturalWidth ? img.naturalWidth / img.naturalHeight : null,
          src: img.currentSrc, sizes: img.getAttribute('sizes'), id: li.querySelector('a').dataset.id};
})"""

_GRID_WIDTH = "() => document.getElementById('grid').getBoundingClientRect().width"


def upload_shapes(runtime, shapes: list[tuple[int, int]], start: int = 0) -> list[dict]:
    """Photos of the given sizes, uploaded in order (the grid shows the last first)."""
    made = []
    for n, size in enumerate(shapes, start):
        data, name = pages.photo(n, size)
        made.append(runtime.images.upload(data, name, uploaded_by=ADMIN[0]).image)
    return made[::-1]


def set_taken(runtime, image_id: str, taken_at: str | None) -> None:
    record = runtime.images.record(image_id)
    runtime.images.d.catalog.apply([Change(record.key, image_id,
                                           lambda r: r.with_changes(taken_at=taken_at))])


def rows_of(boxes: list[dict]) -> list[list[dict]]:
    """Tiles grouped by the row they are on (their top), in reading order."""
    rows: list[list[dict]] = []
    for box in sorted(boxes, key=lambda b: (round(b["y"]), b["x"])):
        if rows and abs(rows[-1][0]["y"] - box["y"]) < 1:
            rows[-1].append(box)
        else:
            rows.append([box])
    return rows


def gap_of(page: Any) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.getElementById('grid')).columnGap)")


def assert_shapes_kept(boxes: list[dict]) -> None:
    for box in boxes:
        assert box["w"] > 0 and box["h"] > 0
        shown = box["w"] / box["h"]
        assert abs(shown - box["ratio"]) / box["ratio"] < 0.02, box
        # The image fills its tile: nothing of the photo is cropped away.
        assert (round(box["iw"]), round(box["ih"])) == (round(box["w"]), round(box["h"])), box


def assert_rows_fill(rows: list[list[dict]], width: float, gap: float) -> None:
    """Every row but the last spans the grid's width; no row is wider; a row's tiles
    share one height."""
    for n, row in enumerate(rows):
        span = row[-1]["x"] + row[-1]["w"] - row[0]["x"]
        assert span <= width + 0.5, f"row {n} is wider than the grid: {span} > {width}"
        if n < len(rows) - 1:
            assert span >= width - 1, f"row {n} does not reach the right edge: {span} < {width}"
        assert max(b["h"] for b in row) - min(b["h"] for b in row) < 0.5, row
        for left, right in zip(row, row[1:], strict=False):
            assert abs(right["x"] - (left["x"] + left["w"]) - gap) < 0.5, (left, right)


@pytest.fixture
def camera_roll(runtime, users):
    return upload_shapes(runtime, [*SHAPES[:6], PANORAMA, *SHAPES[6:]])


def laid_out(page: Any) -> None:
    expect(page.locator("ul#grid.laid-out")).to_be_attached()


def test_justified_rows_keep_every_shape_and_fill_the_width(page, camera_roll):
    page.goto("/")
    laid_out(page)
    boxes = page.evaluate(_BOXES)
    assert len(boxes) == len(camera_roll)
    assert_shapes_kept(boxes)
    width = page.evaluate(_GRID_WIDTH)
    rows = rows_of(boxes)
    assert len(rows) >= 2
    assert_rows_fill(rows, width, gap_of(page))
    # Rows aim at 250 px on a wide screen; the last is not stretched beyond it.
    for row in rows[:-1]:
        assert 150 <= row[0]["h"] <= 380, row
    assert rows[-1][0]["h"] <= 250.5
    # The panorama stays panoramic; portraits stay portraits.
    panorama = next(b for b in boxes if b["ratio"] > 3)
    assert panorama["w"] <= width + 0.5 and panorama["w"] / panorama["h"] > 3.9
    assert all(b["h"] > b["w"] for b in boxes if b["ratio"] < 1)

    # A narrower window: laid out again, still exact.
    page.set_viewport_size({"width": 900, "height": 800})
    page.wait_for_function(f"() => {_GRID_WIDTH}() < 900")
    page.wait_for_function("""() => { const li = document.querySelector('#grid > li');
        return li.getBoundingClientRect().right <= document.getElementById('grid').getBoundingClientRect().right + 0.5; }""")
    page.wait_for_timeout(50)  # the frame the new layout is drawn in
    boxes = page.evaluate(_BOXES)
    assert_shapes_kept(boxes)
    assert_rows_fill(rows_of(boxes), page.evaluate(_GRID_WIDTH), gap_of(page))


def test_a_panorama_wider_than_a_phone_is_a_row_of_its_own(browser, base_url, runtime, users):
    upload_shapes(runtime, [(720, 480), (2400, 200), (720, 480)])  # 12:1
    ctx = browser.new_context(base_url=base_url, viewport={"width": 360, "height": 740},
                              device_scale_factor=2, is_mobile=True, has_touch=True,
                              reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        tab = ctx.new_page()
        tab.goto("/")
        laid_out(tab)
        boxes = tab.evaluate(_BOXES)
        assert_shapes_kept(boxes)
        width = tab.evaluate(_GRID_WIDTH)
        [panorama] = [b for b in boxes if b["ratio"] > 10]
        assert abs(panorama["w"] - width) < 1  # the whole row, no wider
        assert [len(r) for r in rows_of(boxes)] == [1, 1, 1]
        assert tab.evaluate("document.scrollingElement.scrollWidth") <= 360
    finally:
        ctx.close()


def test_square_tiles_are_square_and_the_choice_is_remembered(page, camera_roll):
    page.goto("/")
    laid_out(page)
    rows = page.get_by_role("group", name="Layout")
    expect(rows.get_by_role("button", name="Rows")).to_have_attribute("aria-pressed", "true")
    rows.get_by_role("button", name="Squares").click()
    expect(page.locator("ul#grid.squares")).to_be_attached()
    expect(rows.get_by_role("button", name="Squares")).to_have_attribute("aria-pressed", "true")

    def assert_squares() -> None:
        boxes = page.evaluate(_BOXES)
        assert len(boxes) == len(camera_roll)
        for box in boxes:
            assert abs(box["w"] - box["h"]) < 0.5, box
        assert len({round(b["w"]) for b in boxes}) == 1  # one column width
        # The thumbnail asked for covers the square: a landscape needs its full width.
        for box in boxes:
            assert box["sizes"] == f"{int(-(-box['w'] * max(1, box['ratio']) // 1))}px", box

    assert_squares()
    page.reload()
    expect(page.locator("ul#grid.squares")).to_be_attached()
    assert_squares()
    page.get_by_role("button", name="Rows").click()
    laid_out(page)
    expect(page.locator("ul#grid.squares")).to_have_count(0)
    assert_shapes_kept(page.evaluate(_BOXES))
    page.reload()
    laid_out(page)
    expect(page.locator("ul#grid.squares")).to_have_count(0)


def wait_until(tab: Any, script: str) -> None:
    """Wait for ``script`` to be true, asking from outside the page (as Playwright's own
    waiting does not when the page's scripts are off)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not tab.evaluate(script):
        assert time.monotonic() < deadline, f"still false: {script}"
        tab.wait_for_timeout(50)


class Held:
    """Requests of a tab (thumbnails by default), held until :meth:`release` lets them
    (and any later ones) through."""

    def __init__(self, page: Any, pattern: Any = "**/media/**") -> None:
        self.routes: list[Any] = []
        self.released = False
        page.route(pattern, self._arrive)

    def _arrive(self, route: Any) -> None:
        if self.released:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.routes:
            route.continue_()


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_nothing_moves_while_thumbnails_load(browser, base_url, camera_roll, javascript):
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 2000},
                              java_script_enabled=javascript, reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        tab = ctx.new_page()
        held = Held(tab)
        tab.goto("/", wait_until="domcontentloaded")
        if javascript:
            laid_out(tab)
        wait_until(tab, "() => document.querySelectorAll('#grid img').length > 0")
        # Without scripts, DOMContentLoaded does not wait for stylesheets; the page is not
        # drawn before them, so neither is it measured.
        wait_until(tab, "() => Array.from(document.querySelectorAll('link[rel=stylesheet]'))"
                        ".every(link => link.sheet)")
        before = tab.evaluate(_BOXES)
        assert all(b["natural"] is None for b in before)  # nothing has loaded yet
        assert_shapes_kept(before)
        tab.wait_for_timeout(100)
        held.release()
        wait_until(tab, "() => Array.from(document.querySelectorAll('#grid img'))"
                        ".every(i => i.complete && i.naturalWidth > 0)")
        after = tab.evaluate(_BOXES)
        assert [(b["x"], b["y"], b["w"], b["h"]) for b in after] == \
            [(b["x"], b["y"], b["w"], b["h"]) for b in before]
        # What loaded has the shape its tile was given.
        for box in after:
            assert abs(box["natural"] - box["w"] / box["h"]) / box["natural"] < 0.02, box
        if not javascript:
            # Rows from CSS alone: every photo uncropped, no row wider than the grid.
            width = tab.evaluate(_GRID_WIDTH)
            for row in rows_of(after):
                assert row[-1]["x"] + row[-1]["w"] - row[0]["x"] <= width + 0.5
    finally:
        ctx.close()


@pytest.fixture
def phone(browser, base_url) -> Iterator[Any]:
    """A phone: 360 x 740 css px at three device pixels each, touch."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 360, "height": 740},
                              device_scale_factor=3, is_mobile=True, has_touch=True,
                              reduced_motion="reduce")
    ctx.set_default_timeout(TIMEOUT_MS)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    yield tab
    ctx.close()
    assert not errors, errors


def test_a_phone_shows_three_photos_or_more_a_row_from_small_thumbnails(phone, runtime, users):
    typical = [(720, 480)] * 7 + [(480, 720)] * 3 + [(640, 480)] * 2
    images = upload_shapes(runtime, typical)
    phone.goto("/")
    laid_out(phone)
    boxes = phone.evaluate(_BOXES)
    assert len(boxes) == len(images)
    assert_shapes_kept(boxes)
    rows = rows_of(boxes)
    assert_rows_fill(rows, phone.evaluate(_GRID_WIDTH), gap_of(phone))
    for row in rows[:-1]:
        assert len(row) >= 3, [len(r) for r in rows]
    # The thumbnails in view are the small ones (400 px), at three device pixels a css px.
    phone.wait_for_function("() => Array.from(document.querySelectorAll('#grid img'))"
                            ".filter(i => i.getBoundingClientRect().top < innerHeight)"
                            ".every(i => i.complete && i.currentSrc)")
    shown = [b for b in phone.evaluate(_BOXES) if b["y"] < 740]
    assert shown
    for box in shown:
        assert box["src"].endswith("/sm"), box
        assert box["sizes"] == f"{-(-box['w'] // 1):.0f}px", box
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 360  # not zoomed out


MONTHS = [  # as the grid sorted by date taken shows them: photos without a date sort by
    # their upload (today), the others by the date taken, newest first
    None, None, "2024-03-20T10:00:00", "2024-03-12T09:00:00", "2024-03-02T08:00:00",
    "2024-03-01T07:00:00", "2024-02-27T10:00:00", "2024-02-03T10:00:00", "2023-12-25T10:00:00",
]


@pytest.mark.parametrize("settings", [{"page_size": 3}])
def test_months_continue_across_pages_as_they_load(page, runtime, users):
    shapes = [SHAPES[n % len(SHAPES)] for n in range(len(MONTHS))]
    images = upload_shapes(runtime, shapes)  # newest upload first
    for image, taken in zip(images, MONTHS, strict=True):
        set_taken(runtime, image["id"], taken)
    pages.sign_in(page, *ADMIN)  # an admin sees dates
    # Page 2 goes on with March: on its own it says so.
    second = page.request.get("/?sort=taken&page=2").text()
    assert second.count('class="grid-month"') == 1 and '<h2>March 2024</h2>' in second
    page.goto("/?sort=taken")
    laid_out(page)
    headings = page.locator("#grid > li.grid-month h2")
    page.locator("#grid-status").scroll_into_view_if_needed()
    expect(page.get_by_text("That is every image.")).to_be_visible()
    expect(page.locator(TILES)).to_have_count(len(MONTHS))
    # March went on over two pages under one heading; each month has one.
    expect(headings).to_have_text(["Date unknown", "March 2024", "February 2024", "December 2023"])
    expect(page.locator("#grid > li.grid-month").nth(1)).to_have_attribute("data-month", "2024-03")
    expect(page.get_by_role("heading", level=2, name="March 2024")).to_have_count(1)
    # Each month is laid out on rows of its own, below its heading.
    items = page.evaluate("""() => Array.from(document.querySelectorAll('#grid > li'))
        .filter(li => getComputedStyle(li).display !== 'none')
        .map(li => ({month: li.classList.contains('grid-month'), top: li.getBoundingClientRect().top,
                     bottom: li.getBoundingClientRect().bottom}))""")
    for n, item in enumerate(items):
        if item["month"]:
            assert all(other["bottom"] <= item["top"] + 0.5 for other in items[:n])
            assert all(other["top"] >= item["bottom"] - 0.5 for other in items[n + 1:])
    boxes = page.evaluate(_BOXES)
    assert_shapes_kept(boxes)
    assert [b["id"] for b in boxes] == [i["id"] for i in images]


@pytest.mark.parametrize("settings", [{"page_size": 8}])
def test_more_pages_leave_the_rows_above_where_they_were(page, runtime, users):
    upload_shapes(runtime, [SHAPES[n % len(SHAPES)] for n in range(20)])
    page.set_viewport_size({"width": 700, "height": 500})
    more = Held(page, re.compile(r"/\?page=\d+$"))  # the next pages wait to be measured against
    page.goto("/")
    laid_out(page)
    first = page.evaluate(_BOXES)
    assert len(first) == 8
    settled = [b for b in first if b["y"] < first[-1]["y"] - 1]  # every row but the last
    assert settled
    more.release()
    page.locator("#grid-status").scroll_into_view_if_needed()
    expect(page.locator(TILES)).to_have_count(20)
    page.wait_for_timeout(50)
    page.evaluate("window.scrollTo(0, 0)")
    now = {b["id"]: b for b in page.evaluate(_BOXES)}
    for box in settled:
        moved = now[box["id"]]
        assert (moved["x"], moved["y"], moved["w"], moved["h"]) == \
            (box["x"], box["y"], box["w"], box["h"])
    assert_rows_fill(rows_of(list(now.values())), page.evaluate(_GRID_WIDTH), gap_of(page))


def test_album_and_share_pages_are_justified_too(page, runtime, camera_roll):
    owner = Actor(ADMIN[0], is_admin=True)
    album = runtime.albums.create(title="Roll", description="", visibility="public", actor=owner)
    runtime.albums.change_images(album.id, add=[i["id"] for i in camera_roll], actor=owner)
    link = runtime.links.create(album.id, actor=owner)
    for path in (f"/albums/{album.id}", f"/s/{link.token}"):
        page.goto(path)
        laid_out(page)
        boxes = page.evaluate(_BOXES)
        assert len(boxes) == len(camera_roll)
        assert_shapes_kept(boxes)
        assert_rows_fill(rows_of(boxes), page.evaluate(_GRID_WIDTH), gap_of(page))


def test_a_month_emptied_in_an_album_loses_its_heading(page, runtime, users):
    images = upload_shapes(runtime, SHAPES[:5])
    for image, taken in zip(images, ["2024-03-20T10:00:00", "2024-03-02T10:00:00",
                                     "2024-02-14T10:00:00", "2024-02-03T10:00:00",
                                     "2023-12-25T10:00:00"], strict=True):
        set_taken(runtime, image["id"], taken)
    owner = Actor(ADMIN[0], is_admin=True)
    album = runtime.albums.create(title="Winter", visibility="public", sort="taken_desc",
                                  actor=owner)
    runtime.albums.change_images(album.id, add=[i["id"] for i in images], actor=owner)
    pages.sign_in(page, *ADMIN)
    page.goto(f"/albums/{album.id}?select=1")
    laid_out(page)
    headings = page.locator("#grid > li.grid-month h2")
    expect(headings).to_have_text(["March 2024", "February 2024", "December 2023"])
    for image in images[2:4]:
        page.get_by_label(f"Select {image['title']}").check()
    page.get_by_role("button", name="Remove from album").click()
    expect(page.locator(TILES)).to_have_count(3)
    expect(headings).to_have_text(["March 2024", "December 2023"])
    expect(page.locator("#grid > li.grid-end")).to_have_count(2)
    page.wait_for_timeout(50)
    boxes = page.evaluate(_BOXES)
    assert_shapes_kept(boxes)
