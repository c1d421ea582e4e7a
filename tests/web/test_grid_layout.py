"""The grid's layout markup: each tile's shape and thumbnail size, the layout switch, and the
month headings of grids sorted by date taken (gallery, search, albums, share links)."""

from __future__ import annotations

import re

import pytest

from gallery.catalog import Change
from gallery.images.results import Actor
from tests.imaging import fixtures as img
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png

OWNER = Actor(ADMIN[0], is_admin=True)

#: A month heading, the end of a run, or a tile (its image id), in the page's order.
_ITEMS = re.compile(r'<li class="grid-month" data-month="([^"]+)" data-page="\d+"><h2>([^<]+)</h2></li>'
                    r'|(<li class="grid-end" aria-hidden="true"></li>)'
                    r'|<a class="tile" href="(?:/s/[^/]+)?/images/([0-9a-f]{32})"')


def items(page: str) -> list[str]:
    """The grid as a list: ``"# 2024-03 March 2024"`` for a heading, ``"end"``, or an id."""
    out = []
    for month, heading, end, image_id in _ITEMS.findall(page):
        out.append(f"# {month} {heading}" if month else "end" if end else image_id)
    return out


def upload(runtime, n: int, size: tuple[int, int] = (64, 48)) -> str:
    result = runtime.images.upload(distinct_png(n, size), f"photo {n}.png", uploaded_by=ADMIN[0])
    return result.image["id"]


def set_taken(runtime, image_id: str, taken_at: str | None) -> None:
    record = runtime.images.record(image_id)
    runtime.images.d.catalog.apply([Change(record.key, image_id,
                                           lambda r: r.with_changes(taken_at=taken_at))])


@pytest.fixture
def roll(runtime, users):
    """Five photos: two of March 2024 (one with an offset), one of February 2024, one of
    December 2023, and one without a date (uploaded now: it sorts first)."""
    taken = {"mar_late": "2024-03-30T18:00:00", "mar_early": "2024-03-01T08:30:00+01:00",
             "feb": "2024-02-14T12:00:00", "dec": "2023-12-31T23:59:59", "none": None}
    ids = {}
    for n, (name, when) in enumerate(taken.items()):
        ids[name] = upload(runtime, n)
        set_taken(runtime, ids[name], when)
    return ids


BY_MONTH = ["# unknown Date unknown", "none", "end",
            "# 2024-03 March 2024", "mar_late", "mar_early", "end",
            "# 2024-02 February 2024", "feb", "end",
            "# 2023-12 December 2023", "dec", "end"]


def named(ids: dict[str, str], expected: list[str]) -> list[str]:
    return [ids.get(item, item) for item in expected]


def test_the_gallery_by_date_taken_has_a_heading_a_month(admin, roll):
    assert items(admin.get("/?sort=taken").text) == named(roll, BY_MONTH)
    # A search sorted by date taken too; a tag page as well.
    assert items(admin.get("/?q=photo&sort=taken").text) == named(roll, BY_MONTH)
    assert items(admin.get("/tags/none?sort=taken").text) == []  # nothing tagged: no headings


def test_other_orders_have_no_headings(admin, roll):
    page = admin.get("/").text
    assert "grid-month" not in page and "grid-end" not in page
    assert sorted(items(page)) == sorted(roll.values())


@pytest.mark.parametrize("settings", [{"show_details": False}])
def test_months_are_shown_only_to_those_who_may_see_dates(anonymous, uploader, admin, roll):
    for client in (anonymous, uploader):
        page = client.get("/?sort=taken").text
        assert "grid-month" not in page
        assert items(page) == named(roll, ["none", "mar_late", "mar_early", "feb", "dec"])
    assert items(admin.get("/?sort=taken").text) == named(roll, BY_MONTH)


@pytest.mark.parametrize("settings", [{"show_details": True}])
def test_with_details_shown_visitors_see_the_months(anonymous, roll):
    assert items(anonymous.get("/?sort=taken").text) == named(roll, BY_MONTH)


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_each_page_names_the_month_it_starts_in(admin, roll):
    # Page 2 goes on with March: it says so itself (the page's script drops the repeat).
    assert items(admin.get("/?sort=taken&page=2").text) == named(roll, [
        "# 2024-03 March 2024", "mar_early", "end", "# 2024-02 February 2024", "feb", "end"])


def test_albums_sorted_by_date_taken_have_month_headings(admin, runtime, roll):
    album = runtime.albums.create(title="Year", visibility="public", actor=OWNER)
    runtime.albums.change_images(album.id, add=list(roll.values()), actor=OWNER)
    assert "grid-month" not in admin.get(f"/albums/{album.id}").text  # in its own order
    runtime.albums.update(album.id, {"sort": "taken_desc"}, actor=OWNER)
    assert items(admin.get(f"/albums/{album.id}").text) == named(roll, BY_MONTH)
    runtime.albums.update(album.id, {"sort": "taken_asc"}, actor=OWNER)
    assert items(admin.get(f"/albums/{album.id}").text) == named(roll, [
        "# 2023-12 December 2023", "dec", "end", "# 2024-02 February 2024", "feb", "end",
        "# 2024-03 March 2024", "mar_early", "mar_late", "end",
        "# unknown Date unknown", "none", "end"])


@pytest.mark.parametrize("details", [True, False])
def test_a_share_link_shows_months_only_with_its_details(anonymous, runtime, roll, details):
    album = runtime.albums.create(title="Year", visibility="private", actor=OWNER)
    runtime.albums.change_images(album.id, add=list(roll.values()), actor=OWNER)
    runtime.albums.update(album.id, {"sort": "taken_desc"}, actor=OWNER)
    link = runtime.links.create(album.id, actor=OWNER, show_details=details)
    page = anonymous.get(f"/s/{link.token}").text
    if details:
        assert items(page) == named(roll, BY_MONTH)
    else:
        assert "grid-month" not in page
        assert items(page) == named(roll, ["none", "mar_late", "mar_early", "feb", "dec"])
    # Its tiles are the gallery's tile, with every URL under the link.
    assert page.count(f'href="/s/{link.token}/images/') == len(roll)
    assert f'/s/{link.token}/media/{roll["feb"]}/sm' in page


def test_tiles_carry_their_shape_and_the_width_they_are_drawn_at(admin, runtime, users):
    portrait = runtime.images.upload(img.jpeg(width=1200, height=1800), "tall.jpg",
                                     uploaded_by=ADMIN[0]).image
    panorama = runtime.images.upload(img.jpeg(width=4000, height=1000), "wide.jpg",
                                     uploaded_by=ADMIN[0]).image
    page = admin.get("/").text
    tall = re.search(rf'<li data-page="1" style="--ar: ([0-9.]+)">\s*<a class="tile" href="/images/{portrait["id"]}"', page)
    wide = re.search(rf'<li data-page="1" style="--ar: ([0-9.]+)">\s*<a class="tile" href="/images/{panorama["id"]}"', page)
    assert tall and wide
    assert tall.group(1) == "0.6675"  # 267 x 400, the thumbnail's shape
    assert wide.group(1) == "4.0000"
    # sizes: the tile's width (ratio x about a fifth of the screen), not the screen's.
    assert 'sizes="(max-width: 1300px) 15vw, 187px"' in page
    assert 'sizes="(max-width: 1300px) 84vw, 1120px"' in page
    # The layout switch is there for the page's script, hidden until it runs; justified
    # rows are the default.
    assert re.search(r'<div class="layout-switch" role="group" aria-label="Layout" hidden>', page)
    assert re.search(r'<ul class="grid" id="grid" data-layout-default="justified"', page)
