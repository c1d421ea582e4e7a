"""The site's settings (gallery/site.py): rules, compare-and-swap, every instance seeing a
change within seconds, the audit log, export and import, doctor; and the about page's
Markdown (gallery/markdown.py)."""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest
from gallery.images.results import Actor
from gallery.markdown import ALLOWED_TAGS, render
from gallery.site import DEFAULT, MAX_ABOUT, RECHECK_SECONDS, SiteSettings
from gallery.storage.memory import MemoryStorage
from tests.operations.conftest import build_runtime
from tests.support.faulty import FaultyStorage

ADA = Actor("ada", is_admin=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runtime():
    rt = build_runtime(MemoryStorage())
    rt.accounts.create_user("ada", "a long password", "admin")
    return rt


def test_a_gallery_that_never_saved_its_settings_uses_the_defaults(runtime):
    assert runtime.site.get() == DEFAULT
    assert DEFAULT.title == "Gallery" and DEFAULT.home == "latest" and not DEFAULT.has_about
    assert runtime.site.loaded().version is None
    assert not list(runtime.storage.list(runtime.keys.site))  # reading writes nothing


def test_saving_keeps_the_other_settings_and_records_who(runtime):
    runtime.site.update({"title": "  Ada's   photos ", "tagline": "Light"}, actor="ada")
    site = runtime.site.update({"about": "Hello\r\nworld\n\n"}, actor="ada")
    assert (site.title, site.tagline, site.about) == ("Ada's photos", "Light", "Hello\nworld")
    assert site.updated_by == "ada" and site.updated_at
    stored = orjson.loads(runtime.storage.read(runtime.keys.site)[0])
    assert stored["format"] == 1 and stored["title"] == "Ada's photos"
    entries = [e for e in runtime.audit.latest(10) if e.action == "site.update"]
    assert [e.details["fields"] for e in entries] == ["about", "title, tagline"]


def test_saving_nothing_new_writes_nothing(runtime):
    runtime.site.update({"title": "Mine"}, actor="ada")
    version = runtime.site.loaded().version
    runtime.site.update({"title": "Mine"}, actor="ada")
    assert runtime.site.document.load().version == version
    assert len([e for e in runtime.audit.latest(10) if e.action == "site.update"]) == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"title": ""}, "Give the site a title (1 to 100 characters)."),
    ({"title": "   "}, "Give the site a title (1 to 100 characters)."),
    ({"title": "x" * 101}, "The title is 101 characters long; 100 at most."),
    ({"title": "a\nb"}, "The title cannot hold control characters"),
    ({"title": "a\x00b"}, "The title cannot hold control characters"),
    ({"title": 7}, "The title must be text."),
    ({"tagline": "t" * 201}, "The tagline is 201 characters long; 200 at most."),
    ({"about": "a" * (MAX_ABOUT + 1)}, "The about text is 20,001 characters long; 20,000 at most."),
    ({"about": "a\x07b"}, "The about text cannot hold control characters"),
    ({"contact": "javascript:alert(1)"}, "The contact link must be an https://, http:// or mailto:"),
    ({"contact": "ftp://example.com"}, "The contact link must be an https://"),
    ({"contact": "https://"}, "The contact link must be an https://"),
    ({"contact": "mailto:nobody"}, "The contact link must be an https://"),
    ({"contact": "https://exa mple.com"}, "It cannot hold spaces."),
    ({"home": "somewhere"}, "The home page shows “latest”, “albums” or “album”."),
    ({"home": "album"}, "Choose the album the home page shows."),
    ({"home": "album", "home_album": "0" * 32}, "There is no such album to show on the home page."),
    ({"home": "album", "home_album": "../x"}, "There is no such album to show on the home page."),
    ({"show_details": "yes"}, "“show_details” is true, false or null"),
    ({"colour": "red"}, "Unknown site setting colour"),
])
def test_refused_values_say_why_and_change_nothing(runtime, changes, message):
    runtime.site.update({"title": "Before"}, actor="ada")
    with pytest.raises(BadRequest) as refused:
        runtime.site.update(changes, actor="ada")
    assert refused.value.status == 400
    assert message in refused.value.message
    assert runtime.site.document.load().value.title == "Before"


@pytest.mark.parametrize("contact", [
    "https://example.com/contact", "http://example.com", "mailto:ada@example.com",
    "mailto:ada@example.com?subject=Photos",
])
def test_contact_links_of_the_allowed_kinds(runtime, contact):
    assert runtime.site.update({"contact": contact}, actor="ada").contact == contact


def test_the_home_album_must_exist_and_other_modes_forget_it(runtime):
    album = runtime.albums.create(title="Best", visibility="public", actor=ADA)
    site = runtime.site.update({"home": "album", "home_album": album.id}, actor="ada")
    assert (site.home, site.home_album) == ("album", album.id)
    site = runtime.site.update({"home": "albums"}, actor="ada")
    assert (site.home, site.home_album) == ("albums", None)


def test_two_admins_saving_at_once_both_get_their_change(runtime):
    other = SiteSettings(runtime.storage, runtime.keys, album_exists=runtime.albums.exists)
    barrier = threading.Barrier(2)

    def save(service, changes):
        barrier.wait()
        service.update(changes, actor="ada")

    threads = [threading.Thread(target=save, args=(runtime.site, {"title": "Both"})),
               threading.Thread(target=save, args=(other, {"tagline": "kept"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = runtime.site.document.load().value
    assert (stored.title, stored.tagline) == ("Both", "kept")


def test_another_instance_sees_a_change_within_seconds(runtime):
    clock = Clock()
    other = SiteSettings(runtime.storage, runtime.keys, album_exists=runtime.albums.exists,
                         clock=clock)
    assert other.get().title == "Gallery"
    runtime.site.update({"title": "Renamed"}, actor="ada")
    clock.now += RECHECK_SECONDS / 2
    assert other.get().title == "Gallery"  # trusted for a moment, without asking the storage
    clock.now += RECHECK_SECONDS
    assert other.get().title == "Renamed"
    assert RECHECK_SECONDS <= 5


def test_a_damaged_document_is_left_alone_and_pages_keep_working(runtime):
    runtime.site.update({"title": "Kept"}, actor="ada")
    runtime.storage.put(runtime.keys.site, b"{not json", content_type="application/json")
    clock = Clock()
    fresh = SiteSettings(runtime.storage, runtime.keys, album_exists=runtime.albums.exists,
                         clock=clock)
    with pytest.raises(DocumentDamaged):
        fresh.get()
    assert fresh.current() == DEFAULT  # pages show the defaults rather than failing
    clock.now += RECHECK_SECONDS + 1
    assert fresh.current() == DEFAULT
    with pytest.raises(DocumentDamaged):
        fresh.update({"title": "Over it"}, actor="ada")
    assert runtime.storage.read(runtime.keys.site)[0] == b"{not json"
    [check] = [c for c in runtime.operations.doctor() if c.name == "site settings"]
    assert not check.ok and "delete the object" in check.fix


def test_pages_keep_the_last_settings_while_the_storage_is_away(runtime, caplog):
    runtime.site.update({"title": "Still mine"}, actor="ada")
    down = FaultyStorage(runtime.storage)
    clock = Clock()
    service = SiteSettings(down, runtime.keys, album_exists=runtime.albums.exists, clock=clock)
    assert service.current().title == "Still mine"
    down.fail("*")
    clock.now += RECHECK_SECONDS + 1
    for _ in range(5):
        assert service.current().title == "Still mine"
    asked = down.total_failures
    assert asked == 1  # then the storage is left alone for a while
    assert len([r for r in caplog.records if "Site settings unavailable" in r.message]) == 1
    down.heal()
    runtime.site.update({"title": "Back"}, actor="ada")
    clock.now += RECHECK_SECONDS + 1
    assert service.current().title == "Back"


def test_doctor_names_a_home_album_that_is_gone(runtime):
    album = runtime.albums.create(title="Soon gone", visibility="public", actor=ADA)
    runtime.site.update({"home": "album", "home_album": album.id}, actor="ada")
    [check] = [c for c in runtime.operations.doctor() if c.name == "site settings"]
    assert check.ok and "site.json is readable" in check.message
    runtime.albums.delete(album.id, actor=ADA)
    [check] = [c for c in runtime.operations.doctor() if c.name == "site settings"]
    assert not check.ok and album.id in check.message and "/admin/site" in check.fix


@pytest.mark.parametrize("dest", ["folder", "export.zip"])
def test_export_and_import_carry_the_settings(runtime, tmp_path: Path, dest):
    album = runtime.albums.create(title="Home", visibility="public", actor=ADA)
    runtime.site.update({"title": "Moved", "about": "# Hi", "contact": "mailto:a@b.example",
                         "home": "album", "home_album": album.id, "show_details": True},
                        actor="ada")
    report = runtime.operations.export_to(tmp_path / dest, actor="cli")
    assert report.site and "The site's settings are in site.json." in report.lines()

    target = build_runtime(MemoryStorage(), prefix="other/")
    target.accounts.create_user("ada", "a long password", "admin")
    done = target.operations.import_from(tmp_path / dest, username="ada", actor="cli")
    assert done.site == "imported"
    site = target.site.get()
    assert (site.title, site.about, site.contact, site.show_details) == (
        "Moved", "# Hi", "mailto:a@b.example", True)
    assert (site.home, site.home_album) == ("album", album.id)  # the album came along

    again = target.operations.import_from(tmp_path / dest, username="ada", actor="cli")
    assert again.site == "kept" and any("Kept this gallery's own" in line
                                        for line in again.lines())


def test_an_import_without_the_album_falls_back_to_the_latest_images(runtime, tmp_path: Path):
    album = runtime.albums.create(title="Home", visibility="public", actor=ADA)
    runtime.site.update({"home": "album", "home_album": album.id}, actor="ada")
    runtime.operations.export_to(tmp_path / "out", actor="cli")
    albums = tmp_path / "out" / "albums.json"
    albums.write_bytes(orjson.dumps({"format": 1, "albums": []}))
    manifest = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())
    (tmp_path / "out" / "manifest.json").write_bytes(orjson.dumps({**manifest, "albums": 0}))
    target = build_runtime(MemoryStorage(), prefix="other/")
    target.accounts.create_user("ada", "a long password", "admin")
    assert target.operations.import_from(tmp_path / "out", username="ada", actor="cli").site \
        == "imported"
    assert (target.site.get().home, target.site.get().home_album) == ("latest", None)


def test_a_damaged_site_json_in_an_export_stops_nothing_else(runtime, tmp_path: Path):
    runtime.site.update({"title": "Fine"}, actor="ada")
    runtime.operations.export_to(tmp_path / "out", actor="cli")
    (tmp_path / "out" / "site.json").write_bytes(orjson.dumps({"format": 1, "title": ""}))
    target = build_runtime(MemoryStorage(), prefix="other/")
    target.accounts.create_user("ada", "a long password", "admin")
    report = target.operations.import_from(tmp_path / "out", username="ada", actor="cli")
    assert report.site.startswith("rejected: site.json Give the site a title")
    assert target.site.get() == DEFAULT


def test_an_export_of_a_gallery_that_never_saved_settings_has_no_site_json(runtime, tmp_path):
    report = runtime.operations.export_to(tmp_path / "out", actor="cli")
    assert not report.site and not (tmp_path / "out" / "site.json").exists()
    assert orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())["site"] is False


# --- the about page's Markdown ------------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<div onclick="alert(1)">raw block</div>',
    "<iframe src=https://evil.example></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "<style>body{display:none}</style>",
    "<!-- comment --><b onmouseover=alert(1)>bold</b>",
])
def test_markdown_lets_no_script_through(payload):
    html = render(f"Before\n\n{payload}\n\nAfter")
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (payload, html)
        for name, value in attrs:
            assert not name.startswith("on") and name != "style", (payload, html)
            if name in ("href", "src"):
                scheme = urlsplit(value or "").scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), (payload, html)
    assert "<p>Before</p>" in html and "<p>After</p>" in html
    assert "<!--" not in html


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of ``html`` as a browser's parser sees it: tag and attributes."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_markdown_keeps_what_people_write():
    html = render("# Me\n\nI take *photos* of **light**. [Portfolio](https://ada.example) · "
                  "[mail](mailto:ada@example.com) · [albums](/albums)\n\n- one\n- two\n\n"
                  "![A pier](/media/" + "a" * 32 + "/md)")
    assert "<h2>Me</h2>" in html  # the page has its own h1
    assert "<em>photos</em>" in html and "<strong>light</strong>" in html
    assert '<a href="https://ada.example" rel="nofollow noopener">Portfolio</a>' in html
    assert 'href="mailto:ada@example.com"' in html and 'href="/albums"' in html
    assert "<li>one</li>" in html
    assert f'<img src="/media/{"a" * 32}/md" alt="A pier">' in html
    assert render("  \n ") == ""
