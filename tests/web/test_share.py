"""Share links over real HTTP: what a link's holder sees and fetches, before and after its
password, what it never opens, revoking and expiry on every instance, Open Graph tags,
and the link managers' pages. Every test runs on both backends, in a public and a
private gallery."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import timedelta
from html import unescape

import pytest

from gallery.clock import format_timestamp, utcnow
from gallery.images.results import Actor
from gallery.storage.local import FileStorage
from tests.web.conftest import ADMIN, UPLOADER
from tests.web.harness import Client, build_app, serve
from tests.web.images import distinct_png

BASE = "https://photos.example.com"
OWNER = Actor(ADMIN[0], is_admin=True)
PASSWORD = "open sesame 42"
#: Wrong passwords let through before the throttle answers 429 (``login_attempts``).
ATTEMPTS = 3
#: How long a revoke or an expiry may take to reach every instance (the contract's bound).
CLOSES_WITHIN = 5.0

META = re.compile(r'<meta property="(og:[a-z:_]+)" content="([^"]*)">')
MEDIA_SRC = re.compile(r'(?:src|data-lg|data-original)="(/[^"]+)"')


def gallery(visibility: str) -> dict:
    """The settings of a gallery with Open Graph's absolute URLs, a small page and a quick
    throttle."""
    return {"visibility": visibility, "base_url": BASE, "page_size": 2,
            "login_attempts": ATTEMPTS}


@pytest.fixture(params=["public", "private"])
def settings(request) -> dict:
    """What a link's holder sees is tested in a public and a private gallery."""
    return gallery(request.param)


#: For what does not depend on the gallery's visibility (the managers' pages), or only
#: makes sense in one.
PRIVATE = pytest.mark.parametrize("settings", [gallery("private")], ids=["private"])
PUBLIC = pytest.mark.parametrize("settings", [gallery("public")], ids=["public"])


@pytest.fixture
def photos(runtime, users) -> list[dict]:
    """Four images, oldest first; the album below holds the first three."""
    return [runtime.images.upload(distinct_png(n), f"photo {n}.png", uploaded_by=ADMIN[0]).image
            for n in range(4)]


@pytest.fixture
def album(runtime, photos):
    made = runtime.albums.create(title="Summer at the lake", description="Three days of sun.",
                                 visibility="private", actor=OWNER)
    return runtime.albums.change_images(made.id, add=[p["id"] for p in photos[:3]], actor=OWNER)


@pytest.fixture
def outsider(photos) -> dict:
    """An image of the gallery that is not in the album."""
    return photos[3]


def link_to(runtime, album, **options):
    return runtime.links.create(album.id, actor=OWNER, **options)


def og_tags(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in META.findall(html)}


def path_of(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE):]


def media_urls(html: str) -> set[str]:
    return {unescape(u) for u in MEDIA_SRC.findall(html) if "/media/" in u}


def unlock(client: Client, token: str, password: str = PASSWORD):
    return client.post_form(f"/s/{token}", {"password": password})


def every_url(token: str, photo_id: str) -> list[str]:
    """Each kind of URL a link opens: its page, an image page, a thumbnail, an original, the zip."""
    return [f"/s/{token}", f"/s/{token}/images/{photo_id}", f"/s/{token}/media/{photo_id}/sm",
            f"/s/{token}/media/{photo_id}", f"/s/{token}/download"]


def assert_share_frame(response) -> None:
    """A page under a link: its own frame, nothing of the site, never indexed, no referrer."""
    text = response.text
    assert 'class="site"' not in text and "Sign in" not in text and "/login" not in text
    assert 'href="/"' not in text and "/upload" not in text and "/albums" not in text
    assert '<meta name="robots" content="noindex, nofollow">' in text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "no-store"


# -- a link without a password ------------------------------------------------------------


def test_a_link_shows_its_album_and_its_media_only_under_the_link(runtime, anonymous, album,
                                                                   photos):
    link = link_to(runtime, album)
    page = anonymous.get(f"/s/{link.token}")
    assert page.status_code == 200
    assert "<h1>Summer at the lake</h1>" in page.text and "Three days of sun." in page.text
    assert "3 photos" in page.text
    assert_share_frame(page)
    # Page 1 of 2 (two per page); every picture comes from under the link.
    urls = media_urls(page.text)
    assert urls and all(u.startswith(f"/s/{link.token}/media/") for u in urls)
    assert f'rel="next" href="/s/{link.token}?page=2"' in page.text
    assert "Download all" not in page.text and "data-original=\"\"" in page.text
    for url in urls:
        thumb = anonymous.get(url)
        assert thumb.status_code == 200, url
        assert thumb.headers["Content-Type"] == "image/webp"
        assert thumb.headers["Cache-Control"] == "private, no-cache"
        assert thumb.headers["X-Content-Type-Options"] == "nosniff"
        assert thumb.headers["Content-Security-Policy"].startswith("sandbox")
        assert thumb.headers["Referrer-Policy"] == "no-referrer"
    url = sorted(urls)[0]
    etag = anonymous.get(url).headers["ETag"]
    again = anonymous.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "private, no-cache"
    part = anonymous.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.content) == 10
    # Originals and the zip only where the link allows downloads.
    shown = photos[0]["id"]
    assert anonymous.get(f"/s/{link.token}/media/{shown}").status_code == 404
    assert anonymous.get(f"/s/{link.token}/download").status_code == 404


def test_paging_and_the_image_pages_stay_inside_the_album(runtime, anonymous, album, photos):
    link = link_to(runtime, album)
    second = anonymous.get(f"/s/{link.token}?page=2")
    assert second.status_code == 200 and "Page 2 of 2" in second.text
    assert anonymous.get(f"/s/{link.token}?page=3").status_code == 404
    in_album = [p["id"] for p in photos[:3]]
    ids = [i for i in in_album if f"/s/{link.token}/images/{i}" in
           anonymous.get(f"/s/{link.token}").text + second.text]
    assert sorted(ids) == sorted(in_album)
    # Walk the album by its "Next" links: every image once, never the one outside it.
    order = runtime.albums.records(album)
    seen = []
    url: str | None = f"/s/{link.token}/images/{order[0].id}"
    while url:
        page = anonymous.get(url)
        assert page.status_code == 200
        assert_share_frame(page)
        assert f"Photo {len(seen) + 1} of 3" in page.text
        seen.append(url.rsplit("/", 1)[1])
        found = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = found.group(1) if found else None
    assert seen == [r.id for r in order]
    assert photos[3]["id"] not in seen


def test_an_image_outside_the_album_is_not_found_under_the_link(runtime, anonymous, album,
                                                                outsider):
    link = link_to(runtime, album, allow_download=True)
    for url in every_url(link.token, outsider["id"])[1:4]:
        response = anonymous.get(url)
        assert response.status_code == 404, url
        assert outsider["filename"] not in response.text
    assert anonymous.get(f"/s/{link.token}/media/{outsider['id']}/lg").status_code == 404
    assert anonymous.get(f"/s/{link.token}/media/not-an-id/sm").status_code == 404


def test_unknown_and_malformed_tokens_are_a_404_page_in_the_links_frame(anonymous, album):
    for token in ("A" * 43, "short", "not~a~token", "x" * 300):
        response = anonymous.get(f"/s/{token}")
        assert response.status_code == 404, token
        assert "Nothing here" in response.text
        assert 'class="site"' not in response.text and "Sign in" not in response.text
        assert anonymous.get(f"/s/{token}/media/{'0' * 32}/sm").status_code == 404


def test_details_and_names_are_shown_only_as_the_link_says(runtime, anonymous, album, photos):
    plain = link_to(runtime, album)
    detailed = link_to(runtime, album, show_details=True)
    shown = photos[0]
    stamp = shown["created_at"][:16].replace("T", " ")
    for link, dated in ((plain, False), (detailed, True)):
        image = anonymous.get(f"/s/{link.token}/images/{shown['id']}").text
        grid = anonymous.get(f"/s/{link.token}").text
        assert (stamp in image) is dated
        assert ("Uploaded" in image) is dated
        assert ('data-created=""' in grid) is not dated
        # Nobody's account name, whatever the link shows.
        for text in (image, grid):
            assert f"by {ADMIN[0]}" not in text and f'data-uploader="{ADMIN[0]}"' not in text


# -- a link with a password ---------------------------------------------------------------


def test_before_its_password_nothing_of_the_album_is_served(runtime, anonymous, album, photos):
    link = link_to(runtime, album, password=PASSWORD, allow_download=True)
    photo = photos[0]["id"]
    page = anonymous.get(f"/s/{link.token}")
    assert page.status_code == 200
    assert "protected by a password" in page.text and 'type="password"' in page.text
    text = page.text
    assert "Summer at the lake" not in text and "Three days of sun." not in text
    assert "<img" not in text and "/media/" not in text and "photo 0" not in text
    assert "3 photos" not in text
    # the owner's username, as a word (ids and tokens may hold the same letters)
    assert not re.search(rf"(?<![\w-]){ADMIN[0]}(?![\w-])", text.replace('name="', ""))
    assert_share_frame(page)
    tags = og_tags(text)
    assert tags["og:title"] == "A shared album" and "og:image" not in tags
    # An image page shows the same form (and comes back to the image afterwards).
    image_page = anonymous.get(f"/s/{link.token}/images/{photo}")
    assert image_page.status_code == 200 and 'type="password"' in image_page.text
    assert "photo 0" not in image_page.text and "/media/" not in image_page.text
    for url in every_url(link.token, photo)[2:]:
        assert anonymous.get(url).status_code == 404, url
    assert runtime.links.usage(link.id).views == 0


def test_a_wrong_password_shows_the_form_again_and_is_throttled(runtime, anonymous, album):
    link = link_to(runtime, album, password=PASSWORD)
    for _ in range(ATTEMPTS):
        response = unlock(anonymous, link.token, "not it")
        assert response.status_code == 401
        assert "That password is not right." in response.text
        assert 'type="password"' in response.text and "Summer at the lake" not in response.text
    refused = unlock(anonymous, link.token)  # even the right one, while throttled
    assert refused.status_code == 429
    assert "Too many wrong passwords for this link; try again in" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert 'class="site"' not in refused.text
    assert anonymous.get(f"/s/{link.token}").status_code == 200  # still the form, no album
    assert "Summer at the lake" not in anonymous.get(f"/s/{link.token}").text


@PRIVATE
def test_the_password_form_needs_its_csrf_token_and_a_password(runtime, anonymous, album):
    link = link_to(runtime, album, password=PASSWORD)
    anonymous.get(f"/s/{link.token}")
    bare = anonymous.request("POST", f"/s/{link.token}", data={"password": PASSWORD})
    assert bare.status_code == 400 and "The form expired" in bare.text
    empty = unlock(anonymous, link.token, "")
    assert empty.status_code == 400 and "Type the password." in empty.text
    assert "Summer at the lake" not in anonymous.get(f"/s/{link.token}").text


def test_the_right_password_opens_thumbnails_and_originals_only_with_downloads(
        runtime, make_client, album, photos):
    viewing = link_to(runtime, album, password=PASSWORD)
    downloading = link_to(runtime, album, password=PASSWORD, allow_download=True)
    photo = photos[0]
    with make_client() as holder:
        response = unlock(holder, viewing.token)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/s/{viewing.token}")
        page = holder.get(f"/s/{viewing.token}")
        assert page.status_code == 200 and "Summer at the lake" in page.text
        for url in media_urls(page.text):
            assert holder.get(url).status_code == 200
        assert holder.get(f"/s/{viewing.token}/media/{photo['id']}").status_code == 404
        assert holder.get(f"/s/{viewing.token}/download").status_code == 404
        # One password opens one link: the other still asks.
        assert holder.get(f"/s/{downloading.token}/media/{photo['id']}/sm").status_code == 404
        # Asked for from an image page, the form leads back there.
        form = holder.get(f"/s/{downloading.token}/images/{photo['id']}")
        target = re.search(r'name="next" type="hidden" value="([^"]+)"', form.text)
        assert target and target.group(1) == f"/s/{downloading.token}/images/{photo['id']}"
        back = holder.post_form(f"/s/{downloading.token}",
                                {"password": PASSWORD, "next": target.group(1)},
                                form_page=f"/s/{downloading.token}")
        assert back.headers["Location"].endswith(target.group(1))
        image_page = holder.get(target.group(1))
        assert "Download" in image_page.text
        original = holder.get(f"/s/{downloading.token}/media/{photo['id']}")
        assert original.status_code == 200 and original.content == distinct_png(0)
        assert original.headers["Cache-Control"] == "private, no-cache"
        saved = holder.get(f"/s/{downloading.token}/media/{photo['id']}?download=1")
        assert saved.headers["Content-Disposition"].startswith("attachment")
        album_page = holder.get(f"/s/{downloading.token}").text
        assert "Download all" in album_page
        archive = holder.get(f"/s/{downloading.token}/download")
        assert archive.status_code == 200
        assert archive.headers["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
            assert sorted(zipped.namelist()) == ["photo 0.png", "photo 1.png", "photo 2.png"]
            assert zipped.read("photo 0.png") == distinct_png(0)
    # Another browser has no grant.
    with make_client() as stranger:
        for url in every_url(downloading.token, photo["id"])[2:]:
            assert stranger.get(url).status_code == 404


@PRIVATE
def test_a_next_address_outside_the_link_is_ignored(runtime, make_client, album):
    link = link_to(runtime, album, password=PASSWORD)
    for target in ("https://evil.example/", "//evil.example", "/admin/", f"/s/{link.token}x"):
        with make_client() as visitor:
            response = visitor.post_form(f"/s/{link.token}", {"password": PASSWORD, "next": target})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/s/{link.token}"), target


# -- what a link never opens ----------------------------------------------------------------


@PRIVATE
def test_a_link_opens_nothing_else_of_a_private_gallery(runtime, anonymous, album, photos):
    link = link_to(runtime, album, password=PASSWORD, allow_download=True)
    assert unlock(anonymous, link.token).status_code == 303
    photo = photos[0]["id"]
    assert anonymous.get(f"/s/{link.token}/media/{photo}/sm").status_code == 200
    for url in (f"/media/{photo}", f"/media/{photo}/sm"):
        assert anonymous.get(url).status_code == 404, url
    for url in (f"/albums/{album.id}", "/albums", f"/images/{photo}", "/",
                f"/albums/{album.id}/links", "/admin/links"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in ("/api/v1/images", f"/api/v1/images/{photo}", f"/api/v1/albums/{album.id}"):
        assert anonymous.get(url).status_code == 401, url


@PUBLIC
def test_a_link_does_not_open_its_private_album_in_a_public_gallery(runtime, anonymous, album):
    link = link_to(runtime, album)
    assert anonymous.get(f"/s/{link.token}").status_code == 200
    assert anonymous.get(f"/albums/{album.id}").status_code == 404
    assert anonymous.get(f"/albums/{album.id}/links").status_code == 302


# -- closing links everywhere -------------------------------------------------------------------


def wait_until_all(client: Client, urls: list[str], status: int) -> float:
    """Poll until every URL answers ``status``; return how long it took (bounded)."""
    start = time.monotonic()
    while True:
        answers = {url: client.get(url).status_code for url in urls}
        if all(code == status for code in answers.values()):
            return time.monotonic() - start
        assert time.monotonic() - start < CLOSES_WITHIN, answers
        time.sleep(0.2)


def test_a_revoke_on_one_instance_closes_every_url_on_another(storage, settings, runtime, admin,
                                                              album, photos):
    other_storage = FileStorage(storage.root) if isinstance(storage, FileStorage) else storage
    link = link_to(runtime, album, password=PASSWORD, allow_download=True)
    urls = every_url(link.token, photos[0]["id"])
    with serve(build_app(other_storage, **settings)) as other, Client(other) as holder:
        assert unlock(holder, link.token).status_code == 303
        for url in urls:
            assert holder.get(url).status_code == 200, url
        manager = f"/albums/{album.id}/links"
        assert link.id in admin.get(manager).text
        revoked = admin.post_form(f"{manager}/{link.id}/revoke", form_page=f"{manager}/{link.id}/revoke")
        assert revoked.status_code == 303
        wait_until_all(holder, urls, 410)
        page = holder.get(urls[0])
        assert "This link was revoked" in page.text and "Summer at the lake" not in page.text
        assert 'class="site"' not in page.text
    assert "revoked" in admin.get(manager).text


def test_an_expired_link_is_gone(runtime, anonymous, album, photos):
    soon = format_timestamp(utcnow() + timedelta(seconds=1))
    link = link_to(runtime, album, expires_at=soon)
    urls = every_url(link.token, photos[0]["id"])[:3]
    assert anonymous.get(urls[0]).status_code == 200
    wait_until_all(anonymous, urls, 410)
    assert "This link has expired" in anonymous.get(urls[0]).text


@PRIVATE
def test_a_link_to_a_deleted_album_is_gone(runtime, anonymous, album):
    link = link_to(runtime, album)
    runtime.albums.delete(album.id, actor=OWNER)
    wait_until_all(anonymous, [f"/s/{link.token}"], 410)
    assert "The album of this link was deleted" in anonymous.get(f"/s/{link.token}").text


# -- Open Graph and views ------------------------------------------------------------------


def test_open_graph_tags_name_the_album_and_its_cover_under_the_link(runtime, make_client,
                                                                      album):
    link = link_to(runtime, album)
    with make_client() as fetcher:
        tags = og_tags(fetcher.get(f"/s/{link.token}").text)
    assert tags["og:title"] == "Summer at the lake"
    assert tags["og:description"] == "Three days of sun."
    assert tags["og:url"] == f"{BASE}/s/{link.token}"
    assert tags["og:image"] == f"{BASE}/s/{link.token}/media/{album.cover_id}/lg"
    # A preview fetcher has no cookie and no account: it gets the picture.
    with make_client() as preview:
        picture = preview.get(path_of(tags["og:image"]))
        assert picture.status_code == 200
        assert picture.headers["Content-Type"] == "image/webp"
        assert picture.content[:4] == b"RIFF" and picture.content[8:12] == b"WEBP"
    with make_client() as fetcher:
        image_tags = og_tags(fetcher.get(f"/s/{link.token}/images/{album.cover_id}").text)
    assert image_tags["og:url"] == f"{BASE}/s/{link.token}/images/{album.cover_id}"
    assert image_tags["og:image"].startswith(f"{BASE}/s/{link.token}/media/{album.cover_id}/")


def test_a_password_link_gets_only_a_neutral_preview(runtime, anonymous, album):
    link = link_to(runtime, album, password=PASSWORD)
    before = og_tags(anonymous.get(f"/s/{link.token}").text)
    assert before == {"og:type": "website", "og:site_name": "Gallery",
                      "og:url": f"{BASE}/s/{link.token}", "og:title": "A shared album",
                      "og:description": "Open the link and type its password to see the photos."}
    unlock(anonymous, link.token)
    after = anonymous.get(f"/s/{link.token}")
    assert "Summer at the lake" in after.text
    assert og_tags(after.text) == before


@PRIVATE
def test_without_a_base_url_absolute_open_graph_urls_are_left_out(storage, users, runtime, album):
    link = link_to(runtime, album)
    with serve(build_app(storage)) as url, Client(url) as client:
        tags = og_tags(client.get(f"/s/{link.token}").text)
    assert tags["og:title"] == "Summer at the lake"
    assert "og:url" not in tags and "og:image" not in tags


def test_page_views_are_counted_not_media(runtime, make_client, admin, album, photos):
    link = link_to(runtime, album)
    with make_client() as visitor:
        page = visitor.get(f"/s/{link.token}")
        visitor.get(f"/s/{link.token}/images/{photos[1]['id']}")
        for url in media_urls(page.text):
            visitor.get(url)
        visitor.session.head(visitor.url(f"/s/{link.token}"))
    usage = runtime.links.usage(link.id)
    assert usage.views == 2 and usage.last_used_at is not None
    row = re.search(rf'<tr id="link-{link.id}".*?</tr>', admin.get(f"/albums/{album.id}/links").text,
                    re.S)
    assert row and '<td class="num">2</td>' in row.group(0)


# -- the link managers' pages ---------------------------------------------------------------------


@PRIVATE
def test_the_owner_creates_a_link_with_every_option_by_sending_the_form(runtime, admin, album):
    manager = f"/albums/{album.id}/links"
    page = admin.get(manager)
    assert page.status_code == 200 and "Create a link" in page.text
    assert runtime.links.for_album(album.id) == []  # opening the page makes nothing
    assert 'name="allow_download" type="checkbox" value="y">' in page.text  # off by default
    assert 'name="show_details" type="checkbox" value="y">' in page.text
    response = admin.post_form(manager, {
        "label": "For grandma", "password": PASSWORD, "expires_on": "2099-03-04",
        "expires_time": "18:30", "timezone_offset": "-60", "allow_download": "y"})
    assert response.status_code == 303
    [link] = runtime.links.for_album(album.id)
    assert response.headers["Location"].endswith(f"{manager}#link-{link.id}")
    assert link.label == "For grandma" and link.has_password
    assert link.allow_download and not link.show_details
    assert link.expires_at == "2099-03-04T17:30:00.000Z"
    listed = admin.get(manager).text
    row = re.search(rf'<tr id="link-{link.id}".*?</tr>', listed, re.S).group(0)
    assert f'value="{BASE}/s/{link.token}"' in row and "data-copy" in row
    assert "For grandma" in row and "<td>yes</td>" in row and "downloads" in row
    assert "2099-03-04 17:30" in row and f"by {ADMIN[0]}" in row
    assert "never" in row and ">active<" in row and "Revoke…" in row
    assert "Link created." in listed


@PRIVATE
def test_a_date_alone_lasts_the_day_and_bad_expiries_are_refused(runtime, admin, album):
    manager = f"/albums/{album.id}/links"
    assert admin.post_form(manager, {"expires_on": "2099-01-31"}).status_code == 303
    assert runtime.links.for_album(album.id)[0].expires_at == "2099-01-31T23:59:59.000Z"
    for fields, message in (
            ({"expires_on": "2001-01-01"}, "in the past"),
            ({"expires_time": "10:00"}, "Choose a date for the expiry"),
            ({"expires_on": "31/01/2099"}, "Expires on: Not a valid date value."),
            ({"expires_on": "2099-01-31", "timezone_offset": "x"}, "time zone offset"),
            ({"label": "x" * 101}, "Label: Field cannot be longer than 100 characters.")):
        response = admin.post_form(manager, fields)
        assert response.status_code == 400, fields
        assert message in unescape(response.text), fields
    assert len(runtime.links.for_album(album.id)) == 1


@PUBLIC
def test_only_the_owner_and_admins_manage_links(runtime, make_client, uploader, anonymous, album):
    manager = f"/albums/{album.id}/links"
    response = anonymous.get(manager)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert uploader.get(manager).status_code == 403
    assert uploader.post_form(manager, {"label": "mine"}, form_page="/upload").status_code == 403
    assert uploader.get("/admin/links").status_code == 403
    theirs = runtime.albums.create(title="Bob's", visibility="private", actor=Actor(UPLOADER[0]))
    assert uploader.get(f"/albums/{theirs.id}/links").status_code == 200
    assert uploader.get("/albums/" + "0" * 32 + "/links").status_code == 404
    assert runtime.links.all() == []


@PRIVATE
def test_revoking_asks_first_and_the_admin_list_shows_every_link(runtime, admin, album):
    first = link_to(runtime, album, label="Family")
    second = link_to(runtime, album, password=PASSWORD)
    confirm = f"/albums/{album.id}/links/{first.id}/revoke"
    page = admin.get(confirm)
    assert page.status_code == 200 and "Revoke the link “Family” to “Summer at the lake”?" in page.text
    assert runtime.links.get(first.id).revoked_at is None  # asking is not revoking
    assert admin.request("POST", confirm).status_code == 400  # no CSRF token
    assert runtime.links.get(first.id).revoked_at is None
    listing = admin.get("/admin/links")
    assert listing.status_code == 200 and 'href="/admin/links" aria-current="page">Links<' in listing.text
    for link in (first, second):
        assert f'id="link-{link.id}"' in listing.text
    assert "Summer at the lake" in listing.text
    done = admin.post_form(f"{confirm}?next=/admin/links", form_page=confirm)
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/links")
    assert runtime.links.get(first.id).revoked_at is not None
    row = re.search(rf'<tr id="link-{first.id}".*?</tr>', admin.get("/admin/links").text,
                    re.S).group(0)
    assert ">revoked<" in row and "Revoke…" not in row and first.token not in row
    assert admin.get(f"/albums/{'0' * 32}/links/{second.id}/revoke").status_code == 404


@pytest.mark.parametrize(("camera", "shown"), [
    ({"make": "Canon", "model": "Canon EOS R6", "lens": "RF35mm F1.8", "focal_length": 35,
      "f_number": 1.8, "exposure_time": 0.004, "iso": 400},
     "Canon EOS R6 · RF35mm F1.8 · 35 mm · f/1.8 · 1/250 s · ISO 400"),
    ({"make": "FUJIFILM", "model": "X100V", "exposure_time": 2}, "FUJIFILM X100V · 2 s"),
    ({"iso": True, "f_number": float("nan"), "focal_length": -3}, None),
    ({}, None),
    (None, None),
    ("Canon", None),
])
def test_camera_details_read_as_one_line(camera, shown):
    from gallery.web.share_view import camera_text

    assert camera_text(camera) == shown
