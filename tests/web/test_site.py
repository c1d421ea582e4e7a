"""The site over real HTTP: its title on every page, the tagline and About link, what the home
page shows, camera details, canonical links, Open Graph cards and the admin form."""

from __future__ import annotations

import re
from html import unescape

import pytest

from gallery.images.results import Actor
from tests.imaging import heif_files as files
from tests.web.harness import Client, build_app, serve
from tests.web.images import distinct_png

ADA = Actor("ada", is_admin=True)
BASE = "https://photos.example.com"
TILE = re.compile(r'<a class="tile" href="/images/([0-9a-f]{32})"')
CARD = re.compile(r'<a class="album-link" href="/albums/([0-9a-f]{32})"')


def title_of(html: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()


def brand_of(html: str) -> str:
    return unescape(re.search(r'<a class="brand" href="/">(.*?)</a>', html).group(1))


def meta(html: str) -> dict[str, str]:
    """Open Graph (``property``) and Twitter (``name``) tags of a page."""
    return {name: unescape(value) for _, name, value in re.findall(
        r'<meta (property|name)="((?:og|twitter):[a-z:_]+)" content="([^"]*)">', html)}


def canonical(html: str) -> str | None:
    found = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    return unescape(found.group(1)) if found else None


def nav(html: str) -> list[str]:
    block = re.search(r'<nav aria-label="Main"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return [unescape(t) for t in re.findall(r"<a [^>]*>([^<]+)", block)]


@pytest.fixture
def photos(runtime, users):
    counter = iter(range(10_000))

    def make(n: int, **texts: str) -> list[dict]:
        return [runtime.images.upload(distinct_png(next(counter), (640, 480)), f"p{k}.png",
                                      uploaded_by="ada", **texts).image for k in range(n)]

    return make


def configure(runtime, **changes):
    site = runtime.site.update(changes, actor="ada")
    runtime.site.forget()
    return site


# --- the title, tagline and header -------------------------------------------------------------


def test_every_page_shows_the_title(runtime, admin, anonymous, photos):
    [image] = photos(1, title="Pier")
    album = runtime.albums.create(title="Coast", visibility="public", actor=ADA)
    configure(runtime, title="Ada's <light>", tagline="Photos from the coast")
    pages = {"/": "Ada's <light>", f"/images/{image['id']}": "Pier · Ada's <light>",
             "/albums": "Albums · Ada's <light>", f"/albums/{album.id}": "Coast · Ada's <light>",
             "/login": "Sign in · Ada's <light>", "/no/such/page": "404 · Ada's <light>"}
    for path, title in pages.items():
        html = anonymous.get(path).text
        assert title_of(html) == title, path
        assert brand_of(html) == "Ada's <light>", path
        assert "&lt;light&gt;" in html and "<light>" not in html  # escaped everywhere
    assert title_of(admin.get("/admin/").text) == "Overview · Admin · Ada's <light>"
    assert title_of(admin.get("/upload").text) == "Upload · Ada's <light>"


def test_the_tagline_shows_on_the_home_page_only(runtime, anonymous, photos):
    photos(1)
    configure(runtime, tagline="Light & shade")
    assert '<p class="tagline">Light &amp; shade</p>' in anonymous.get("/").text
    assert "Light &amp; shade" not in anonymous.get("/albums").text
    assert 'class="tagline"' not in anonymous.get("/?q=nothing").text


def test_the_about_link_shows_once_there_is_an_about_text(runtime, anonymous, admin):
    assert nav(anonymous.get("/").text) == ["Albums", "Sign in"]
    configure(runtime, about="Hello.")
    assert nav(anonymous.get("/").text) == ["Albums", "About", "Sign in"]
    assert nav(admin.get("/").text)[:4] == ["Albums", "About", "Upload", "Admin"]
    footer = anonymous.get("/").text.split('<footer class="site-footer">')[1]
    assert 'href="/feed.xml"' in footer and "Contact" not in footer
    configure(runtime, contact="mailto:ada@example.com")
    footer = anonymous.get("/").text.split('<footer class="site-footer">')[1]
    assert '<a href="mailto:ada@example.com" rel="me noopener">Contact</a>' in footer


def test_share_pages_name_the_site_only_in_og_site_name(runtime, anonymous, photos):
    made = photos(1)
    album = runtime.albums.create(title="Shared", visibility="private", actor=ADA)
    runtime.albums.change_images(album.id, add=[made[0]["id"]], actor=ADA)
    link = runtime.links.create(album.id, actor=ADA)
    configure(runtime, title="Ada's site")
    html = anonymous.get(f"/s/{link.token}").text
    assert meta(html)["og:site_name"] == "Ada's site"
    assert html.count("Ada&#39;s site") == 1  # nothing else of the site in the link's frame
    assert 'class="brand"' not in html and title_of(html) == "Shared"


# --- the home page -------------------------------------------------------------------------------


def test_the_home_page_can_show_the_albums(runtime, anonymous, photos):
    made = photos(2)
    album = runtime.albums.create(title="Walks", visibility="public", actor=ADA)
    runtime.albums.change_images(album.id, add=[made[0]["id"]], actor=ADA)
    configure(runtime, home="albums")
    home = anonymous.get("/").text
    assert CARD.findall(home) == [album.id] and not TILE.findall(home)
    assert nav(home)[0] == "Photos"  # every image stays one click away
    assert sorted(TILE.findall(anonymous.get("/images").text)) == sorted(i["id"] for i in made)
    assert TILE.findall(anonymous.get("/?q=p0").text)  # a search always shows images
    assert TILE.findall(anonymous.get("/?page=1").text)


@pytest.mark.parametrize("settings", [{"base_url": BASE}])
def test_the_home_page_can_show_one_album(runtime, anonymous, admin, photos):
    made = photos(3)
    album = runtime.albums.create(title="Best of", visibility="public", actor=ADA)
    runtime.albums.change_images(album.id, add=[made[1]["id"]], actor=ADA)
    configure(runtime, home="album", home_album=album.id)
    home = anonymous.get("/")
    assert home.status_code == 200
    assert TILE.findall(home.text) == [made[1]["id"]]
    assert canonical(home.text) == f"{BASE}/albums/{album.id}"
    assert title_of(home.text) == "Best of · Gallery"
    assert len(TILE.findall(anonymous.get("/?sort=taken").text)) == 3

    runtime.albums.update(album.id, {"visibility": "private"}, actor=ADA)
    assert len(TILE.findall(anonymous.get("/").text)) == 3  # visitors: the latest images
    assert TILE.findall(admin.get("/").text) == [made[1]["id"]]  # signed in: the album
    runtime.albums.delete(album.id, actor=ADA)
    assert len(TILE.findall(admin.get("/").text)) == 3


@pytest.mark.parametrize(("setting", "env", "shown"), [
    (None, False, False), (None, True, True), (True, False, True), (False, True, False),
])
def test_the_site_setting_overrides_gallery_show_details(storage, users, setting, env, shown):
    app = build_app(storage, show_details=env)
    rt = app.extensions["gallery"]
    rt.accounts.create_user("carol", "a third long secret", role="uploader")
    with serve(app) as url, Client(url) as carol, Client(url) as visitor:
        assert carol.login("carol", "a third long secret").status_code == 302
        made = carol.api("POST", "/api/v1/images",
                         files={"file": ("photo.avif", files.avif_with_gps())}).json()
        rt.site.update({"show_details": setting}, actor="ada")
        body = visitor.get(f"/api/v1/images/{made['id']}").json()
        page = visitor.get(f"/images/{made['id']}").text
        assert (body["camera"].get("make") == "Acme Optics") is shown
        assert ('class="camera"' in page) is shown and ('class="taken-at"' in page) is shown
        mine = carol.get(f"/images/{made['id']}").text  # the uploader always sees them
        assert 'class="camera"' in mine


# --- canonical links and Open Graph -----------------------------------------------------------


@pytest.mark.parametrize("settings", [{"base_url": BASE}])
def test_canonical_links_come_from_the_base_url(runtime, anonymous, photos):
    [image] = photos(1)
    runtime.images.update(image["id"], {"tags": ["sea"]}, actor=ADA)
    album = runtime.albums.create(title="A", visibility="public", actor=ADA)
    configure(runtime, about="Hi")
    expected = {"/": f"{BASE}/", f"/images/{image['id']}": f"{BASE}/images/{image['id']}",
                f"/albums/{album.id}": f"{BASE}/albums/{album.id}",
                "/tags/sea": f"{BASE}/tags/sea", "/tags/sea?sort=taken": f"{BASE}/tags/sea",
                "/about": f"{BASE}/about", "/?q=sea": None, "/login": None}
    for path, url in expected.items():
        response = anonymous.get(path, headers={"Host": "evil.example"})
        assert canonical(response.text) == url, path
        assert "evil.example" not in response.text


def test_without_a_base_url_no_page_has_a_canonical_link(runtime, anonymous, photos):
    [image] = photos(1)
    for path in ("/", f"/images/{image['id']}"):
        html = anonymous.get(path).text
        assert canonical(html) is None
        tags = meta(html)
        assert "og:url" not in tags and "og:image" not in tags
        assert tags["twitter:card"] == "summary"


@pytest.mark.parametrize("settings", [{"base_url": BASE}])
def test_open_graph_cards_of_the_home_and_image_pages(runtime, anonymous, make_client, photos):
    older, newer = photos(2, title="Harbour", description="Boats at dawn")
    configure(runtime, title="Ada's photos", tagline="The coast, mostly")
    home = meta(anonymous.get("/").text)
    assert home["og:title"] == "Ada's photos" and home["og:site_name"] == "Ada's photos"
    assert home["og:description"] == "The coast, mostly"
    assert home["og:url"] == f"{BASE}/"
    assert home["og:image"] == f"{BASE}/media/{newer['id']}/lg"
    assert home["twitter:card"] == "summary_large_image"
    page = meta(anonymous.get(f"/images/{older['id']}").text)
    assert page["og:title"] == "Harbour" and page["og:description"] == "Boats at dawn"
    assert page["og:type"] == "article" and page["og:url"] == f"{BASE}/images/{older['id']}"
    assert page["og:image"] == f"{BASE}/media/{older['id']}/lg"
    assert page["og:image:width"] == "640" and page["og:image:alt"] == "Harbour"
    with make_client() as fetcher:  # a link-preview fetcher: no cookie, no account
        picture = fetcher.get(page["og:image"].removeprefix(BASE))
        assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/webp"


@pytest.mark.parametrize("settings", [{"base_url": BASE, "visibility": "private"}])
def test_a_private_gallery_names_no_picture(runtime, admin, photos):
    [image] = photos(1)
    for path in ("/", f"/images/{image['id']}"):
        tags = meta(admin.get(path).text)
        assert "og:image" not in tags and tags["twitter:card"] == "summary"
    assert 'type="application/atom+xml"' not in admin.get("/").text


# --- the admin form --------------------------------------------------------------------------------


def form(**changes) -> dict[str, str]:
    values = {"title": "Ada's photos", "tagline": "", "about": "", "contact": "",
              "home": "latest", "home_album": "", "show_details": "default", "action": "save"}
    return {**values, **changes}


def test_admins_save_the_settings_and_the_audit_log_says_so(runtime, admin, anonymous):
    page = admin.get("/admin/site")
    assert page.status_code == 200 and 'name="title" value="Gallery"' in page.text
    assert 'href="/admin/site" aria-current="page">Site</a>' in page.text
    assert 'href="/admin/site">Edit the site' in admin.get("/admin/").text
    saved = admin.post_form("/admin/site", form(about="# Hi", contact="https://ada.example",
                                                show_details="show"))
    assert saved.status_code == 302 and saved.headers["Location"] == "/admin/site"
    again = admin.get("/admin/site").text
    assert "Saved the site&#39;s settings." in again and "by ada" in again
    site = runtime.site.get()
    assert (site.title, site.about, site.contact, site.show_details) == (
        "Ada's photos", "# Hi", "https://ada.example", True)
    [entry] = [e for e in runtime.audit.latest(20) if e.action == "site.update"]
    assert entry.actor == "ada" and entry.details["fields"] == "title, about, contact, show_details"
    assert brand_of(anonymous.get("/").text) == "Ada's photos"


def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(runtime, admin):
    refused = admin.post_form("/admin/site", form(title="", contact="javascript:alert(1)",
                                                  about="kept text", home="album"))
    assert refused.status_code == 400
    html = refused.text
    assert "Give the site a title (1 to 100 characters)." in html
    assert "The contact link must be an https://, http:// or mailto: address" in html
    assert "Choose the album the home page shows." in html
    assert 'aria-invalid="true" aria-describedby="site-title-hint title-error"' in html
    assert ">kept text</textarea>" in html and 'value="javascript:alert(1)"' in html
    assert runtime.site.get().title == "Gallery"  # nothing saved
    assert not [e for e in runtime.audit.latest(20) if e.action == "site.update"]


def test_the_form_refuses_an_album_that_is_gone(runtime, admin):
    refused = admin.post_form("/admin/site", form(home="album", home_album="0" * 32))
    assert refused.status_code == 400
    assert "There is no such album to show on the home page." in refused.text


def test_the_form_needs_its_csrf_token_and_an_admin(runtime, admin, uploader, anonymous):
    no_token = admin.request("POST", "/admin/site", data=form(title="Forged"))
    assert no_token.status_code == 400 and runtime.site.get().title == "Gallery"
    assert uploader.get("/admin/site").status_code == 403
    assert uploader.post_form("/admin/site", form(title="Mine"),
                              form_page="/upload").status_code == 403
    assert anonymous.get("/admin/site").status_code == 302
    assert runtime.site.get().title == "Gallery"


def test_preview_renders_the_about_text_without_saving(runtime, admin):
    shown = admin.post_form("/admin/site", form(about="**Bold** <script>x</script>",
                                                action="preview"))
    assert shown.status_code == 200
    preview = shown.text.split('class="panel about-preview"')[1]
    assert "<strong>Bold</strong> &lt;script&gt;x&lt;/script&gt;" in preview
    assert "<script>x" not in shown.text
    assert runtime.site.get().about == ""
