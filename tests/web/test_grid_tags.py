"""Tagging the images ticked in the grid's select mode: POST /images/tags."""

from __future__ import annotations

import html

import pytest

from tests.web.test_tags_search import post_image


@pytest.fixture
def mine_and_theirs(uploader, admin):
    """Two images of bob (the uploader) and one of ada (the admin)."""
    return [post_image(uploader, "a.png", 1), post_image(uploader, "b.png", 2),
            post_image(admin, "c.png", 3)]


def tags_of(client, image_id: str) -> list[str]:
    return client.get(f"/api/v1/images/{image_id}").json()["tags"]


def tag(client, ids: list[str], tags: str, action: str = "add", *, json: bool = False):
    headers = {"Accept": "application/json"} if json else {}
    return client.request("POST", "/images/tags", headers=headers, data={
        "csrf_token": client.csrf("/?select=1"), "ids": ids, "tags": tags, "tag_action": action,
        "action": "add", "back": "/?q=png"})


def test_the_select_bar_offers_tagging_to_signed_in_users(uploader, anonymous, mine_and_theirs):
    page = uploader.get("/?select=1").text
    assert 'id="select-tags" name="tags"' in page
    assert 'formaction="/images/tags" name="tag_action" value="add"' in page
    assert 'formaction="/images/tags" name="tag_action" value="remove"' in page
    assert "You can tag the images you uploaded." in page
    assert "select-tags" not in anonymous.get("/").text


def test_owners_tag_their_images_and_go_back_to_the_grid(uploader, mine_and_theirs):
    mine = mine_and_theirs[:2]
    response = tag(uploader, mine, "Sea, sunny day")
    assert response.status_code == 302 and response.headers["Location"].endswith("/?q=png")
    assert [tags_of(uploader, i) for i in mine] == [["Sea", "sunny day"]] * 2
    page = html.unescape(uploader.get("/?q=png").text)
    assert "Tagged 2 images “Sea”, “sunny day”." in page
    response = tag(uploader, mine, "sea", "remove", json=True)
    assert response.status_code == 200
    assert response.json() == {"message": "Took “sea” off 2 images.", "changed": mine}
    assert [tags_of(uploader, i) for i in mine] == [["sunny day"]] * 2


def test_nobody_tags_images_of_others_and_nothing_changes(uploader, admin, mine_and_theirs):
    response = tag(uploader, mine_and_theirs, "mine", json=True)
    assert response.status_code == 403
    assert "Only the person who uploaded an image" in response.json()["error"]["message"]
    assert [tags_of(uploader, i) for i in mine_and_theirs] == [[], [], []]
    response = tag(admin, mine_and_theirs, "everyone", json=True)  # admins may
    assert response.status_code == 200 and response.json()["changed"] == mine_and_theirs


@pytest.mark.parametrize(("tags", "message"), [
    ("x" * 1024, "at most 50 characters"),
    ("bell\x07", "control characters"),
    (",".join(f"t{n}" for n in range(31)), "at most 30 tags"),
    ("", "Type at least one tag"),
])
def test_bad_tags_are_400_with_a_message(uploader, mine_and_theirs, tags, message):
    response = tag(uploader, mine_and_theirs[:2], tags, json=True)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    page = tag(uploader, mine_and_theirs[:2], tags)
    assert page.status_code == 400 and message in html.unescape(page.text)
    assert tags_of(uploader, mine_and_theirs[0]) == []


def test_tagging_needs_a_session_the_csrf_token_and_a_known_action(
        uploader, anonymous, mine_and_theirs):
    ids = mine_and_theirs[:1]
    no_token = uploader.request("POST", "/images/tags",
                                data={"ids": ids, "tags": "x", "tag_action": "add"})
    assert no_token.status_code == 400
    odd = tag(uploader, ids, "x", "rename", json=True)
    assert odd.status_code == 400 and "Add tags or Remove tags" in odd.json()["error"]["message"]
    stranger = anonymous.request("POST", "/images/tags", headers={"Accept": "application/json"},
                                 data={"csrf_token": anonymous.csrf("/login"), "ids": ids,
                                       "tags": "x", "tag_action": "add"})
    assert stranger.status_code == 401
    assert tags_of(uploader, ids[0]) == []


def test_suggestions_are_the_tags_in_use(uploader, anonymous, mine_and_theirs):
    assert tag(uploader, mine_and_theirs[:2], "beach").status_code == 302
    assert tag(uploader, mine_and_theirs[:1], "Pier").status_code == 302
    response = uploader.get("/images/tags")
    assert response.status_code == 200 and response.json() == {"tags": ["beach", "Pier"]}
    assert anonymous.get("/images/tags", headers={"Accept": "application/json"}).status_code == 401
