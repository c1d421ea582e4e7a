"""An image's page over HTTP: its previous and next images (the gallery's order, or an
album's when reached from one), the way back to where the visitor came from (only ever a
path on this site), and what the grid's tiles hand the lightbox (zoom, description, details)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from gallery.catalog import Change
from gallery.images.results import Actor
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png
from tests.web.test_frontend import Markup, page, post_image, tiles

OWNER = Actor(ADMIN[0], is_admin=True)


@pytest.fixture
def five(uploader) -> list[str]:
    """Five images, newest first (the gallery's order)."""
    return [post_image(uploader, f"n{n}.png", distinct_png(n))["id"] for n in range(5)][::-1]


def steps(markup: Markup) -> dict[str, str | None]:
    """The navigation's links and position."""
    prev = markup.find_all("a", rel="prev")
    after = markup.find_all("a", rel="next")
    return {
        "back": markup.one("a", class_="image-back")["href"],
        "back_text": markup.one("a", class_="image-back").text.strip(),
        "position": markup.one("span", class_="image-position").text.strip(),
        "prev": prev[0]["href"] if prev else None,
        "next": after[0]["href"] if after else None,
    }


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_the_steps_follow_the_gallery_and_lead_back_to_its_page(anonymous, five):
    first = steps(page(anonymous, f"/images/{five[0]}"))
    assert first == {"back": "/", "back_text": "← Gallery", "position": "1 of 5",
                     "prev": None, "next": f"/images/{five[1]}"}
    middle = steps(page(anonymous, f"/images/{five[2]}"))
    assert (middle["prev"], middle["next"]) == (f"/images/{five[1]}", f"/images/{five[3]}")
    assert middle["position"] == "3 of 5"
    assert middle["back"] == "/?page=2"  # the grid page that shows it
    last = steps(page(anonymous, f"/images/{five[4]}"))
    assert (last["next"], last["position"], last["back"]) == (None, "5 of 5", "/?page=3")


def test_the_way_back_is_where_the_visitor_came_from_and_stays_while_stepping(anonymous, five):
    shown = steps(page(anonymous, f"/images/{five[1]}?from=/%3Fpage%3D7%26q%3Dsea"))
    assert shown["back"] == "/?page=7&q=sea"
    assert shown["back_text"] == "← Search results"
    assert shown["prev"] == f"/images/{five[0]}?from=/?page%3D7%26q%3Dsea"
    assert shown["next"] == f"/images/{five[2]}?from=/?page%3D7%26q%3Dsea"
    # Reached by a link of this site (no `from`): the page linking here is the way back.
    referred = anonymous.get(f"/images/{five[1]}",
                             headers={"Referer": anonymous.url("/tags/sea?page=2")})
    assert steps(Markup(referred.text))["back"] == "/tags/sea?page=2"
    assert steps(Markup(referred.text))["back_text"] == "← Tagged “sea”"


@pytest.mark.parametrize("elsewhere", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
    "/\r\nSet-Cookie: x=1", "/" + "a" * 2100,
])
def test_a_way_back_off_this_site_is_never_linked(anonymous, five, elsewhere):
    shown = steps(page(anonymous, f"/images/{five[1]}?{_query('from', elsewhere)}"))
    assert shown["back"] == "/"
    assert shown["next"] == f"/images/{five[2]}"  # nothing unsafe travels along either
    foreign = anonymous.get(f"/images/{five[1]}", headers={"Referer": "https://evil.example/x"})
    assert steps(Markup(foreign.text))["back"] == "/"


def _query(name: str, value: str) -> str:
    return urlencode({name: value})


def test_from_an_album_the_steps_follow_the_album(runtime, anonymous, five):
    chosen = [five[3], five[0], five[2]]  # not the gallery's order, and not all of it
    made = runtime.albums.create(title="Coast", visibility="public", actor=OWNER)
    album = runtime.albums.change_images(made.id, add=chosen, actor=OWNER)
    # Opened from the album's page (its tiles link to the plain image page).
    referred = anonymous.get(f"/images/{chosen[1]}",
                             headers={"Referer": anonymous.url(f"/albums/{album.id}")})
    shown = steps(Markup(referred.text))
    assert shown["back"] == f"/albums/{album.id}" and shown["back_text"] == "← Coast"
    assert shown["position"] == "2 of 3"
    carried = f"from=/albums/{album.id}"
    assert shown["prev"] == f"/images/{chosen[0]}?{carried}"
    assert shown["next"] == f"/images/{chosen[2]}?{carried}"
    # ?album= names it too; without a way back, "back" is the album's page holding it.
    named = steps(page(anonymous, f"/images/{chosen[2]}?album={album.id}"))
    assert named == {"back": f"/albums/{album.id}", "back_text": "← Coast", "position": "3 of 3",
                     "prev": f"/images/{chosen[1]}?album={album.id}", "next": None}


def test_an_album_the_visitor_may_not_see_gives_the_gallerys_steps(runtime, anonymous, five):
    made = runtime.albums.create(title="Secret", visibility="private", actor=OWNER)
    hidden = runtime.albums.change_images(made.id, add=[five[1], five[3]], actor=OWNER)
    for query in (f"album={hidden.id}", f"from=/albums/{hidden.id}", "album=nonsense"):
        response = anonymous.get(f"/images/{five[1]}?{query}")
        assert response.status_code == 200
        shown = steps(Markup(response.text))
        assert shown["position"] == "2 of 5" and "Secret" not in response.text
        assert shown["next"].startswith(f"/images/{five[2]}")
    # Nor does an album that does not hold the image change anything.
    other = runtime.albums.create(title="Other", visibility="public", actor=OWNER)
    other = runtime.albums.change_images(other.id, add=[five[4]], actor=OWNER)
    assert steps(page(anonymous, f"/images/{five[1]}?album={other.id}"))["position"] == "2 of 5"


# --- what tiles hand the lightbox --------------------------------------------------------------


def _set_details(runtime, image_id: str, taken_at: str, camera: dict) -> None:
    record = runtime.images.record(image_id)
    runtime.images.d.catalog.apply([Change(record.key, image_id, lambda r: r.with_changes(
        taken_at=taken_at, camera=camera))])


def test_tiles_carry_the_original_to_zoom_into_and_the_description(uploader, anonymous):
    image = post_image(uploader, "meadow.png", distinct_png(1, (2400, 1200)))
    uploader.api("PATCH", f"/api/v1/images/{image['id']}", json={"description": "Line one\nline two"})
    [(link, _)] = tiles(page(anonymous, "/"))
    assert link["data-full"] == f"/media/{image['id']}"
    assert (link["data-full-width"], link["data-full-height"]) == ("2400", "1200")
    assert link["data-description"] == "Line one\nline two"


def test_tiles_carry_camera_details_only_for_those_who_may_see_them(runtime, uploader, anonymous):
    image = post_image(uploader, "beach.png", distinct_png(2))
    _set_details(runtime, image["id"], "2019-08-01T20:15:00+02:00",
                 {"make": "Canon", "model": "EOS R5", "f_number": 2.8})
    [(stranger, _)] = tiles(page(anonymous, "/"))
    assert (stranger["data-taken"], stranger["data-camera"]) == ("", "")
    [(owner, _)] = tiles(page(uploader, "/"))
    assert owner["data-taken"] == "2019-08-01T20:15:00+02:00"
    assert owner["data-taken-text"] == "2019-08-01 20:15 +02:00"
    assert owner["data-camera"] == "Canon EOS R5 · f/2.8"


@pytest.mark.parametrize(("options", "full", "camera"), [
    ({}, False, False),
    ({"allow_download": True}, True, False),
    ({"show_details": True}, False, True),
])
def test_a_share_links_tiles_zoom_into_originals_only_with_downloads(runtime, uploader, anonymous,
                                                                    options, full, camera):
    image = post_image(uploader, "lake.png", distinct_png(3, (2000, 1000)))
    _set_details(runtime, image["id"], "2020-05-05T10:00:00", {"make": "Nikon", "model": "Z6"})
    made = runtime.albums.create(title="Lake", actor=OWNER)
    runtime.albums.change_images(made.id, add=[image["id"]], actor=OWNER)
    link = runtime.links.create(made.id, actor=OWNER, **options)
    markup = page(anonymous, f"/s/{link.token}")
    [(tile, _)] = tiles(markup)
    assert tile["data-full"] == (f"/s/{link.token}/media/{image['id']}" if full else "")
    assert tile["data-camera"] == ("Nikon Z6" if camera else "")
    assert tile["data-taken"] == ("2020-05-05T10:00:00" if camera else "")
    assert markup.one("dialog", id="lightbox").get("data-carry-from") is None
