"""Tags, search and the order by date taken, through the API and the pages."""

from __future__ import annotations

import html
import re

import pytest

from gallery.catalog import Change
from tests.web.images import distinct_png


def post_image(client, name: str, n: int, title: str = "") -> str:
    response = client.api("POST", "/api/v1/images", files={"file": (name, distinct_png(n))})
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    if title:
        assert patch(client, image_id, {"title": title}).status_code == 200
    return image_id


def patch(client, image_id: str, body: dict):
    return client.api("PATCH", f"/api/v1/images/{image_id}", json=body)


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["message"]


def listed(client, query: str) -> list[str]:
    response = client.get(f"/api/v1/images?{query}")
    assert response.status_code == 200, response.text
    return [image["id"] for image in response.json()["images"]]


def ids_in(page: str) -> list[str]:
    return re.findall(r'class="tile" href="/images/([0-9a-f]{32})"', page)


def set_taken(runtime, image_id: str, taken_at: str, camera: dict | None = None) -> None:
    record = runtime.images.record(image_id)
    runtime.images.d.catalog.apply([Change(record.key, image_id, lambda r: r.with_changes(
        taken_at=taken_at, camera=camera or {}))])


@pytest.fixture
def three(uploader, runtime):
    """Three images: a beach (taken 2019, Canon), a city (taken 2024), a cat (no date)."""
    beach = post_image(uploader, "IMG_1.png", 1, "Sunset beach")
    city = post_image(uploader, "IMG_2.png", 2, "City at night")
    cat = post_image(uploader, "whiskers.png", 3)
    assert patch(uploader, beach, {"tags": ["Holiday", "sea"]}).status_code == 200
    assert patch(uploader, cat, {"tags": ["holiday", "Pets"]}).status_code == 200
    set_taken(runtime, beach, "2019-08-01T20:15:00+02:00", {"make": "Canon", "model": "EOS R5"})
    set_taken(runtime, city, "2024-01-05T22:00:00")
    return {"beach": beach, "city": city, "cat": cat}


def test_patch_sets_tags_and_the_image_json_shows_them(uploader, anonymous):
    image_id = post_image(uploader, "a.png", 1)
    assert anonymous.get(f"/api/v1/images/{image_id}").json()["tags"] == []
    response = patch(uploader, image_id, {"tags": ["  Beach ", "new   york", "BEACH"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["Beach", "new york"]
    assert anonymous.get(f"/api/v1/images/{image_id}").json()["tags"] == ["Beach", "new york"]


@pytest.mark.parametrize(("tags", "message"), [
    (["x" * 1024], "at most 50 characters"),
    ([f"t{n}" for n in range(1000)], "at most 30 tags"),
    (["tab\there"], "control characters"),
    ("beach", "list of strings"),
    ([None], "must be a string"),
])
def test_bad_tags_are_400_and_change_nothing(uploader, tags, message):
    image_id = post_image(uploader, "a.png", 1)
    before = patch(uploader, image_id, {"tags": ["kept"]}).json()
    assert message in error_of(patch(uploader, image_id, {"tags": tags, "title": "lost"}), 400)
    image = uploader.get(f"/api/v1/images/{image_id}").json()
    assert image["tags"] == ["kept"] and image["title"] == before["title"] != "lost"


def test_others_may_not_tag(uploader, admin):
    image_id = post_image(admin, "a.png", 1)
    assert patch(uploader, image_id, {"tags": ["mine"]}).status_code == 403
    assert admin.get(f"/api/v1/images/{image_id}").json()["tags"] == []


def test_the_api_searches_words_tags_and_camera(anonymous, uploader, three):
    assert listed(anonymous, "q=sunset") == [three["beach"]]
    assert listed(anonymous, "q=WHISKERS") == [three["cat"]]
    assert listed(uploader, "q=canon+r5") == [three["beach"]]
    assert listed(anonymous, "q=pets") == [three["cat"]]
    assert listed(anonymous, "q=img") == [three["city"], three["beach"]]
    assert listed(anonymous, "q=sunset+city") == []
    assert listed(anonymous, "tag=HOLIDAY") == [three["cat"], three["beach"]]
    assert listed(anonymous, "tag=holiday&q=sea") == [three["beach"]]
    assert listed(anonymous, "sort=taken") == [three["cat"], three["city"], three["beach"]]
    assert listed(anonymous, "") == [three["cat"], three["city"], three["beach"]]


def test_api_cursors_walk_a_search_and_belong_to_it(anonymous, three):
    first = anonymous.get("/api/v1/images?sort=taken&limit=2").json()
    assert [i["id"] for i in first["images"]] == [three["cat"], three["city"]]
    cursor = first["next_cursor"]
    second = anonymous.get(f"/api/v1/images?sort=taken&limit=2&cursor={cursor}").json()
    assert [i["id"] for i in second["images"]] == [three["beach"]]
    assert second["next_cursor"] is None
    assert "another search" in error_of(
        anonymous.get(f"/api/v1/images?sort=taken&tag=sea&cursor={cursor}"), 400)
    assert "not valid" in error_of(anonymous.get(f"/api/v1/images?cursor={cursor}"), 400)
    plain = anonymous.get("/api/v1/images?limit=1").json()["next_cursor"]
    assert "not valid" in error_of(
        anonymous.get(f"/api/v1/images?sort=taken&cursor={plain}"), 400)


@pytest.mark.parametrize(("query", "message"), [
    ("sort=newest", "sort must be one of"),
    ("q=" + "x" * 201, "too long"),
    ("tag=" + "t" * 60, "at most 50"),
    ("tag=a%01b", "control"),
])
def test_bad_searches_are_400(anonymous, query, message):
    assert message in error_of(anonymous.get(f"/api/v1/images?{query}"), 400)


@pytest.mark.parametrize("settings", [{"page_size": 1}])
def test_the_grid_searches_pages_and_keeps_the_query(anonymous, three):
    page = anonymous.get("/?tag=holiday")
    assert page.status_code == 200
    assert ids_in(page.text) == [three["cat"]]
    assert "2 images found." in page.text
    assert 'href="/?page=2&amp;tag=holiday"' in page.text or \
        'href="/?tag=holiday&amp;page=2"' in page.text
    older = anonymous.get("/?tag=holiday&page=2")
    assert ids_in(older.text) == [three["beach"]]
    assert 'value="holiday"' in older.text
    taken = anonymous.get("/?sort=taken&page=3")
    assert ids_in(taken.text) == [three["beach"]]
    assert '<option value="taken" selected>' in taken.text
    empty = anonymous.get("/?q=nothing+like+this")
    assert empty.status_code == 200 and ids_in(empty.text) == []
    assert "No images match “nothing like this”." in html.unescape(empty.text)
    assert anonymous.get("/?sort=oops").status_code == 400


def test_a_page_per_tag(anonymous, three):
    page = anonymous.get("/tags/Holiday")
    assert page.status_code == 200
    assert "Tagged “Holiday”" in html.unescape(page.text)
    assert set(ids_in(page.text)) == {three["cat"], three["beach"]}
    image = anonymous.get(f"/images/{three['beach']}")
    assert 'href="/tags/Holiday" rel="tag"' in image.text
    assert "add-tag" not in image.text  # visitors see tags, not the form


def test_the_owner_adds_and_removes_tags_on_the_image_page(uploader, three):
    image_id = three["city"]
    page = uploader.get(f"/images/{image_id}")
    assert 'id="add-tag"' in page.text
    assert '<option value="Holiday">' in page.text  # suggested: already used elsewhere
    response = uploader.post_form(f"/images/{image_id}/tags", {"action": "add", "tag": " Night  sky "},
                                  form_page=f"/images/{image_id}")
    assert response.status_code == 302
    page = uploader.get(f"/images/{image_id}")
    assert "Tagged “Night sky”." in html.unescape(page.text)
    assert uploader.get(f"/api/v1/images/{image_id}").json()["tags"] == ["Night sky"]
    response = uploader.post_form(f"/images/{image_id}/tags", {"action": "remove", "tag": "night SKY"},
                                  form_page=f"/images/{image_id}")
    assert response.status_code == 302
    assert uploader.get(f"/api/v1/images/{image_id}").json()["tags"] == []
    response = uploader.post_form(f"/images/{image_id}/tags", {"action": "add", "tag": "x" * 60},
                                  form_page=f"/images/{image_id}")
    assert response.status_code == 400
    assert "at most 50 characters" in html.unescape(response.text)


def test_others_cannot_tag_through_the_page(uploader, admin, three):
    image_id = three["city"]
    token = admin.csrf("/upload")
    other = admin.request("POST", f"/images/{image_id}/tags",
                          data={"csrf_token": token, "action": "add", "tag": "x"})
    assert other.status_code == 302  # admins may
    no_token = uploader.request("POST", f"/images/{image_id}/tags",
                                data={"action": "add", "tag": "y"})
    assert no_token.status_code == 400
    assert uploader.get(f"/api/v1/images/{image_id}").json()["tags"] == ["x"]


def test_camera_details_show_to_owners_only_by_default(uploader, anonymous, three):
    owner = uploader.get(f"/images/{three['beach']}").text
    assert "Canon EOS R5" in owner and "2019-08-01 20:15 +02:00" in owner
    visitor = anonymous.get(f"/images/{three['beach']}").text
    assert "Canon EOS R5" not in visitor and "2019-08-01" not in visitor


@pytest.mark.parametrize("settings", [{"show_details": True}])
def test_camera_details_show_to_visitors_where_the_gallery_allows(anonymous, three):
    visitor = anonymous.get(f"/images/{three['beach']}").text
    assert "Canon EOS R5" in visitor and "2019-08-01 20:15 +02:00" in visitor


def grid_ids(client, query: str) -> list[str]:
    page = client.get(f"/?{query}")
    assert page.status_code == 200, page.text
    return ids_in(page.text)


def test_camera_words_match_only_for_those_who_see_the_camera(
        anonymous, uploader, admin, make_client, runtime, three):
    """Details hidden: a visitor's "canon" finds nothing (not even through the words of
    the title); the owner and admins find the image; another user finds only their own."""
    for query in ("q=canon", "q=canon+sunset", "q=eos&sort=taken", "q=canon&tag=holiday"):
        assert listed(anonymous, query) == [], query
        assert grid_ids(anonymous, query) == [], query
        assert listed(uploader, query) == [three["beach"]], query
        assert grid_ids(uploader, query) == [three["beach"]], query
        assert listed(admin, query) == [three["beach"]], query
        assert grid_ids(admin, query) == [three["beach"]], query
    assert listed(anonymous, "q=sunset") == [three["beach"]]  # the title still matches
    runtime.accounts.create_user("cleo", "a third long secret", role="uploader")
    cleo = make_client()
    assert cleo.login("cleo", "a third long secret").status_code == 302
    mine = post_image(cleo, "mine.png", 9)
    set_taken(runtime, mine, "2020-01-01T10:00:00", {"make": "Canon", "model": "EOS M"})
    assert listed(cleo, "q=canon") == [mine]
    assert grid_ids(cleo, "q=canon") == [mine]
    assert listed(uploader, "q=canon") == [three["beach"]]
    assert listed(anonymous, "q=canon") == []
    assert "No images match “canon”." in html.unescape(anonymous.get("/?q=canon").text)


@pytest.mark.parametrize("settings", [{"show_details": True}])
def test_camera_words_match_for_visitors_where_the_gallery_shows_details(anonymous, three):
    assert listed(anonymous, "q=canon+r5") == [three["beach"]]
    assert grid_ids(anonymous, "q=canon") == [three["beach"]]
