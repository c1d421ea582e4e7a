"""Album pages over real HTTP: the list, an album's page, who sees what, every way images go
in and out, the order, covers, Open Graph tags and the album's zip."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pytest

from gallery.images.results import Actor
from tests.web.admin.forms import csrf_of
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png

ADA = Actor("ada", is_admin=True)
BOB = Actor("bob", is_admin=False)
BASE = "https://photos.example.com"

TILE = re.compile(r'<a class="tile" href="/images/([0-9a-f]{32})"')
CARD = re.compile(r'<a class="album-link" href="/albums/([0-9a-f]{32})"')


@pytest.fixture
def photos(runtime, users):
    """``photos(n, by="ada")``: n new images (oldest first), as upload made them."""
    counter = iter(range(10_000))

    def make(n: int, by: str = "ada") -> list[dict]:
        return [runtime.images.upload(distinct_png(next(counter)), f"photo {k}.png",
                                      uploaded_by=by).image for k in range(n)]

    return make


@pytest.fixture
def make_album(runtime, users):
    """``make_album(title, visibility, owner, images)``: an album made through the domain."""

    def make(title: str = "Trip", visibility: str = "public", owner: Actor = ADA,
             images: list[dict] = (), sort: str = "manual", description: str = ""):
        album = runtime.albums.create(title=title, visibility=visibility, sort=sort,
                                      description=description, actor=owner)
        if images:
            album = runtime.albums.change_images(album.id, add=[i["id"] for i in images],
                                                 actor=owner)
        return album

    return make


def tiles(html: str) -> list[str]:
    return TILE.findall(html)


def cards(html: str) -> list[str]:
    return CARD.findall(html)


def og(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in
            re.findall(r'<meta property="(og:[a-z:_]+)" content="([^"]*)">', html)}


def follow(client, response):
    """The page a form's redirect leads to (where its notice shows)."""
    assert response.status_code == 302, response.text[:500]
    return client.get(response.headers["Location"])


def post(client, path: str, data: dict, *, page: str = "/albums", **kwargs):
    """A form POST with the CSRF token of ``page`` (every form of a session shares one)."""
    return client.post_form(path, data, form_page=page, **kwargs)


def send_json(client, path: str, body, **headers):
    """A JSON POST as the pages' scripts send it: X-CSRFToken, and JSON wanted back."""
    return client.api("POST", path, json=body, headers={"Accept": "application/json", **headers})


def stored_order(runtime, album_id: str) -> list[str]:
    return runtime.albums.get(album_id).image_ids


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_each_album_with_cover_count_dates_and_a_badge_for_managers(
        admin, anonymous, photos, make_album):
    made = photos(3)
    trip = make_album("Summer trip", "public", images=made)
    make_album("Empty one", "private")
    page = admin.get("/albums")
    assert page.status_code == 200
    text = page.text
    assert "Summer trip" in text and "Empty one" in text
    assert len(cards(text)) == 2 and trip.id in cards(text)
    assert "3 images" in text and "0 images" in text
    created = made[0]["created_at"]
    assert f"{int(created[8:10])} " in text and created[:4] in text  # "2 Dec 2026"
    assert f'src="/media/{made[0]["id"]}/md"' in text  # the first image is the cover
    assert "No images yet" in text  # the empty album's tile
    assert '<span class="badge visibility public">Public</span>' in text
    assert '<span class="badge visibility private">Private</span>' in text

    visitor = anonymous.get("/albums").text
    assert cards(visitor) == [trip.id]
    assert "Summer trip" in visitor and "badge" not in visitor
    assert "New album" not in visitor


def test_an_empty_list_says_so(admin, anonymous, users):
    assert "No albums yet." in anonymous.get("/albums").text
    page = admin.get("/albums").text
    assert "No albums yet." in page and "New album" in page
    assert 'action="/albums"' in page


def test_new_album_form_creates_and_opens_the_album(admin, runtime):
    response = post(admin, "/albums", {"title": "  Winter   walks ", "description": "Snow",
                                       "visibility": "unlisted", "sort": "uploaded_desc"})
    album_id = response.headers["Location"].rsplit("/", 1)[1]
    page = follow(admin, response)
    assert page.status_code == 200
    assert "<h1 id=\"album-title\">Winter walks</h1>" in page.text
    assert "Created the album “Winter walks”" in page.text
    assert "This album is empty." in page.text
    album = runtime.albums.get(album_id)
    assert (album.owner, album.visibility, album.sort, album.description) == (
        "ada", "unlisted", "uploaded_desc", "Snow")
    assert [e.action for e in runtime.audit.latest(5)][0] == "album.create"


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "x" * 10_000}, "The album title is longer than 200 characters."),
    ({"title": "   "}, "Give the album a title."),
    ({"title": "Fine", "visibility": "everyone"}, "The visibility must be"),
    ({"title": "Fine", "sort": "random"}, "The sort must be one of"),
])
def test_a_refused_new_album_says_why_and_keeps_what_was_typed(admin, runtime, fields, message):
    response = post(admin, "/albums", {"description": "Kept description", **fields})
    assert response.status_code == 400
    assert message in unescape(response.text)
    assert "Kept description" in response.text  # nothing typed is lost
    assert '<details class="new-album" open>' in response.text
    assert runtime.albums.all() == []


def test_visitors_cannot_make_albums(anonymous, runtime, users):
    token = anonymous.csrf("/login")
    response = anonymous.request("POST", "/albums", data={"csrf_token": token, "title": "Mine"})
    assert response.status_code == 401
    assert runtime.albums.all() == []


# --- who sees what --------------------------------------------------------------------------


def test_visibility_in_a_public_gallery(admin, uploader, anonymous, photos, make_album):
    pictures = photos(1)
    public = make_album("Open", "public", images=pictures)
    unlisted = make_album("By link", "unlisted", images=pictures)
    private = make_album("Ours", "private", images=pictures)

    assert anonymous.get(f"/albums/{public.id}").status_code == 200
    assert "noindex" not in anonymous.get(f"/albums/{public.id}").text
    by_link = anonymous.get(f"/albums/{unlisted.id}")
    assert by_link.status_code == 200  # its address is enough
    assert '<meta name="robots" content="noindex">' in by_link.text  # but search engines skip it
    assert anonymous.get(f"/albums/{private.id}").status_code == 404
    assert cards(anonymous.get("/albums").text) == [public.id]

    # Another signed-in user sees private albums but not unlisted ones in the list.
    assert set(cards(uploader.get("/albums").text)) == {public.id, private.id}
    page = uploader.get(f"/albums/{private.id}").text
    assert "Edit album" not in page and "Download" not in page and "Delete…" not in page
    # The owner (and admins) see every album, unlisted included, with their controls.
    assert set(cards(admin.get("/albums").text)) == {public.id, unlisted.id, private.id}
    page = admin.get(f"/albums/{private.id}").text
    for control in ("Edit album", "Download", "Share", "Delete…", "Select", "Upload"):
        assert control in page
    assert f'href="/albums/{private.id}/links"' in page

    # The image page names only the albums a visitor could find.
    image_page = anonymous.get(f"/images/{pictures[0]['id']}").text
    assert f'href="/albums/{public.id}"' in image_page
    assert f"/albums/{unlisted.id}" not in image_page and f"/albums/{private.id}" not in image_page


@pytest.mark.parametrize("settings", [{"visibility": "private"}])
def test_a_private_gallery_shows_no_album_to_visitors(admin, anonymous, photos, make_album):
    album = make_album("Open", "public", images=photos(1))
    for path in ("/albums", f"/albums/{album.id}", f"/albums/{album.id}/download"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert ">Albums</a>" not in anonymous.get("/login").text
    assert cards(admin.get("/albums").text) == [album.id]


def test_the_nav_links_to_albums_for_those_who_may_browse(admin, anonymous, users):
    assert '<a href="/albums">Albums</a>' in anonymous.get("/").text
    assert '<a href="/albums" aria-current="page">Albums</a>' in admin.get("/albums").text


def test_unknown_albums_and_pages_are_404(anonymous, admin, photos, make_album):
    album = make_album("Two", images=photos(2))
    for path in ("/albums/" + "0" * 32, "/albums/not-an-id", f"/albums/{album.id}?page=2",
                 "/albums/" + "0" * 32 + "/edit"):
        assert anonymous.get(path).status_code in (404, 405), path
    assert anonymous.get(f"/albums/{album.id}?page=x").status_code == 400
    token = admin.csrf("/albums")
    for path in ("/albums/" + "0" * 32 + "/edit", "/albums/" + "0" * 32 + "/delete"):
        response = admin.request("POST", path, data={"csrf_token": token, "title": "x"})
        assert response.status_code == 404, path


# --- one album's page -----------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_the_album_page_is_a_grid_in_album_order_with_pages_and_a_lightbox(
        anonymous, photos, make_album, runtime):
    made = photos(5)
    others = photos(2)  # in the gallery, not in the album
    album = make_album("Five", images=[made[4], made[0], made[2], made[1], made[3]])
    first = anonymous.get(f"/albums/{album.id}").text
    assert tiles(first) == [made[4]["id"], made[0]["id"]]
    assert 'id="lightbox"' in first and "/static/grid.js" in first
    assert 'data-page="1" data-pages="3"' in first and 'data-total="5" data-offset="0"' in first
    assert f'<a rel="next" href="/albums/{album.id}?page=2">' in first
    assert "5 images" in first
    assert not re.search(r"\bada\b", first)  # visitors never see a username (ids are hex)
    assert "albums.js" not in first and "select-form" not in first  # nothing to manage
    second = anonymous.get(f"/albums/{album.id}?page=2").text
    assert tiles(second) == [made[2]["id"], made[1]["id"]]
    assert 'data-offset="2"' in second
    assert f'<a rel="prev" href="/albums/{album.id}?page=1">' in second
    last = anonymous.get(f"/albums/{album.id}?page=3").text
    assert tiles(last) == [made[3]["id"]] and 'rel="next"' not in last
    assert not set(tiles(first + second + last)) & {o["id"] for o in others}


def test_the_sort_chosen_orders_the_page(admin, photos, make_album, runtime):
    made = photos(3)
    album = make_album("Sorted", images=[made[1], made[2], made[0]], sort="uploaded_desc")
    assert tiles(admin.get(f"/albums/{album.id}").text) == [m["id"] for m in made[::-1]]
    page = admin.get(f"/albums/{album.id}").text
    assert "set the order to “Custom order” under Edit album" in page
    assert "data-reorder" not in page


def test_managers_edit_title_description_visibility_and_sort(admin, runtime, photos, make_album):
    album = make_album("Old", "private", images=photos(1))
    path = f"/albums/{album.id}"
    response = post(admin, f"{path}/edit", {"title": "New <title>", "description": "Line 1\nLine 2",
                                            "visibility": "unlisted", "sort": "title_asc"}, page=path)
    page = follow(admin, response).text
    assert "Saved." in page
    assert '<h1 id="album-title">New &lt;title&gt;</h1>' in page
    assert "Line 1\nLine 2" in page
    assert '<span class="badge visibility unlisted" id="album-visibility">Unlisted</span>' in page
    assert '<option value="title_asc" selected>' in page
    changed = runtime.albums.get(album.id)
    assert (changed.title, changed.visibility, changed.sort) == ("New <title>", "unlisted", "title_asc")

    # Only the fields sent change; the page's script gets JSON back.
    token = csrf_of(page)
    answer = admin.request("POST", f"{path}/edit", data={"csrf_token": token, "title": "Newer"},
                           headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json()["album"]["title"] == "Newer"
    assert answer.json()["album"]["visibility"] == "unlisted"


def test_a_refused_edit_says_why_and_keeps_the_text(admin, runtime, make_album):
    album = make_album("Keep me")
    path = f"/albums/{album.id}"
    response = post(admin, f"{path}/edit", {"title": "x" * 10_000, "description": "typed"}, page=path)
    assert response.status_code == 400
    assert "The album title is longer than 200 characters." in response.text
    assert ">typed</textarea>" in response.text
    assert '<details class="album-edit album-panel" open>' in response.text
    assert runtime.albums.get(album.id).title == "Keep me"
    answer = admin.request("POST", f"{path}/edit", data={"csrf_token": csrf_of(response.text),
                           "title": ""}, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Give the album a title."


def test_only_owners_and_admins_change_an_album(uploader, admin, runtime, photos, make_album):
    pictures = photos(2)
    album = make_album("Ada's", "public", images=pictures)
    path = f"/albums/{album.id}"
    token = uploader.csrf("/albums")
    for action, data in ((f"{path}/edit", {"title": "Mine"}), (f"{path}/cover", {"cover": ""}),
                         (f"{path}/delete", {}),
                         ("/albums/images", {"album": album.id, "ids": pictures[0]["id"],
                                             "action": "remove"})):
        response = uploader.request("POST", action, data={"csrf_token": token, **data})
        assert response.status_code == 403, action
        assert "Only the album's owner, or an admin, may change it." in unescape(response.text)
    assert uploader.get(f"{path}/delete").status_code == 403
    assert runtime.albums.get(album.id).title == "Ada's"
    # An admin changes anybody's album.
    bobs = make_album("Bob's", "private", owner=BOB)
    response = post(admin, f"/albums/{bobs.id}/edit", {"title": "Curated"}, page="/albums")
    assert response.status_code == 302
    assert runtime.albums.get(bobs.id).title == "Curated"


def test_covers_are_chosen_from_the_albums_images(admin, runtime, photos, make_album):
    made = photos(3)
    outsider = photos(1)[0]
    album = make_album("Covers", images=made)
    path = f"/albums/{album.id}"
    page = admin.get(path).text
    assert page.count('<span class="tile-badge">Cover</span>') == 1
    response = post(admin, f"{path}/cover", {"ids": made[2]["id"], "back": path}, page=path)
    page = follow(admin, response).text
    assert "Cover changed." in page
    assert f'Chosen by hand: “{made[2]["title"] or "photo 2"}”' in unescape(page)
    assert runtime.albums.get(album.id).cover == made[2]["id"]
    assert f'src="/media/{made[2]["id"]}/md"' in admin.get("/albums").text

    for data, status, message in (
            ({"ids": [made[0]["id"], made[1]["id"]]}, 400, "Select exactly one image"),
            ({"ids": outsider["id"]}, 400, "The cover must be one of the album's images."),
            ({"cover": outsider["id"]}, 400, "The cover must be one of the album's images.")):
        response = post(admin, f"{path}/cover", data, page=path)
        assert response.status_code == status and message in unescape(response.text)
    follow(admin, post(admin, f"{path}/cover", {"cover": ""}, page=path))
    assert runtime.albums.get(album.id).cover is None
    assert runtime.albums.get(album.id).cover_id == made[0]["id"]


def test_deleting_an_album_asks_first_and_keeps_its_images(admin, anonymous, runtime, photos,
                                                          make_album):
    pictures = photos(2)
    album = make_album("Going", images=pictures)
    path = f"/albums/{album.id}"
    link = runtime.links.create(album.id, actor=Actor(ADMIN[0], is_admin=True))
    confirm = admin.get(f"{path}/delete")
    assert confirm.status_code == 200
    assert "Delete the album “Going”?" in confirm.text and "2 images" in confirm.text
    assert "stay in the gallery" in confirm.text
    assert runtime.albums.get(album.id)  # asking changed nothing
    response = post(admin, f"{path}/delete", {}, page=f"{path}/delete")
    assert response.headers["Location"].endswith("/albums")
    assert "Deleted the album “Going”; its images stay in the gallery." in follow(admin, response).text
    assert anonymous.get(path).status_code == 404
    for picture in pictures:
        assert anonymous.get(f"/images/{picture['id']}").status_code == 200
    assert runtime.audit.latest(1)[0].action == "album.delete"
    assert runtime.links.get(link.id).revoked_at is not None  # its links are closed for good
    assert anonymous.get(f"/s/{link.token}").status_code == 410
    assert anonymous.get(f"{path}/delete").status_code == 302  # to sign in


# --- the order ------------------------------------------------------------------------------


def test_the_order_route_moves_images(admin, runtime, photos, make_album):
    a, b, c, d = photos(4)
    album = make_album("Order", images=[a, b, c, d])
    route = f"/albums/{album.id}/order"
    ids = lambda *images: [i["id"] for i in images]  # noqa: E731

    response = send_json(admin, route, {"move": [d["id"]], "before": b["id"]})
    assert response.status_code == 200
    assert response.json()["ids"] == ids(a, d, b, c)
    assert send_json(admin, route, {"move": [a["id"]], "before": None}).json()["ids"] == \
        ids(d, b, c, a)
    assert send_json(admin, route, {"move": [d["id"]], "after": c["id"]}).json()["ids"] == \
        ids(b, c, d, a)
    assert send_json(admin, route, {"move": [a["id"]], "direction": "first"}).json()[
        "ids"] == ids(a, b, c, d)
    assert stored_order(runtime, album.id) == ids(a, b, c, d)
    assert tiles(admin.get(f"/albums/{album.id}").text) == ids(a, b, c, d)

    # The select mode's buttons, without a script: a form and a redirect back to select mode.
    path = f"/albums/{album.id}"
    response = post(admin, route, {"ids": [c["id"], d["id"]], "direction": "earlier"}, page=path)
    assert response.headers["Location"] == f"/albums/{album.id}?select=1"
    assert stored_order(runtime, album.id) == ids(a, c, d, b)
    post(admin, route, {"ids": [a["id"]], "direction": "later", "back": path}, page=path)
    assert stored_order(runtime, album.id) == ids(c, a, d, b)
    post(admin, route, {"ids": [b["id"]], "direction": "later"}, page=path)  # already last
    assert stored_order(runtime, album.id) == ids(c, a, d, b)
    assert runtime.audit.latest(1)[0].action == "album.reorder"


def test_the_order_route_refuses_what_it_cannot_do(admin, uploader, runtime, photos, make_album):
    a, b = photos(2)
    outsider = photos(1)[0]
    album = make_album("Order", images=[a, b])
    route = f"/albums/{album.id}/order"
    for body, status, message in (
            ({"move": [outsider["id"]]}, 404, "That image is not in this album."),
            ({"move": [a["id"]], "before": outsider["id"]}, 400, "Move images next to another"),
            ({"move": [a["id"]], "before": a["id"]}, 400, "Move images next to another"),
            ({"move": []}, 400, "Select the images to move first."),
            ({"move": "abc"}, 400, "must be a list of image ids"),
            ({"move": [a["id"]], "direction": "sideways"}, 400, "“direction” must be"),
            ({"move": [a["id"]] * 1001}, 413, "Send at most 1000 image ids at a time"),
            ([1, 2], 400, "Send a JSON object")):
        response = send_json(admin, route, body)
        assert response.status_code == status, body
        assert message in response.json()["error"]["message"]
    no_token = admin.request("POST", route, json={"move": [a["id"]]},
                             headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and no_token.json()["error"]["code"] == "csrf_failed"
    assert send_json(uploader, route, {"move": [a["id"]]}).status_code == 403
    runtime.albums.update(album.id, {"sort": "title_asc"}, actor=ADA)
    refused = send_json(admin, route, {"move": [b["id"]], "before": a["id"]})
    assert refused.status_code == 400
    assert "choose “Custom order” to arrange its images by hand" in refused.json()["error"]["message"]
    assert stored_order(runtime, album.id) == [a["id"], b["id"]]


# --- putting images in and taking them out --------------------------------------------------


def test_the_grid_select_mode_adds_images_to_an_album(uploader, admin, runtime, photos, make_album):
    made = photos(3)
    mine = make_album("Bob's", "private", owner=BOB)
    theirs = make_album("Ada's", "private")
    plain = uploader.get("/").text
    assert 'data-select-toggle>Select</a>' in plain and 'id="select-form"' in plain
    assert re.search(r'<form id="select-form"[^>]*\shidden>', plain)  # until Select is chosen
    page = uploader.get("/?select=1").text
    assert '<ul class="grid selecting" id="grid"' in page
    assert page.count('name="ids"') == 3
    assert f'<option value="{mine.id}">Bob&#39;s</option>' in page
    assert theirs.id not in page  # only albums Bob may change

    response = post(uploader, "/albums/images", {"album": mine.id, "action": "add",
                                                 "ids": [made[2]["id"], made[0]["id"]], "back": "/"},
                    page="/?select=1")
    assert response.headers["Location"] == "/"
    assert "Added 2 images to “Bob&#39;s”." in follow(uploader, response).text
    assert stored_order(runtime, mine.id) == [made[2]["id"], made[0]["id"]]
    again = post(uploader, "/albums/images", {"album": mine.id, "ids": [made[0]["id"],
                                              made[1]["id"]]}, page="/")
    assert "Added 1 image to “Bob&#39;s”. 1 image was in it already." in follow(uploader, again).text

    # JSON for the page's script.
    answer = send_json(uploader, "/albums/images", {"album": mine.id, "action": "remove",
                                                    "ids": [made[2]["id"]]})
    assert answer.status_code == 200
    assert answer.json()["album"]["image_count"] == 2
    assert answer.json()["message"].startswith("Removed 1 image from “Bob's”")


def test_adding_refuses_bad_choices_with_a_message(uploader, runtime, photos, make_album):
    made = photos(1)
    mine = make_album("Bob's", "private", owner=BOB)
    theirs = make_album("Ada's", "public")
    for data, status, message in (
            ({"ids": made[0]["id"]}, 400, "Choose an album first."),
            ({"album": mine.id}, 400, "Select at least one image first."),
            ({"album": mine.id, "ids": "0" * 32}, 404, "There is no image"),
            ({"album": mine.id, "ids": "not-an-id"}, 404, "There is no image"),
            ({"album": "0" * 32, "ids": made[0]["id"]}, 404, "There is no such album."),
            ({"album": theirs.id, "ids": made[0]["id"]}, 403, "Only the album's owner"),
            ({"album": mine.id, "ids": made[0]["id"], "action": "steal"}, 400, "The action must be"),
            ({"album": mine.id, "ids": [made[0]["id"]] * 1001}, 413,
             "Send at most 1000 image ids at a time (1001 were sent)")):
        response = post(uploader, "/albums/images", data, page="/")
        assert response.status_code == status, data
        assert message in unescape(response.text), data
    assert runtime.albums.get(mine.id).count == 0


def test_the_album_page_removes_selected_images(admin, runtime, photos, make_album):
    made = photos(3)
    album = make_album("Three", images=made)
    path = f"/albums/{album.id}"
    page = admin.get(f"{path}?select=1").text
    assert "Remove from album" in page and "Make cover" in page and "Move earlier" in page
    assert f'<input type="hidden" name="back" value="{path}?select=1">' in page
    response = post(admin, "/albums/images", {"album": album.id, "action": "remove",
                                              "ids": [made[0]["id"], made[2]["id"]],
                                              "back": f"{path}?select=1"}, page=path)
    page = follow(admin, response).text
    assert "Removed 2 images from “Three”; they stay in the gallery." in page
    assert tiles(page) == [made[1]["id"]] and "1 image" in page
    assert runtime.images.get(made[0]["id"])["id"] == made[0]["id"]


def test_the_image_page_lists_its_albums_and_adds_and_removes(uploader, admin, runtime, photos,
                                                              make_album):
    image = photos(1)[0]
    holding = make_album("Holding", "public", images=[image])
    other = make_album("Other", "private")
    bobs = make_album("Bob's", "public", owner=BOB, images=[image])
    path = f"/images/{image['id']}"
    page = admin.get(path).text
    assert f'href="/albums/{holding.id}">Holding</a>' in page
    assert f'href="/albums/{bobs.id}">Bob&#39;s</a>' in page
    assert page.count(">Remove</button>") == 2  # an admin manages both
    add_form = page.split('class="add-to-album"')[1].split("</form>")[0]
    assert f'<option value="{other.id}">Other</option>' in add_form
    assert holding.id not in add_form  # already there

    # Bob may take it out of his album only.
    bob_page = uploader.get(path).text
    assert bob_page.count(">Remove</button>") == 1
    assert 'aria-label="Remove from “Bob&#39;s”"' in bob_page

    response = post(admin, "/albums/images", {"album": other.id, "ids": image["id"],
                                              "action": "add", "back": path}, page=path)
    assert response.headers["Location"] == path
    page = follow(admin, response).text
    assert "Added 1 image to “Other”." in page
    assert f'href="/albums/{other.id}">Other</a>' in page
    response = post(admin, "/albums/images", {"album": holding.id, "ids": image["id"],
                                              "action": "remove", "back": path}, page=path)
    assert "Removed 1 image from “Holding”" in follow(admin, response).text
    assert not runtime.albums.get(holding.id).has(image["id"])


def upload_files(client, files, **fields):
    return client.post_form("/upload", fields, files=[
        ("images", (name, data, "application/octet-stream")) for name, data in files])


def test_uploads_go_into_the_album_chosen(uploader, runtime, photos, make_album):
    earlier = photos(1, by="bob")[0]
    mine = make_album("Bob's", "private", owner=BOB)
    theirs = make_album("Ada's", "private")
    form = uploader.get(f"/upload?album={mine.id}").text
    assert '<label for="upload-album">Add to album</label>' in form
    assert f'<option value="{mine.id}" selected>' in form
    assert theirs.id not in form
    assert 'data-album-api="/albums/images"' in form

    again = runtime.storage.get(runtime.keys.original(earlier["id"]))
    response = upload_files(uploader, [("new.png", distinct_png(900)), ("again.png", again)],
                            album=mine.id)
    assert response.status_code == 200
    assert "Added 2 images to “Bob&#39;s”." in response.text  # the duplicate too
    assert f'href="/albums/{mine.id}">Open “Bob&#39;s”</a>' in response.text
    stored = stored_order(runtime, mine.id)
    assert len(stored) == 2 and earlier["id"] in stored

    before = runtime.images.page(1, 100).total
    refused = upload_files(uploader, [("x.png", distinct_png(901))], album=theirs.id)
    assert refused.status_code == 403
    assert runtime.images.page(1, 100).total == before  # nothing stored
    plain = upload_files(uploader, [("y.png", distinct_png(902))], album="")
    assert plain.status_code == 200 and "Added" not in plain.text


def test_the_admin_table_adds_and_removes_many(admin, runtime, photos, make_album):
    made = photos(3)
    album = make_album("Bulk", "private", owner=BOB)
    page = admin.get("/admin/images").text
    assert 'action="/admin/images/bulk"' in page
    assert f'<option value="{album.id}">Bulk</option>' in page
    for label in ("Delete selected…", "Add to album", "Remove from album"):
        assert label in page
    back = "/admin/images?sort=name"
    response = post(admin, "/admin/images/bulk", {"action": "add", "album": album.id,
                                                  "ids": [m["id"] for m in made], "back": back},
                    page="/admin/images")
    assert response.headers["Location"] == back
    assert "Added 3 images to “Bulk”." in follow(admin, response).text
    response = post(admin, "/admin/images/bulk", {"action": "remove", "album": album.id,
                                                  "ids": [made[1]["id"]]}, page="/admin/images")
    assert "Removed 1 image from “Bulk”" in follow(admin, response).text
    assert stored_order(runtime, album.id) == [made[0]["id"], made[2]["id"]]
    too_many = post(admin, "/admin/images/bulk", {"action": "add", "album": album.id,
                                                  "ids": [made[0]["id"]] * 1001}, page="/admin/images")
    assert too_many.status_code == 413 and "Send at most 1000 image ids" in too_many.text

    # "Delete selected…" still asks first, and deletes nothing by itself.
    confirm = post(admin, "/admin/images/bulk", {"action": "delete", "ids": [made[0]["id"]]},
                   page="/admin/images")
    assert confirm.status_code == 200 and "Delete 1 image?" in confirm.text
    assert runtime.images.get(made[0]["id"])


# --- Open Graph -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"base_url": BASE}])
def test_open_graph_tags_with_a_base_url(admin, anonymous, photos, make_album):
    made = photos(2)
    public = make_album("Open <air>", "public", images=made, description="Sun\nand sea")
    tags = og(anonymous.get(f"/albums/{public.id}").text)
    assert tags["og:type"] == "website"
    assert tags["og:title"] == "Open <air>"
    assert tags["og:description"] == "Sun and sea"
    assert tags["og:url"] == f"{BASE}/albums/{public.id}"
    assert tags["og:image"] == f"{BASE}/media/{made[0]['id']}/lg"
    assert anonymous.get(tags["og:image"].removeprefix(BASE)).status_code == 200  # loads signed out

    unlisted = make_album("By link", "unlisted", images=made)
    assert og(anonymous.get(f"/albums/{unlisted.id}").text)["og:image"].startswith(BASE + "/media/")
    private = make_album("Ours", "private", images=made)
    tags = og(admin.get(f"/albums/{private.id}").text)
    assert "og:image" not in tags and tags["og:url"] == f"{BASE}/albums/{private.id}"
    empty = make_album("Nothing", "public")
    tags = og(anonymous.get(f"/albums/{empty.id}").text)
    assert "og:image" not in tags and tags["og:description"] == "0 images"


def test_open_graph_without_a_base_url_has_no_absolute_urls(anonymous, photos, make_album):
    album = make_album("Open", "public", images=photos(1))
    response = anonymous.get(f"/albums/{album.id}", headers={"Host": "evil.example"})
    tags = og(response.text)
    assert tags["og:title"] == "Open" and tags["og:description"] == "1 image"
    assert "og:url" not in tags and "og:image" not in tags
    assert "evil.example" not in response.text


@pytest.mark.parametrize("settings", [{"base_url": BASE, "visibility": "private"}])
def test_open_graph_in_a_private_gallery_has_no_image(admin, photos, make_album):
    album = make_album("Open", "public", images=photos(1))
    tags = og(admin.get(f"/albums/{album.id}").text)
    assert tags["og:url"] == f"{BASE}/albums/{album.id}" and "og:image" not in tags


# --- the zip --------------------------------------------------------------------------------


def test_managers_download_the_album_as_a_zip(admin, uploader, anonymous, photos, make_album):
    made = photos(3)
    album = make_album("Zip me", "public", images=[made[2], made[0], made[1]])
    response = admin.get(f"/albums/{album.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert 'filename="Zip me.zip"' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == ["photo 2.png", "photo 0.png", "photo 1.png"]  # the album's order
        for name, image in zip(names, (made[2], made[0], made[1]), strict=True):
            assert archive.read(name) == anonymous.get(f"/media/{image['id']}").content
    assert uploader.get(f"/albums/{album.id}/download").status_code == 403
    assert anonymous.get(f"/albums/{album.id}/download").status_code == 401
    assert 'href="/albums/' + album.id + '/download"' not in anonymous.get(f"/albums/{album.id}").text


@pytest.mark.parametrize("back", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_forms_go_back_only_to_pages_of_this_site(admin, photos, make_album, back):
    album = make_album("Safe", images=photos(1))
    response = post(admin, f"/albums/{album.id}/cover", {"cover": "", "back": back})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/albums/{album.id}"
