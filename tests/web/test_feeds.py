"""The public pages over real HTTP: the Atom feeds read back as a feed reader reads them
(feedparser), the sitemap and robots.txt (xml.etree), their cache headers, and a private
gallery publishing none of them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser
import pytest

from gallery.images.results import Actor
from tests.web.images import distinct_png

ADA = Actor("ada", is_admin=True)
BASE = "https://photos.example.com"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
WITH_BASE = pytest.mark.parametrize("settings", [{"base_url": BASE}])
PRIVATE = pytest.mark.parametrize("settings", [{"base_url": BASE, "visibility": "private"}])


@pytest.fixture
def photos(runtime, users):
    counter = iter(range(10_000))

    def make(n: int, by: str = "ada", **texts: str) -> list[dict]:
        return [runtime.images.upload(distinct_png(next(counter), (640, 400)), f"p{k}.png",
                                      uploaded_by=by, **texts).image for k in range(n)]

    return make


def read_feed(client, path: str, base: str = BASE):
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)  # well-formed XML, an Atom feed
    assert root.tag == f"{ATOM}feed"
    parsed = feedparser.parse(response.content, response_headers={
        "content-location": base + path, "content-type": response.headers["Content-Type"]})
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return response, root, parsed


@WITH_BASE
def test_the_feed_lists_the_newest_images_with_links_authors_and_thumbnails(
        runtime, anonymous, photos):
    runtime.site.update({"title": "Ada's photos", "tagline": "Light"}, actor="ada")
    older = photos(1, title="Old pier")[0]
    newer = photos(1, by="bob", title="New <dawn>", description="Early & cold")[0]
    response, root, feed = read_feed(anonymous, "/feed.xml")
    assert feed.feed.title == "Ada's photos" and feed.feed.subtitle == "Light"
    assert feed.feed.id == f"{BASE}/feed.xml"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"alternate": f"{BASE}/", "self": f"{BASE}/feed.xml"}
    assert [e.title for e in feed.entries] == ["New <dawn>", "Old pier"]
    first = feed.entries[0]
    assert first.link == f"{BASE}/images/{newer['id']}"
    assert first.id == f"urn:uuid:{newer['id'][:8]}-{newer['id'][8:12]}-" \
                       f"{newer['id'][12:16]}-{newer['id'][16:20]}-{newer['id'][20:]}"
    # without display names, the feed names the site: account names are never published
    assert first.author == feed.entries[1].author == "Ada's photos"
    assert "<name>bob</name>" not in response.text and "<name>ada</name>" not in response.text
    assert first.published.startswith(newer["created_at"][:19])
    assert first.updated.startswith(newer["created_at"][:19])
    content = first.content[0]
    assert content.type == "text/html"
    assert f'src="{BASE}/media/{newer["id"]}/md"' in content.value
    assert f'<a href="{BASE}/images/{newer["id"]}"><img ' in content.value
    assert 'alt="New &lt;dawn&gt;"' in content.value and "Early &amp; cold" in content.value
    assert first.summary == "Early & cold"
    # the thumbnail loads signed out, as a reader fetches it
    assert anonymous.get(f"/media/{newer['id']}/md").status_code == 200
    assert all(entry.find(f"{ATOM}author/{ATOM}name") is not None
               for entry in root.iter(f"{ATOM}entry"))
    assert older["id"] in response.text


@WITH_BASE
def test_a_display_name_names_the_author(runtime, anonymous, photos):
    photos(1)
    runtime.accounts.set_display_name("ada", "Ada Lovelace")
    _, _, feed = read_feed(anonymous, "/feed.xml")
    assert feed.entries[0].author == "Ada Lovelace"


@WITH_BASE
def test_feed_readers_poll_cheaply_with_etags(runtime, anonymous, photos):
    photos(2)
    first = anonymous.get("/feed.xml")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = anonymous.get("/feed.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    plain = anonymous.get("/feed.xml", headers={"If-None-Match": etag.replace(":br", "")
                                                .replace(":gzip", ""),
                                                "Accept-Encoding": "identity"})
    assert plain.status_code == 304
    since = anonymous.get("/feed.xml", headers={"If-Modified-Since": modified,
                                                "Accept-Encoding": "identity"})
    assert since.status_code == 304
    photos(1)  # a new image: a new version
    changed = anonymous.get("/feed.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    runtime.site.update({"title": "Renamed"}, actor="ada")
    runtime.site.forget()
    renamed = anonymous.get("/feed.xml", headers={"If-None-Match": changed.headers["ETag"]})
    assert renamed.status_code == 200 and "Renamed" in renamed.text
    runtime.accounts.set_display_name("ada", "Ada Lovelace")  # authors are named anew
    named = anonymous.get("/feed.xml", headers={"If-None-Match": renamed.headers["ETag"]})
    assert named.status_code == 200 and "<name>Ada Lovelace</name>" in named.text
    assert anonymous.get("/feed.xml", headers={"If-None-Match": named.headers["ETag"]}
                         ).status_code == 304


def test_without_a_base_url_the_feed_has_root_relative_links(runtime, anonymous, photos):
    [image] = photos(1)
    response = anonymous.get("/feed.xml", headers={"Host": "evil.example"})
    assert "evil.example" not in response.text
    assert f'href="/images/{image["id"]}"' in response.text
    # A reader resolves them against the address it fetched the feed from.
    fetched_from = "https://mirror.example/feed.xml"
    parsed = feedparser.parse(response.content, response_headers={
        "content-location": fetched_from, "content-type": "application/atom+xml"})
    assert not parsed.bozo
    assert parsed.entries[0].link == f"https://mirror.example/images/{image['id']}"
    assert parsed.feed.id.startswith("urn:uuid:")


@WITH_BASE
def test_each_public_album_has_its_feed(runtime, anonymous, photos):
    made = photos(3)
    album = runtime.albums.create(title="Walks", description="On foot", visibility="public",
                                  actor=ADA)
    runtime.albums.change_images(album.id, add=[made[0]["id"], made[2]["id"]], actor=ADA)
    path = f"/albums/{album.id}/feed.xml"
    _, _, feed = read_feed(anonymous, path)
    assert feed.feed.title == "Walks · Gallery" and feed.feed.subtitle == "On foot"
    assert {link.rel: link.href for link in feed.feed.links}["alternate"] == \
        f"{BASE}/albums/{album.id}"
    assert [e.link for e in feed.entries] == [f"{BASE}/images/{made[2]['id']}",
                                             f"{BASE}/images/{made[0]['id']}"]
    page = anonymous.get(f"/albums/{album.id}").text
    assert (f'<link rel="alternate" type="application/atom+xml" title="Walks · Gallery" '
            f'href="{BASE}{path}">') in page
    assert f'href="{BASE}/feed.xml"' in page
    etag = anonymous.get(path).headers["ETag"]
    runtime.albums.change_images(album.id, add=[made[1]["id"]], actor=ADA)
    assert anonymous.get(path, headers={"If-None-Match": etag}).status_code == 200

    for visibility in ("unlisted", "private"):
        other = runtime.albums.create(title=visibility, visibility=visibility, actor=ADA)
        assert anonymous.get(f"/albums/{other.id}/feed.xml").status_code == 404
    by_link = runtime.albums.create(title="By link", visibility="unlisted", actor=ADA)
    unlisted_page = anonymous.get(f"/albums/{by_link.id}").text
    assert "/feed.xml\"" in unlisted_page  # the gallery's feed ...
    assert re.search(r'/albums/[0-9a-f]{32}/feed\.xml', unlisted_page) is None  # ... only
    assert anonymous.get(f"/albums/{'0' * 32}/feed.xml").status_code == 404
    assert anonymous.get("/albums/nonsense/feed.xml").status_code == 404


@WITH_BASE
def test_the_sitemap_lists_only_what_anyone_may_see(runtime, anonymous, photos):
    made = photos(2)
    runtime.images.update(made[0]["id"], {"tags": ["sea", "boats"]}, actor=ADA)
    public = runtime.albums.create(title="Open", visibility="public", actor=ADA)
    unlisted = runtime.albums.create(title="By link", visibility="unlisted", actor=ADA)
    private = runtime.albums.create(title="Ours", visibility="private", actor=ADA)
    runtime.site.update({"about": "Hello"}, actor="ada")
    response = anonymous.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    urls = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod")
            for u in root.iter(f"{SITEMAP}url")}
    expected = {f"{BASE}/", f"{BASE}/about", f"{BASE}/albums", f"{BASE}/albums/{public.id}",
                f"{BASE}/tags/sea", f"{BASE}/tags/boats",
                *(f"{BASE}/images/{i['id']}" for i in made)}
    assert set(urls) == expected
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", urls[u]) for u in urls if "/tags/" not in u)
    assert unlisted.id not in response.text and private.id not in response.text
    etag = response.headers["ETag"]
    assert anonymous.get("/sitemap.xml", headers={"If-None-Match": etag}).status_code == 304


def test_without_a_base_url_there_is_no_sitemap(anonymous):
    response = anonymous.get("/sitemap.xml")
    assert response.status_code == 404 and "GALLERY_BASE_URL" in response.text
    assert "Sitemap:" not in anonymous.get("/robots.txt").text


@WITH_BASE
def test_robots_keeps_crawlers_off_the_private_parts(anonymous):
    response = anonymous.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert lines[0] == "User-agent: *"
    disallowed = {line.split(": ", 1)[1] for line in lines if line.startswith("Disallow:")}
    assert {"/admin", "/login", "/s/", "/api/", "/upload"} <= disallowed
    assert "/" not in disallowed and "/media/" not in disallowed
    assert f"Sitemap: {BASE}/sitemap.xml" in lines


@PRIVATE
def test_a_private_gallery_publishes_none_of_them(runtime, anonymous, admin, photos):
    photos(1)
    album = runtime.albums.create(title="Open", visibility="public", actor=ADA)
    for client in (anonymous, admin):
        for path in ("/feed.xml", f"/albums/{album.id}/feed.xml", "/sitemap.xml"):
            assert client.get(path).status_code == 404, path
        robots = client.get("/robots.txt")
        assert robots.status_code == 200
        assert [line for line in robots.text.splitlines() if not line.startswith("#")] == [
            "User-agent: *", "Disallow: /"]
    runtime.site.update({"about": "Hi"}, actor="ada")
    assert anonymous.get("/about").status_code == 302  # the about page needs a sign-in too
    assert admin.get("/about").status_code == 200
