"""The trash through the pages and the API, over real HTTP: a delete hides the image from
everyone at once, Undo and Restore put it back in its place and albums, Delete for good
and Empty trash remove it, the keep period runs out, and only its owner and admins may."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from gallery.images.results import Actor
from tests.images import StepClock
from tests.web.conftest import UPLOADER
from tests.web.images import distinct_png

CAROL = ("carol", "a third long secret")
BOB = Actor(UPLOADER[0])


def ids_in(page: str) -> list[str]:
    return re.findall(r'href="/images/([0-9a-f]{32})"', page)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def pictures(runtime, users) -> list[str]:
    """Three images of bob, oldest first, with titles."""
    return [runtime.images.upload(distinct_png(n), f"p{n}.png", uploaded_by=UPLOADER[0],
                                  title=f"Picture {n}").image["id"] for n in range(3)]


@pytest.fixture
def carol(make_client, runtime, users):
    runtime.accounts.create_user(*CAROL, role="uploader")
    client = make_client()
    assert client.login(*CAROL).status_code == 302
    return client


@pytest.fixture
def album(runtime, pictures) -> str:
    album = runtime.albums.create(title="Harbour", visibility="public", actor=BOB)
    runtime.albums.change_images(album.id, actor=BOB, add=pictures)
    return album.id


def undo_form(page: str) -> dict[str, list[str]]:
    form = re.search(r'<form method="post" action="/trash/restore" class="flash info undo">(.*?)</form>',
                     page, re.S)
    assert form, "no Undo on the page"
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def test_a_delete_hides_the_image_from_everyone_and_undo_puts_it_back(
        uploader, anonymous, runtime, pictures, album):
    before = ids_in(anonymous.get("/").text)
    target = pictures[1]
    confirm = uploader.get(f"/images/{target}/delete")
    assert "It goes to the" in confirm.text and "Move to the trash" in confirm.text

    response = uploader.post_form(f"/images/{target}/delete")
    assert response.status_code == 302
    landing = uploader.get(response.headers["Location"])
    assert "Moved “Picture 1” to the trash." in text_of(landing.text)
    assert target not in ids_in(landing.text)
    assert "Undo" not in uploader.get("/").text  # offered once

    for path in (f"/images/{target}", f"/media/{target}", f"/media/{target}/sm",
                 f"/api/v1/images/{target}"):
        assert anonymous.get(path).status_code == 404, path
    assert target not in ids_in(anonymous.get("/?q=Picture").text)
    assert target not in anonymous.get(f"/albums/{album}").text
    assert ids_in(anonymous.get("/").text) == [i for i in before if i != target]

    fields = undo_form(landing.text)
    assert fields["ids"] == [target]
    restored = uploader.request("POST", "/trash/restore",
                                data={"csrf_token": fields["csrf_token"][0], "ids": target,
                                      "next": fields["next"][0]})
    assert restored.status_code == 303
    assert "Restored “Picture 1”." in text_of(uploader.get(restored.headers["Location"]).text)
    assert ids_in(anonymous.get("/").text) == before  # back in its place
    assert anonymous.get(f"/media/{target}/sm").status_code == 200
    assert target in anonymous.get(f"/albums/{album}").text  # and in its album


def test_the_trash_page_lists_restores_and_shows_thumbnails_to_the_owner_only(
        uploader, carol, admin, anonymous, runtime, pictures):
    runtime.images.delete(pictures[0], actor=BOB)
    page = uploader.get("/trash")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Picture 0" in words and "Deleted just now" in words
    assert "removed for good on" in words
    thumbnail = f"/trash/{pictures[0]}/sm"
    assert f'src="{thumbnail}"' in page.text
    shown = uploader.get(thumbnail)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/webp"
    assert shown.headers["Cache-Control"] == "private, no-cache"
    assert uploader.get(thumbnail, headers={"If-None-Match": shown.headers["ETag"]}
                        ).status_code == 304
    assert anonymous.get(thumbnail).status_code == 404
    assert carol.get(thumbnail).status_code == 404
    assert admin.get(thumbnail).status_code == 200

    assert "Picture 0" not in carol.get("/trash").text  # not hers
    assert "The trash is empty." in text_of(carol.get("/trash").text)
    assert "by bob" in text_of(admin.get("/trash").text)  # admins see who deleted it
    assert anonymous.get("/trash").status_code in (302, 401)

    refused = carol.post_form("/trash/restore", {"ids": pictures[0]}, form_page="/trash")
    assert refused.status_code == 303
    assert "There is no such image in the trash." in text_of(carol.get("/trash").text)
    assert runtime.images.trash_ids() == {pictures[0]}

    restored = uploader.post_form("/trash/restore", {"one": pictures[0]}, form_page="/trash")
    assert restored.status_code == 303 and restored.headers["Location"].endswith("/trash")
    assert "Restored “Picture 0”." in text_of(uploader.get("/trash").text)
    assert runtime.images.trash_ids() == set()


def test_delete_for_good_asks_first_and_empty_trash_too(uploader, runtime, pictures, album):
    runtime.images.delete_many(pictures, actor=BOB)
    token = uploader.csrf("/trash")
    ask = uploader.request("POST", "/trash/delete", data={"csrf_token": token, "one": pictures[0]})
    assert ask.status_code == 200
    assert "Delete “Picture 0” for good?" in text_of(ask.text)
    assert runtime.images.trash_ids() == set(pictures)  # nothing yet
    done = uploader.request("POST", "/trash/delete", data={
        "csrf_token": token, "ids": pictures[0], "confirmed": "yes"})
    assert done.status_code == 303
    assert "Deleted 1 image for good." in text_of(uploader.get("/trash").text)
    assert not list(runtime.storage.list(runtime.keys.image_prefix(pictures[0])))
    assert not runtime.albums.get(album).has(pictures[0])  # its album forgot it

    confirm = uploader.get("/trash/empty")
    assert "Empty the trash?" in text_of(confirm.text) and "Picture 2" in confirm.text
    emptied = uploader.post_form("/trash/empty")
    assert emptied.status_code == 303
    assert "2 images deleted for good" in text_of(uploader.get("/trash").text)
    assert runtime.images.trash_ids() == set()
    assert not list(runtime.storage.list(runtime.keys.images_prefix))


def test_the_keep_period_runs_out_and_an_admin_visit_deletes_for_good(
        uploader, admin, runtime, pictures):
    clock = StepClock(timedelta(milliseconds=1))
    runtime.images.d = replace(runtime.images.d, clock=clock)
    runtime.images.delete(pictures[0], actor=BOB)
    runtime.images.delete(pictures[1], actor=BOB)
    clock.now += timedelta(days=3)
    trashed = runtime.images.trash()[0].purge_at(30)
    words = text_of(uploader.get("/trash").text)
    assert "Deleted 3 days ago" in words
    assert f"removed for good on {trashed.day} {trashed:%b %Y}" in words

    clock.now += timedelta(days=27, hours=1)
    assert "removed for good at the next cleanup" in text_of(uploader.get("/trash").text)
    assert runtime.images.trash_ids() == {pictures[0], pictures[1]}  # a user's visit keeps them
    visit = admin.get("/trash")
    assert "2 images kept for 30 days were deleted for good." in text_of(visit.text)
    assert runtime.images.trash_ids() == set()
    assert not list(runtime.storage.list(runtime.keys.image_prefix(pictures[0])))


def test_the_trash_forms_need_their_csrf_token(uploader, runtime, pictures):
    runtime.images.delete(pictures[0], actor=BOB)
    for path, data in (("/trash/restore", {"ids": pictures[0]}),
                       ("/trash/delete", {"ids": pictures[0], "confirmed": "yes"}),
                       ("/trash/empty", {})):
        assert uploader.request("POST", path, data=data).status_code == 400, path
    assert runtime.images.trash_ids() == {pictures[0]}


def test_bad_selections_are_a_clear_400(uploader, runtime, pictures):
    token = uploader.csrf("/trash")
    none = uploader.request("POST", "/trash/restore", data={"csrf_token": token})
    assert none.status_code == 400 and "Select at least one image" in none.text
    bad = uploader.request("POST", "/trash/restore", data={"csrf_token": token, "ids": "../x"})
    assert bad.status_code == 400


def test_the_admin_bulk_delete_offers_undo(admin, anonymous, runtime, pictures):
    response = admin.post_form("/admin/images/delete", {"ids": pictures[:2]},
                               form_page="/admin/images")
    assert response.status_code == 302
    landing = admin.get(response.headers["Location"])
    assert "Moved 2 images to the trash." in text_of(landing.text)
    assert undo_form(landing.text)["ids"] == pictures[:2]
    assert ids_in(anonymous.get("/").text) == [pictures[2]]


@pytest.mark.parametrize("settings", [{"trash_days": 0}])
def test_without_a_keep_period_deletes_are_final(uploader, runtime, pictures):
    assert "cannot be undone" in uploader.get(f"/images/{pictures[0]}/delete").text
    response = uploader.post_form(f"/images/{pictures[0]}/delete")
    landing = uploader.get(response.headers["Location"])
    assert "Deleted “Picture 0”." in text_of(landing.text) and "Undo" not in landing.text
    assert runtime.images.trash_ids() == set()
    assert not list(runtime.storage.list(runtime.keys.image_prefix(pictures[0])))


def test_the_audit_log_names_the_image_with_a_thumbnail_while_it_exists(
        admin, uploader, runtime, pictures):
    target = pictures[0]
    runtime.images.delete(target, actor=BOB)
    page = admin.get("/admin/audit").text
    assert "Picture 0" in page and f'src="/trash/{target}/sm"' in page
    assert "(in the trash)" in page
    runtime.images.restore(target, actor=BOB)
    page = admin.get("/admin/audit").text
    assert f'src="/media/{target}/sm"' in page
    runtime.images.delete(target, actor=BOB)
    runtime.images.purge([target], actor=BOB)
    page = admin.get("/admin/audit").text
    assert "Picture 0" in page and "(deleted for good)" in page
    assert f"/trash/{target}/sm" not in page and f"/media/{target}/sm" not in page
    assert "image.purge" in page and "image.restore" in page and "image.trash" in page


# -- the API ------------------------------------------------------------------------------


def test_the_api_moves_to_the_trash_lists_restores_and_purges(uploader, carol, runtime,
                                                              pictures):
    target = pictures[2]
    assert uploader.api("DELETE", f"/api/v1/images/{target}").status_code == 204
    assert uploader.api("GET", f"/api/v1/images/{target}").status_code == 404
    listing = uploader.api("GET", "/api/v1/trash").json()
    assert listing["trash_days"] == 30
    [entry] = listing["images"]
    assert (entry["id"], entry["title"], entry["trashed_by"]) == (target, "Picture 2", "bob")
    assert entry["image"]["id"] == target and entry["urls"]["thumbnail"] == f"/trash/{target}/sm"
    assert entry["purge_at"] > entry["trashed_at"]
    assert carol.api("GET", "/api/v1/trash").json()["images"] == []
    assert carol.api("POST", f"/api/v1/trash/{target}/restore").status_code == 404
    assert carol.api("DELETE", f"/api/v1/trash/{target}").status_code == 404

    restored = uploader.api("POST", f"/api/v1/trash/{target}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == target
    first = uploader.api("GET", "/api/v1/images?limit=1").json()["images"][0]
    assert first["id"] == target  # the newest again, in its place
    assert uploader.api("POST", f"/api/v1/trash/{target}/restore").status_code == 404

    assert uploader.api("DELETE", f"/api/v1/images/{target}").status_code == 204
    assert uploader.api("DELETE", f"/api/v1/trash/{target}").status_code == 204
    assert uploader.api("GET", "/api/v1/trash").json()["images"] == []
    assert uploader.api("DELETE", f"/api/v1/trash/{target}").status_code == 404


def test_a_restore_of_a_picture_uploaded_again_is_a_409(uploader, runtime, pictures):
    target = pictures[0]
    uploader.api("DELETE", f"/api/v1/images/{target}")
    again = uploader.api("POST", "/api/v1/images",
                         files={"file": ("again.png", distinct_png(0), "image/png")})
    assert again.status_code == 201
    refused = uploader.api("POST", f"/api/v1/trash/{target}/restore")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict" and "uploaded again" in error["message"]
    assert again.json()["id"] in error["message"]
    assert runtime.images.trash_ids() == {target}

    page = uploader.post_form("/trash/restore", {"one": target}, form_page="/trash")
    assert "uploaded again" in text_of(uploader.get(page.headers["Location"]).text)
