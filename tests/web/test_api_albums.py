"""The albums and share-links API over real HTTP: every call, who may make it, its JSON, its
pages, and what bad input gets back."""

from __future__ import annotations

import json

import pytest

from gallery.albums.model import MAX_ALBUM_TITLE, MAX_IDS_PER_CALL
from tests.web.conftest import UPLOADER
from tests.web.images import distinct_png

ALBUM_FIELDS = {"id", "title", "description", "visibility", "sort", "cover", "cover_chosen",
                "image_count", "owner", "owner_name", "created_at", "updated_at",
                "uploaded_range", "urls"}
IMAGE_FIELDS = {"id", "filename", "content_type", "size", "width", "height", "sha256",
                "created_at", "uploaded_by", "title", "urls"}
LINK_FIELDS = {"id", "url", "album", "label", "expires_at", "allow_download", "show_details",
               "has_password", "created_by", "created_at", "revoked_at", "views",
               "last_used_at", "state"}
NO_SUCH_ALBUM = "0" * 32


def call(client, method: str, path: str, **kwargs):
    """An API call; changes carry the session's CSRF token (read once per client)."""
    if method not in ("GET", "HEAD"):
        if not hasattr(client, "_token"):
            client._token = client.csrf("/upload")
        kwargs.setdefault("headers", {}).setdefault("X-CSRFToken", client._token)
    return client.request(method, path, **kwargs)


def error(response, status: int, code: str | None = None) -> str:
    """The message of an API error, checking its status and shape."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert body["message"]
    if code:
        assert body["code"] == code
    return body["message"]


def new_album(client, **fields) -> dict:
    response = call(client, "POST", "/api/v1/albums", json={"title": "Trip", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def newest_first(*items: dict) -> list[str]:
    """The ids of albums or links in the order lists show them (made in the same
    millisecond, the id decides)."""
    return [i["id"] for i in sorted(items, key=lambda i: (i["created_at"], i["id"]),
                                    reverse=True)]


def upload(runtime, n: int, by: str = UPLOADER[0]) -> dict:
    return runtime.images.upload(distinct_png(n), f"photo {n}.png", uploaded_by=by).image


def images_of(client, album_id: str, limit: int = 100) -> list[str]:
    """Every image id of the album, page by page, as the API lists them."""
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = call(client, "GET", f"/api/v1/albums/{album_id}/images", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"images", "next_cursor"} and len(body["images"]) <= limit
        ids += [image["id"] for image in body["images"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursors never ended")


# --- creating, reading, changing, deleting ---------------------------------------------------


def test_create_answers_201_with_the_album_json(uploader, anonymous):
    response = call(uploader, "POST", "/api/v1/albums",
                    json={"title": "  Summer   2026 ", "description": "By the sea",
                          "visibility": "unlisted"})
    assert response.status_code == 201, response.text
    album = response.json()
    assert set(album) == ALBUM_FIELDS
    assert album["title"] == "Summer 2026" and album["description"] == "By the sea"
    assert (album["visibility"], album["sort"], album["owner"]) == ("unlisted", "manual",
                                                                    UPLOADER[0])
    assert (album["image_count"], album["cover"], album["uploaded_range"]) == (0, None, None)
    assert album["cover_chosen"] is False
    assert album["created_at"].endswith("Z") and album["updated_at"] == album["created_at"]
    assert album["urls"] == {"page": f"/albums/{album['id']}", "cover": None}
    assert response.headers["Location"].endswith(f"/api/v1/albums/{album['id']}")

    fetched = call(anonymous, "GET", response.headers["Location"])  # unlisted: by its address
    # Visitors are never told a username: the same album, its owner left out.
    assert fetched.status_code == 200
    assert fetched.json() == {**album, "owner": None, "owner_name": None}

    plain = new_album(uploader)
    assert plain["visibility"] == "private" and plain["sort"] == "manual"
    assert new_album(uploader, sort="taken_desc", visibility="public")["sort"] == "taken_desc"


def test_patch_changes_each_field(uploader, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    ids = [upload(runtime, n)["id"] for n in range(3)]
    call(uploader, "POST", f"{path}/images", json={"add": ids})

    changes = {"title": "Winter", "description": "Snow\r\nand ice", "visibility": "public",
               "sort": "uploaded_desc", "cover": ids[1]}
    response = call(uploader, "PATCH", path, json=changes)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["title"], changed["description"], changed["visibility"], changed["sort"]) \
        == ("Winter", "Snow\nand ice", "public", "uploaded_desc")
    assert changed["cover"] == ids[1] and changed["cover_chosen"] is True
    assert changed["urls"]["cover"] == f"/media/{ids[1]}/md"
    assert changed["updated_at"] > album["updated_at"]
    assert call(uploader, "GET", path).json() == changed

    automatic = call(uploader, "PATCH", path, json={"cover": None}).json()
    assert automatic["cover"] == ids[2] and automatic["cover_chosen"] is False  # newest first


BAD_CHANGES = [
    ({"owner": "mallory"}, "cannot be changed: owner"),
    ({"title": "x" * 10_000}, f"longer than {MAX_ALBUM_TITLE}"),
    ({"title": "   "}, "title"),
    ({"title": 5}, "must be text"),
    ({"description": ["a"]}, "must be text"),
    ({"visibility": "secret"}, "visibility"),
    ({"sort": "random"}, "sort must be one of"),
    ({"cover": "f" * 32}, "one of the album's images"),
    ({"cover": 7}, "cover"),
]


def test_patch_refuses_bad_fields(uploader):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    for changes, words in BAD_CHANGES:
        message = error(call(uploader, "PATCH", path, json=changes), 400, "bad_request")
        assert words in message, (changes, message)
    assert call(uploader, "GET", path).json() == album  # nothing changed


BAD_NEW_ALBUMS = [
    (b"{not json", "not valid JSON"),
    (b'["Trip"]', "JSON object"),
    (b'{"title": "Trip", "owner": "mallory"}', "Unknown fields: owner"),
    (b'{"description": "no title"}', "title"),
    (b'{"title": "' + b"x" * 10_000 + b'"}', f"longer than {MAX_ALBUM_TITLE}"),
    (b'{"title": 12}', "must be text"),
    (b'{"title": "Trip", "visibility": "everyone"}', "visibility"),
    (b'{"title": "Trip", "visibility": null}', "visibility"),
    (b'{"title": "Trip", "sort": 3}', "sort"),
    (b'{"title": "Trip", "description": 3}', "must be text"),
    (b'{"title": [[[[[[[[[["deep"]]]]]]]]]]}', "nested"),
]


def test_create_refuses_bad_input_and_keeps_nothing(uploader):
    for body, words in BAD_NEW_ALBUMS:
        response = call(uploader, "POST", "/api/v1/albums", data=body,
                        headers={"Content-Type": "application/json"})
        message = error(response, 400, "bad_request")
        assert words in message, (body[:60], message)
    assert call(uploader, "GET", "/api/v1/albums").json()["albums"] == []


def test_delete_keeps_the_images_and_revokes_the_links(uploader, admin, runtime):
    album = new_album(uploader)
    image = upload(runtime, 1)
    call(uploader, "POST", f"/api/v1/albums/{album['id']}/images", json={"add": [image["id"]]})
    link = call(uploader, "POST", f"/api/v1/albums/{album['id']}/links", json={}).json()

    response = call(uploader, "DELETE", f"/api/v1/albums/{album['id']}")
    assert response.status_code == 204 and response.content == b""
    error(call(uploader, "GET", f"/api/v1/albums/{album['id']}"), 404, "not_found")
    error(call(uploader, "DELETE", f"/api/v1/albums/{album['id']}"), 404)
    assert call(uploader, "GET", f"/api/v1/images/{image['id']}").status_code == 200

    (kept,) = call(admin, "GET", "/api/v1/links").json()["links"]
    assert (kept["id"], kept["state"], kept["revoked_at"] is not None) == (
        link["id"], "revoked", True)
    assert call(uploader, "GET", link["url"]).status_code in (404, 410)


# --- who may do what --------------------------------------------------------------------------


def test_only_the_owner_or_an_admin_changes_an_album(uploader, admin, runtime):
    theirs = new_album(admin, visibility="public")
    path = f"/api/v1/albums/{theirs['id']}"
    image = upload(runtime, 1)
    refused = [
        call(uploader, "PATCH", path, json={"title": "Mine now"}),
        call(uploader, "DELETE", path),
        call(uploader, "POST", f"{path}/images", json={"add": [image["id"]]}),
        call(uploader, "POST", f"{path}/links", json={}),
        call(uploader, "GET", f"{path}/links"),
    ]
    for response in refused:
        assert "owner" in error(response, 403, "forbidden")
    assert call(uploader, "GET", path).json() == theirs  # seeing it is fine

    mine = new_album(uploader)
    path = f"/api/v1/albums/{mine['id']}"
    assert call(admin, "PATCH", path, json={"title": "Tidied"}).json()["title"] == "Tidied"
    assert call(admin, "POST", f"{path}/images",
                json={"add": [image["id"]]}).json()["image_count"] == 1
    assert call(admin, "DELETE", path).status_code == 204


def test_anonymous_changes_are_401(anonymous, uploader):
    album = new_album(uploader, visibility="public")
    path = f"/api/v1/albums/{album['id']}"
    token = anonymous.csrf("/login")
    for method, target, body in [("POST", "/api/v1/albums", {"title": "x"}),
                                 ("PATCH", path, {"title": "x"}), ("DELETE", path, None),
                                 ("POST", f"{path}/images", {"add": []}),
                                 ("POST", f"{path}/links", {}),
                                 ("DELETE", "/api/v1/links/" + "0" * 32, None)]:
        response = anonymous.request(method, target, json=body, headers={"X-CSRFToken": token})
        error(response, 401, "not_signed_in")
    for target in (f"{path}/links", "/api/v1/links", "/api/v1/links/" + "0" * 32):
        error(anonymous.get(target), 401, "not_signed_in")
    assert call(uploader, "GET", path).json() == album


def test_cookies_need_the_csrf_header_and_a_bearer_token_does_not(uploader, anonymous,
                                                                   runtime):
    response = uploader.request("POST", "/api/v1/albums", json={"title": "x"})
    assert "X-CSRFToken" in error(response, 400, "csrf_failed")
    token, _ = runtime.accounts.create_token(UPLOADER[0], "script")
    headers = {"Authorization": f"Bearer {token}"}
    made = anonymous.request("POST", "/api/v1/albums", json={"title": "Scripted"},
                             headers=headers)
    assert made.status_code == 201 and made.json()["owner"] == UPLOADER[0]
    image = upload(runtime, 1)
    added = anonymous.request("POST", f"/api/v1/albums/{made.json()['id']}/images",
                              json={"add": [image["id"]]}, headers=headers)
    assert added.status_code == 200 and added.json()["image_count"] == 1


def test_who_sees_which_album_in_a_public_gallery(uploader, admin, anonymous, make_client,
                                                  runtime):
    public = new_album(uploader, title="Open", visibility="public")
    unlisted = new_album(uploader, title="By address", visibility="unlisted")
    private = new_album(uploader, title="Members", visibility="private")
    runtime.accounts.create_user("cleo", "a third long password", role="uploader")
    cleo = make_client()
    assert cleo.login("cleo", "a third long password").status_code == 302

    def listed(client) -> list[str]:
        return [a["id"] for a in call(client, "GET", "/api/v1/albums").json()["albums"]]

    assert listed(anonymous) == [public["id"]]
    assert listed(cleo) == newest_first(private, public)  # not another's unlisted album
    assert listed(uploader) == newest_first(public, unlisted, private)
    assert listed(admin) == newest_first(public, unlisted, private)

    assert call(anonymous, "GET", f"/api/v1/albums/{unlisted['id']}").status_code == 200
    assert call(anonymous, "GET", f"/api/v1/albums/{unlisted['id']}/images").status_code == 200
    error(call(anonymous, "GET", f"/api/v1/albums/{private['id']}"), 404, "not_found")
    error(call(anonymous, "GET", f"/api/v1/albums/{private['id']}/images"), 404)
    assert call(admin, "GET", f"/api/v1/albums/{private['id']}").status_code == 200


@pytest.mark.parametrize("settings", [{"visibility": "private"}])
def test_a_private_gallery_answers_anonymous_calls_401(uploader, anonymous):
    album = new_album(uploader, visibility="public")
    for path in ("/api/v1/albums", f"/api/v1/albums/{album['id']}",
                 f"/api/v1/albums/{album['id']}/images"):
        error(anonymous.get(path), 401, "not_signed_in")
        assert call(uploader, "GET", path).status_code == 200


UNKNOWN = [
    ("GET", f"/api/v1/albums/{NO_SUCH_ALBUM}", None),
    ("GET", "/api/v1/albums/not-an-id", None),
    ("GET", "/api/v1/albums/" + "A" * 32, None),
    ("PATCH", f"/api/v1/albums/{NO_SUCH_ALBUM}", {"title": "x"}),
    ("DELETE", f"/api/v1/albums/{NO_SUCH_ALBUM}", None),
    ("GET", f"/api/v1/albums/{NO_SUCH_ALBUM}/images", None),
    ("POST", f"/api/v1/albums/{NO_SUCH_ALBUM}/images", {"add": []}),
    ("GET", f"/api/v1/albums/{NO_SUCH_ALBUM}/links", None),
    ("POST", f"/api/v1/albums/{NO_SUCH_ALBUM}/links", {}),
    ("GET", "/api/v1/links/" + "0" * 32, None),
    ("DELETE", "/api/v1/links/" + "0" * 32, None),
    ("DELETE", "/api/v1/links/../../albums", None),
]


def test_unknown_ids_are_404(admin):
    new_album(admin)
    for method, path, body in UNKNOWN:
        assert error(call(admin, method, path, json=body), 404, "not_found"), (method, path)


# --- the list of albums ---------------------------------------------------------------------


def test_albums_list_pages_with_cursors(uploader, anonymous, runtime):
    made = [new_album(uploader, title=f"Album {n}", visibility="public") for n in range(5)]
    image = upload(runtime, 1)
    call(uploader, "POST", f"/api/v1/albums/{made[0]['id']}/images", json={"add": [image["id"]]})
    seen: list[dict] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = call(anonymous, "GET", "/api/v1/albums", params=params).json()
        assert set(body) == {"albums", "next_cursor"} and len(body["albums"]) <= 2
        seen += body["albums"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [a["id"] for a in seen] == newest_first(*made)  # each once
    assert all(set(a) == ALBUM_FIELDS for a in seen)
    (first,) = [a for a in seen if a["id"] == made[0]["id"]]
    assert (first["image_count"], first["cover"]) == (1, image["id"])
    assert first["urls"]["cover"] == f"/media/{image['id']}/md"
    assert first["uploaded_range"] == {"first": image["created_at"], "last": image["created_at"]}


BAD_PAGES = [{"limit": "0"}, {"limit": "101"}, {"limit": "²"}, {"limit": "-1"},
             {"limit": "1.5"}, {"cursor": "garbage!"}, {"cursor": "%%%"}, {"cursor": "x" * 300}]


def test_lists_refuse_bad_parameters(uploader):
    album = new_album(uploader)
    for path, odd in [("/api/v1/albums", {"cursor": "MTIz"}),
                      (f"/api/v1/albums/{album['id']}/images", {"cursor": "MTIzfG5vdC1hbi1pZA"})]:
        for params in [*BAD_PAGES, odd]:
            response = call(uploader, "GET", path, params=params)
            assert error(response, 400, "bad_request"), (path, params)


# --- an album's images -----------------------------------------------------------------------


def test_images_come_in_album_order_through_every_cursor(uploader, anonymous, runtime):
    album = new_album(uploader, visibility="public")
    path = f"/api/v1/albums/{album['id']}"
    ids = [upload(runtime, n)["id"] for n in range(7)]
    order = [ids[4], ids[0], ids[6], ids[2], ids[1], ids[5], ids[3]]
    response = call(uploader, "POST", f"{path}/images", json={"add": order})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ALBUM_FIELDS and body["image_count"] == 7 and body["cover"] == ids[4]
    created = sorted(runtime.images.get(i)["created_at"] for i in ids)
    assert body["uploaded_range"] == {"first": created[0], "last": created[-1]}

    for limit in (1, 3, 7, 100):
        assert images_of(anonymous, album["id"], limit) == order

    page = call(anonymous, "GET", f"{path}/images", params={"limit": 2}).json()
    assert all(IMAGE_FIELDS <= set(image) for image in page["images"])
    first = page["images"][0]
    assert first["urls"]["original"] == f"/media/{ids[4]}"
    assert first["urls"]["page"] == f"/images/{ids[4]}"
    assert first["uploaded_by"] is None  # a visitor: no username
    assert call(uploader, "GET", f"{path}/images").json()["images"][0]["uploaded_by"] == UPLOADER[0]

    call(uploader, "PATCH", path, json={"sort": "uploaded_desc"})
    assert images_of(anonymous, album["id"], 3) == list(reversed(ids))
    call(uploader, "PATCH", path, json={"sort": "uploaded_asc"})
    assert images_of(anonymous, album["id"], 3) == ids


def test_a_cursor_survives_changes_to_the_album(uploader, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    ids = [upload(runtime, n)["id"] for n in range(5)]
    call(uploader, "POST", f"{path}/images", json={"add": ids})
    page = call(uploader, "GET", f"{path}/images", params={"limit": 2}).json()
    assert [i["id"] for i in page["images"]] == ids[:2]
    call(uploader, "POST", f"{path}/images", json={"remove": [ids[1]]})  # the cursor's image
    rest = call(uploader, "GET", f"{path}/images",
                params={"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [i["id"] for i in rest["images"]] == ids[2:] and rest["next_cursor"] is None


def test_add_remove_and_move(uploader, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    a, b, c, d = (upload(runtime, n)["id"] for n in range(4))
    assert call(uploader, "POST", f"{path}/images",
                json={"add": [a, b, c, a]}).json()["image_count"] == 3  # duplicates once
    again = call(uploader, "POST", f"{path}/images", json={"add": [b]}).json()
    assert again["image_count"] == 3 and images_of(uploader, album["id"]) == [a, b, c]

    moved = call(uploader, "POST", f"{path}/images", json={"move": [c], "before": a})
    assert moved.status_code == 200 and moved.json()["cover"] == c
    assert images_of(uploader, album["id"]) == [c, a, b]
    call(uploader, "POST", f"{path}/images", json={"move": [c], "before": None})
    assert images_of(uploader, album["id"]) == [a, b, c]

    both = call(uploader, "POST", f"{path}/images",
                json={"add": [d], "remove": [a, "f" * 32], "move": [d], "before": b}).json()
    assert both["image_count"] == 3 and images_of(uploader, album["id"]) == [d, b, c]
    assert call(uploader, "POST", f"{path}/images", json={"remove": [d, b, c]}).json()[
        "image_count"] == 0
    assert call(uploader, "GET", path).json()["cover"] is None


def test_deleted_images_leave_their_albums(uploader, runtime):
    album = new_album(uploader)
    ids = [upload(runtime, n)["id"] for n in range(2)]
    call(uploader, "POST", f"/api/v1/albums/{album['id']}/images", json={"add": ids})
    assert call(uploader, "DELETE", f"/api/v1/images/{ids[0]}").status_code == 204
    assert images_of(uploader, album["id"]) == [ids[1]]
    assert call(uploader, "GET", f"/api/v1/albums/{album['id']}").json()["image_count"] == 1


BAD_CHANGES_OF_IMAGES = [
    ({}, 400, "Send “add”, “remove” or “move”"),
    ({"add": "abc"}, 400, "must be a list of image ids"),
    ({"add": [1, 2]}, 400, "must be a list of image ids"),
    ({"remove": {"id": 1}}, 400, "must be a list"),
    ({"add": [], "replace": []}, 400, "Unknown fields: replace"),
    ({"add": ["f" * 32]}, 404, "no image"),
    ({"add": ["../../index.json"]}, 404, "no image"),
    ({"before": None}, 400, "Send “add”"),
    ({"add": [], "before": "{first}"}, 400, "send “move” too"),
    ({"move": ["f" * 32]}, 400, "not in it"),
    ({"move": ["{first}"], "before": "f" * 32}, 400, "“before” must be"),
    ({"move": ["{first}"], "before": "{first}"}, 400, "“before” must be"),
    ({"move": ["{first}"], "before": 3}, 400, "“before” must be"),
    ({"add": ["{first}"] * (MAX_IDS_PER_CALL + 1)}, 413, f"at most {MAX_IDS_PER_CALL}"),
]


def test_changing_images_refuses_bad_input(uploader, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    first = upload(runtime, 1)["id"]
    call(uploader, "POST", f"{path}/images", json={"add": [first]})
    before = call(uploader, "GET", path).json()
    for body, status, words in BAD_CHANGES_OF_IMAGES:
        sent = json.loads(json.dumps(body).replace("{first}", first))
        message = error(call(uploader, "POST", f"{path}/images", json=sent), status)
        assert words in message, (body, message)
    assert call(uploader, "GET", path).json() == before


def test_ten_thousand_ids_in_one_call_are_413_with_a_message(uploader, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    ids = [f"{n:032x}" for n in range(10_000)]
    for field in ("add", "remove", "move"):
        response = call(uploader, "POST", f"{path}/images", json={field: ids})
        message = error(response, 413, "too_large")
        assert "10000 were sent" in message and "split them" in message
    assert call(uploader, "GET", path).json()["image_count"] == 0


def test_malformed_json_is_400(uploader):
    album = new_album(uploader)
    for method, path in [("PATCH", f"/api/v1/albums/{album['id']}"),
                         ("POST", f"/api/v1/albums/{album['id']}/images"),
                         ("POST", f"/api/v1/albums/{album['id']}/links")]:
        for raw in (b"{oops", b"", b"\xff\xfe", b"[1, 2]", b'"text"'):
            response = call(uploader, method, path, data=raw,
                            headers={"Content-Type": "application/json"})
            assert error(response, 400, "bad_request")


# --- share links -----------------------------------------------------------------------------


def test_a_link_is_created_listed_and_revoked(uploader, admin, runtime):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}"
    response = call(uploader, "POST", f"{path}/links",
                    json={"password": "open sesame", "expires_at": "2099-01-31T18:00:00+01:00",
                          "allow_download": True, "show_details": True,
                          "label": "  For   the family "})
    assert response.status_code == 201, response.text
    link = response.json()
    assert set(link) == LINK_FIELDS
    assert link["url"].startswith("/s/") and len(link["url"]) > 40
    assert (link["has_password"], link["allow_download"], link["show_details"]) == (
        True, True, True)
    assert (link["expires_at"], link["label"], link["album"]) == (
        "2099-01-31T17:00:00.000Z", "For the family", album["id"])
    assert (link["created_by"], link["state"], link["revoked_at"]) == (UPLOADER[0], "open", None)
    assert (link["views"], link["last_used_at"]) == (0, None)
    assert "open sesame" not in response.text and "password_hash" not in response.text
    assert response.headers["Location"].endswith(f"/api/v1/links/{link['id']}")
    assert call(uploader, "GET", response.headers["Location"]).json() == link

    plain = call(uploader, "POST", f"{path}/links", json={}).json()
    assert (plain["has_password"], plain["allow_download"], plain["show_details"],
            plain["expires_at"], plain["label"]) == (False, False, False, None, "")
    assert plain["url"] != link["url"]

    stored = runtime.links.get(plain["id"])
    runtime.links.note_view(stored)
    listed = call(uploader, "GET", f"{path}/links").json()
    assert set(listed) == {"links"}
    assert [k["id"] for k in listed["links"]] == newest_first(plain, link)
    by_id = {k["id"]: k for k in listed["links"]}
    assert by_id[plain["id"]]["views"] == 1 and by_id[plain["id"]]["last_used_at"]
    assert by_id[link["id"]] == link

    assert call(uploader, "GET", plain["url"]).status_code == 200  # the share page opens
    assert call(uploader, "DELETE", f"/api/v1/links/{plain['id']}").status_code == 204
    assert call(uploader, "DELETE", f"/api/v1/links/{plain['id']}").status_code == 204  # again
    revoked = call(uploader, "GET", f"/api/v1/links/{plain['id']}").json()
    assert revoked["state"] == "revoked" and revoked["revoked_at"]
    assert call(uploader, "GET", plain["url"]).status_code in (404, 410)

    everything = call(admin, "GET", "/api/v1/links").json()["links"]
    assert {k["id"] for k in everything} == {plain["id"], link["id"]}


def test_every_link_is_listed_for_admins_only(uploader, admin):
    mine = new_album(uploader)
    theirs = new_album(admin)
    a = call(uploader, "POST", f"/api/v1/albums/{mine['id']}/links", json={}).json()
    b = call(admin, "POST", f"/api/v1/albums/{theirs['id']}/links", json={"label": "x"}).json()
    listed = call(admin, "GET", "/api/v1/links").json()["links"]
    assert [k["id"] for k in listed] == newest_first(a, b)
    assert "admins" in error(call(uploader, "GET", "/api/v1/links"), 403, "forbidden")

    error(call(uploader, "GET", f"/api/v1/links/{b['id']}"), 403, "forbidden")
    error(call(uploader, "DELETE", f"/api/v1/links/{b['id']}"), 403, "forbidden")
    assert call(admin, "GET", f"/api/v1/links/{b['id']}").json()["state"] == "open"
    assert call(admin, "DELETE", f"/api/v1/links/{a['id']}").status_code == 204  # any link


BAD_LINKS = [
    ({"expires_at": "2001-01-01T00:00:00Z"}, "in the past"),
    ({"expires_at": "next tuesday"}, "ISO 8601"),
    ({"expires_at": 1700000000}, "ISO 8601"),
    ({"allow_download": "yes"}, "true or false"),
    ({"show_details": 1}, "true or false"),
    ({"password": 1234}, "must be text"),
    ({"password": "p" * 2000}, "longer than"),
    ({"label": "l" * 500}, "at most"),
    ({"label": ["x"]}, "label"),
    ({"token": "mine"}, "Unknown fields: token"),
    ([], "JSON object"),
]


def test_link_creation_refuses_bad_input(uploader):
    album = new_album(uploader)
    path = f"/api/v1/albums/{album['id']}/links"
    for body, words in BAD_LINKS:
        message = error(call(uploader, "POST", path, json=body), 400, "bad_request")
        assert words in message, (body, message)
    assert call(uploader, "GET", path).json() == {"links": []}
    a_day = call(uploader, "POST", path, json={"expires_at": "2099-12-31"}).json()
    assert a_day["expires_at"] == "2099-12-31T23:59:59.000Z"  # works through that day


@pytest.mark.parametrize("settings", [{"base_url": "https://photos.example.com"}])
def test_urls_are_absolute_from_the_base_url(uploader, runtime):
    album = new_album(uploader, visibility="public")
    image = upload(runtime, 1)
    body = call(uploader, "POST", f"/api/v1/albums/{album['id']}/images",
                json={"add": [image["id"]]}).json()
    assert body["urls"] == {
        "page": f"https://photos.example.com/albums/{album['id']}",
        "cover": f"https://photos.example.com/media/{image['id']}/md"}
    link = call(uploader, "POST", f"/api/v1/albums/{album['id']}/links", json={})
    assert link.json()["url"].startswith("https://photos.example.com/s/")
    assert link.headers["Location"].startswith("https://photos.example.com/api/v1/links/")
    images = call(uploader, "GET", f"/api/v1/albums/{album['id']}/images").json()["images"]
    assert images[0]["urls"]["original"] == f"https://photos.example.com/media/{image['id']}"
