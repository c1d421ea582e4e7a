"""Albums and share links on the admin's overview, cleanup and export pages."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from gallery.images.results import Actor
from tests.web.admin.forms import csrf_of

BOB = Actor("bob", is_admin=False)
ADA = Actor("ada", is_admin=True)


@pytest.fixture
def settings() -> dict:
    """No grace period: what cleanup finds is old enough to remove at once."""
    return {"cleanup_grace": 0}


def test_the_overview_counts_albums_and_links_by_state(admin, runtime, add_image):
    one, two, _ = add_image("one.png"), add_image("two.png"), add_image("three.png")
    album = runtime.albums.create(title="Holiday", actor=BOB)
    runtime.albums.change_images(album.id, add=[one["id"], two["id"]], actor=BOB)
    runtime.albums.create(title="Empty", actor=BOB)
    runtime.links.create(album.id, actor=BOB)
    runtime.links.revoke(runtime.links.create(album.id, actor=BOB).id, actor=BOB)
    runtime.links.create(album.id, actor=BOB,
                         expires_at=(datetime.now(UTC) + timedelta(days=3)).isoformat())

    page = admin.get("/admin/").text
    assert re.search(r'<h2 id="h-albums">Albums</h2>\s*<p class="figure"><a href="/albums">2</a>',
                     page)
    assert '<th scope="row">images in albums</th><td class="num">2</td>' in page
    assert '<th scope="row">share links active</th><td class="num">2</td>' in page
    assert '<th scope="row">share links revoked</th><td class="num">1</td>' in page
    assert '<th scope="row">share links expired</th><td class="num">0</td>' in page
    assert "album deleted" not in page  # shown only when there are such links
    assert 'href="/admin/links"' in page
    assert '<th scope="row">albums</th>' in page  # their bytes, among the kinds


def test_the_overview_says_when_an_album_is_damaged(admin, runtime):
    album = runtime.albums.create(title="Soon damaged", actor=BOB)
    runtime.storage.put(runtime.keys.album(album.id), b"{")
    page = admin.get("/admin/").text
    assert "1 damaged document, not counted" in page and 'href="/admin/doctor"' in page


@pytest.mark.parametrize("settings", [{"cleanup_grace": 0, "trash_days": 0}])  # final deletes
def test_cleanup_shows_and_then_repairs_albums_and_links(admin, runtime, add_image):
    kept, gone = add_image("kept.png"), add_image("gone.png")
    album = runtime.albums.create(title="Holiday", actor=BOB)
    runtime.albums.change_images(album.id, add=[kept["id"], gone["id"]], actor=BOB)
    runtime.images.d.deleted_listeners.clear()  # as a process that knew nothing of albums
    runtime.images.delete(gone["id"], actor=ADA)
    lonely = runtime.albums.create(title="Deleted", actor=BOB)
    link = runtime.links.create(lonely.id, actor=BOB)
    runtime.albums.delete(lonely.id, actor=BOB)

    page = admin.get("/admin/cleanup").text
    assert "Album members whose image is gone: 1 in 1 album" in page
    assert f'<a href="/albums/{album.id}">album <code>{album.id}</code></a>: ' \
           f'<code>{gone["id"]}</code>' in page
    assert "Share links closed for good: 1" in page
    assert f"<code>{link.id}</code>: its album was deleted" in page
    assert runtime.albums.get(album.id).image_ids == [kept["id"], gone["id"]]

    confirm = admin.get("/admin/cleanup/run")
    assert "Album members whose image is gone: 1" in confirm.text
    done = admin.request("POST", "/admin/cleanup/run", data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 200 and "Cleanup done" in done.text
    assert f"<code>album:{album.id}:{gone['id']}</code>" in done.text
    assert f"<code>{runtime.keys.link(link.id)}</code>" in done.text
    assert runtime.albums.get(album.id).image_ids == [kept["id"]]
    assert runtime.links.all() == []
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["album_members"], entry.details["links"]) \
        == ("ada", "gallery.cleanup", 1, 1)
    assert "Everything is consistent" in admin.get("/admin/cleanup").text


def test_the_export_download_holds_the_albums_but_no_links(admin, runtime, add_image):
    image = add_image("one.png")
    album = runtime.albums.create(title="Holiday", description="Sea", actor=BOB)
    runtime.albums.change_images(album.id, add=[image["id"]], actor=BOB)
    runtime.links.create(album.id, actor=BOB)
    page = " ".join(admin.get("/admin/export").text.split())
    assert "the index, the albums and a manifest" in page
    assert "Accounts, API tokens and share links are not part of it" in page

    response = admin.post_form("/admin/export.zip", form_page="/admin/export")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        albums = orjson.loads(archive.read("albums.json"))["albums"]
        names = archive.namelist()
        manifest = orjson.loads(archive.read("manifest.json"))
    assert [(a["id"], a["title"], a["owner"]) for a in albums] == [(album.id, "Holiday", "bob")]
    assert albums[0]["items"] == list(runtime.albums.get(album.id).items)
    assert manifest["format"] == 2 and manifest["albums"] == 1
    assert not any("link" in name for name in names)


def test_cleanup_says_what_it_could_not_check(admin, runtime):
    album = runtime.albums.create(title="Soon damaged", actor=BOB)
    runtime.storage.put(runtime.keys.album(album.id), b"{")
    page = admin.get("/admin/cleanup").text
    assert "Could not be checked: 2" in page
    assert f"{runtime.keys.album(album.id)}" in page and 'href="/admin/doctor"' in page
    assert "Everything is consistent" not in page
    assert runtime.storage.get(runtime.keys.album(album.id)) == b"{"
