"""What the pages hand to their scripts and to the browser: markup, limits, tokens, policy.

The browser itself is exercised elsewhere; these tests read the pages over HTTP
as a browser would receive them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from gallery.web.views import placeholder
from tests.imaging import fixtures as img
from tests.web.images import distinct_png

HEX = re.compile(r"[0-9a-f]{32}")


class Element(dict):
    """One start tag: its attributes, plus ``tag`` and the text up to the next tag."""

    tag: str
    text: str


class Markup(HTMLParser):
    """Every element of a page, in order, with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element((name, value if value is not None else "") for name, value in attrs)
        element.tag = tag
        element.text = ""
        self.elements.append(element)

    def handle_data(self, data: str) -> None:
        if self.elements:
            self.elements[-1].text += data

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        """Elements named ``tag`` whose attributes include ``attrs`` (``class_`` matches one class)."""
        wanted_class = attrs.pop("class_", None)
        found = []
        for element in self.elements:
            if element.tag != tag or any(element.get(k) != v for k, v in attrs.items()):
                continue
            if wanted_class and wanted_class not in element.get("class", "").split():
                continue
            found.append(element)
        return found

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


def page(client, path: str) -> Markup:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return Markup(response.text)


def post_image(client, name: str, data: bytes) -> dict:
    response = client.api("POST", "/api/v1/images", files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


def tiles(markup: Markup) -> list[tuple[Element, Element]]:
    """Each grid tile's link and its image, in order."""
    links = markup.find_all("a", class_="tile")
    images = markup.find_all("img", loading="lazy")
    assert len(links) == len(images)
    return list(zip(links, images, strict=True))


# --- the grid ---------------------------------------------------------------------------


def test_grid_images_carry_srcset_sizes_dimensions_and_placeholder(uploader, anonymous):
    image = post_image(uploader, "Harbour.jpg", img.jpeg(width=2400, height=1600))
    [(link, thumb)] = tiles(page(anonymous, "/"))
    variants = image["variants"]
    assert thumb["src"] == f"/media/{image['id']}/sm"
    # Every thumbnail, smallest first, with the width it really has.
    assert thumb["srcset"] == ", ".join(
        f"/media/{image['id']}/{name} {variants[name]['width']}w" for name in ("sm", "md", "lg")
    )
    assert [variants[n]["width"] for n in ("sm", "md", "lg")] == [400, 800, 1600]
    # About the width the tile is drawn at: a fifth of the screen times its shape (3:2).
    assert thumb["sizes"] == "(max-width: 1300px) 32vw, 420px"
    assert (thumb["width"], thumb["height"]) == (str(variants["sm"]["width"]), str(variants["sm"]["height"]))
    assert thumb["loading"] == "lazy" and thumb["decoding"] == "async"
    assert thumb["alt"] == "Harbour"
    assert re.fullmatch(r"#[0-9a-f]{6}", image["placeholder"])
    assert thumb["style"] == f"background-color: {image['placeholder']}"
    assert link["href"] == f"/images/{image['id']}"


def test_tiles_carry_what_the_lightbox_shows(uploader, anonymous):
    image = post_image(uploader, "meadow.png", distinct_png(1, (3000, 1500)))
    uploader.api("PATCH", f"/api/v1/images/{image['id']}", json={"title": 'Alpine "meadow" <b>'})
    markup = page(anonymous, "/")
    [(link, thumb)] = tiles(markup)
    lg = image["variants"]["lg"]
    assert link["data-id"] == image["id"]
    assert link["data-title"] == 'Alpine "meadow" <b>'  # escaped in the markup, exact once parsed
    assert thumb["alt"] == 'Alpine "meadow" <b>'
    assert link["data-lg"] == f"/media/{image['id']}/lg"
    assert (link["data-lg-width"], link["data-lg-height"]) == (str(lg["width"]), str(lg["height"]))
    assert link["data-original"] == f"/media/{image['id']}"
    assert link["data-dimensions"] == "3000 × 1500 px"
    assert link["data-size"].endswith(("KB", "bytes", "MB"))
    assert link["data-uploader"] == ""  # visitors are not told usernames (no display name)
    assert link["data-created"] == image["created_at"]
    assert link["data-date"] == image["created_at"][:16].replace("T", " ") + " UTC"
    assert link["data-placeholder"] == image["placeholder"]
    # The lightbox itself is in the page, closed, with its controls.
    dialog = markup.one("dialog", id="lightbox")
    assert "open" not in dialog
    for control in ("lightbox-prev", "lightbox-next", "lightbox-close"):
        button = markup.one("button", class_=control)
        assert button["type"] == "button" and button["aria-label"]
    markup.one("a", class_="lightbox-original")
    markup.one("h2", class_="lightbox-title")


def test_small_images_list_each_width_once(uploader, anonymous):
    image = post_image(uploader, "tiny.png", distinct_png(2, (48, 32)))
    [(_, thumb)] = tiles(page(anonymous, "/"))
    widths = [entry.rsplit(" ", 1)[1] for entry in thumb["srcset"].split(", ")]
    assert widths == ["48w"]  # every thumbnail is 48 wide: listing it thrice would be invalid
    assert (thumb["width"], thumb["height"]) == ("48", "32")
    assert image["variants"]["sm"]["width"] == 48


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_pages_link_to_each_other_and_say_where_they_are(uploader, anonymous):
    ids = [post_image(uploader, f"n{n}.png", distinct_png(n))["id"] for n in range(5)]
    newest_first = ids[::-1]

    first = page(anonymous, "/")
    grid = first.one("ul", id="grid")
    position = (grid["data-page"], grid["data-pages"], grid["data-total"], grid["data-offset"])
    assert position == ("1", "3", "5", "0")
    assert [link["data-id"] for link, _ in tiles(first)] == newest_first[:2]
    assert first.one("a", rel="next")["href"] == "/?page=2"
    assert not first.find_all("a", rel="prev")

    second = page(anonymous, "/?page=2")
    grid = second.one("ul", id="grid")
    assert (grid["data-page"], grid["data-offset"]) == ("2", "2")
    assert [link["data-id"] for link, _ in tiles(second)] == newest_first[2:4]
    assert {li["data-page"] for li in second.find_all("li") if "data-page" in li} == {"2"}
    assert second.one("a", rel="next")["href"] == "/?page=3"
    assert second.one("a", rel="prev")["href"] == "/?page=1"

    last = page(anonymous, "/?page=3")
    assert [link["data-id"] for link, _ in tiles(last)] == newest_first[4:]
    assert not last.find_all("a", rel="next")
    assert anonymous.get("/?page=4").status_code == 404


def test_empty_gallery_has_no_grid_and_no_lightbox(anonymous):
    markup = page(anonymous, "/")
    assert not markup.find_all("ul", id="grid")
    assert not markup.find_all("dialog")
    assert "No images yet." in anonymous.get("/").text


# --- the upload page ----------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"max_file_bytes": 3_000_000}])
def test_upload_page_tells_its_script_the_limits_and_the_token(uploader):
    markup = page(uploader, "/upload")
    form = markup.one("form", id="upload-form")
    assert form["data-api"] == "/api/v1/images"
    assert form["data-max-file-bytes"] == "3000000"
    assert set(form["data-types"].split(",")) == {
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/avif",
        "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif-sequence"}
    assert {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".avif"} <= set(
        form["data-extensions"].split(","))
    assert "up to 3.0 MB each" in uploader.get("/upload").text
    # The pickers and the places the script reports to.
    images = markup.one("input", id="images")
    assert (images["type"], images["name"]) == ("file", "images") and "multiple" in images
    folder = markup.one("input", id="folder")
    assert folder["type"] == "file" and "webkitdirectory" in folder
    assert markup.one("label", **{"for": "images"}) and markup.one("label", **{"for": "folder"})
    markup.one("div", id="dropzone")
    markup.one("ul", id="upload-list")
    markup.one("p", id="upload-summary")  # what the page shows, sticky above the list
    announce = markup.one("p", id="upload-announce")  # what is read out, now and then
    assert (announce["role"], announce["aria-live"]) == ("status", "polite")
    assert markup.one("input", id="upload-title", name="title")["maxlength"] == "200"
    markup.one("textarea", id="upload-description", name="description")
    markup.one("input", id="upload-tags", name="tags")
    # The token in the page is the one the API accepts from this session.
    token = markup.one("meta", name="csrf-token")["content"]
    response = uploader.request("POST", "/api/v1/images", headers={"X-CSRFToken": token},
                                files={"file": ("a.png", distinct_png(3))})
    assert response.status_code == 201
    refused = uploader.request("POST", "/api/v1/images", headers={"X-CSRFToken": "forged"},
                               files={"file": ("b.png", distinct_png(4))})
    assert refused.status_code == 400
    assert "CSRF" in refused.json()["error"]["message"]


@pytest.mark.parametrize("settings", [{"max_file_bytes": 10_000}])
def test_the_server_judges_files_the_page_would_have_let_through(uploader):
    """The page's checks are a courtesy: a file sent anyway gets the server's own message."""
    token = page(uploader, "/upload").one("meta", name="csrf-token")["content"]
    response = uploader.request("POST", "/api/v1/images", headers={"X-CSRFToken": token},
                                files={"file": ("big.jpg", img.jpeg(width=1200, height=900))})
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]["message"]
    response = uploader.request("POST", "/api/v1/images", headers={"X-CSRFToken": token},
                                files={"file": ("notes.jpg", img.html())})
    assert response.status_code == 415
    assert "not an image we accept" in response.json()["error"]["message"]


def test_folder_picker_also_posts_without_javascript(uploader):
    """Both pickers are named ``images``: the plain form sends a picked folder's files too,
    leaving out the folder's hidden files as the script does."""
    token = uploader.csrf("/upload")
    response = uploader.request(
        "POST", "/upload", data={"csrf_token": token},
        files=[("images", ("a.png", distinct_png(5), "image/png")),
               ("images", ("trip/b.png", distinct_png(6), "image/png")),
               ("images", ("trip/.DS_Store", b"\x00\x00\x00\x01Bud1", "application/octet-stream")),
               ("images", ("trip/.thumbs/c.png", distinct_png(7), "image/png"))],
    )
    assert response.status_code == 200
    assert response.text.count("Uploaded.") == 2
    assert "Skipped 2 hidden files in the folder." in response.text
    assert ".DS_Store" not in response.text
    titles = [link["data-title"] for link, _ in tiles(page(uploader, "/"))]
    assert sorted(titles) == ["a", "b"]


def test_a_folder_of_only_hidden_files_asks_for_images(uploader):
    response = uploader.post_form(
        "/upload", files=[("images", ("trip/.DS_Store", b"Bud1", "application/octet-stream"))])
    assert response.status_code == 400
    assert "Choose at least one image." in response.text


# --- the image page -------------------------------------------------------------------------


def test_owner_page_has_what_in_place_editing_needs(uploader):
    image = post_image(uploader, "cliffs.jpg", img.jpeg())
    markup = page(uploader, f"/images/{image['id']}")
    form = markup.one("form", class_="edit")
    assert form["data-api"] == f"/api/v1/images/{image['id']}"
    assert form["action"] == f"/images/{image['id']}/edit"  # the form still works on its own
    assert markup.one("span", id="edit-status")["role"] == "status"
    assert markup.one("a", class_="delete-link")["href"] == f"/images/{image['id']}/delete"
    dialog = markup.one("dialog", id="confirm-delete")
    # The delete goes to the trash, and the next page offers its Undo.
    assert dialog["data-api"] == f"/api/v1/images/{image['id']}?undo=1"
    assert dialog["data-trash"] == "30"
    markup.one("button", class_="confirm-delete")
    markup.one("button", class_="cancel")
    assert "It goes to the trash" in uploader.get(f"/images/{image['id']}").text
    # The page's token lets the script save and delete through the API.
    token = markup.one("meta", name="csrf-token")["content"]
    saved = uploader.request("PATCH", form["data-api"], headers={"X-CSRFToken": token},
                             json={"title": "Coastal cliffs", "description": "At dusk"})
    assert saved.status_code == 200
    assert saved.json()["title"] == "Coastal cliffs"
    assert page(uploader, f"/images/{image['id']}").one("h1").text.strip() == "Coastal cliffs"
    deleted = uploader.request("DELETE", dialog["data-api"], headers={"X-CSRFToken": token})
    assert deleted.status_code == 204
    assert "Moved “Coastal cliffs” to the trash." in uploader.get("/").text
    assert uploader.get(f"/images/{image['id']}").status_code == 404


def test_visitors_get_no_editing_script_token_or_dialog(uploader, anonymous):
    image = post_image(uploader, "cliffs.jpg", img.jpeg())
    response = anonymous.get(f"/images/{image['id']}")
    markup = Markup(response.text)
    assert not markup.find_all("meta", name="csrf-token")
    assert not markup.find_all("dialog")
    assert not markup.find_all("form", class_="edit")
    assert "image.js" not in response.text
    thumb = markup.one("img")
    assert thumb["src"] == f"/media/{image['id']}/lg"
    lg = image["variants"]["lg"]
    assert (thumb["width"], thumb["height"]) == (str(lg["width"]), str(lg["height"]))


# --- scripts, policy, and nothing from elsewhere -------------------------------------------------


def pages_to_check(uploader) -> list[str]:
    image = post_image(uploader, "square.png", distinct_png(9))
    return ["/", f"/images/{image['id']}", f"/images/{image['id']}/delete", "/upload",
            "/images/" + "0" * 32]


def test_pages_load_their_scripts_from_this_site_with_a_script_type(uploader):
    seen: set[str] = set()
    for path in pages_to_check(uploader):
        markup = Markup(uploader.get(path).text)
        for script in markup.find_all("script"):
            assert script.get("src"), f"inline script on {path}"
            assert script.get("type") == "module" or "defer" in script
            seen.add(script["src"])
    assert {"/static/site.js", "/static/grid.js", "/static/image.js", "/static/upload.js"} <= seen
    # Each script, and each module it imports, is served as JavaScript.
    queue, served = list(seen), set()
    while queue:
        src = queue.pop()
        if src in served:
            continue
        served.add(src)
        response = uploader.get(src)
        assert response.status_code == 200, src
        assert response.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
        for module in re.findall(r'from\s+"\./([\w-]+\.js)"', response.text):
            queue.append(f"/static/{module}")
    assert "/static/lib.js" in served


def test_html_pages_carry_a_content_security_policy(uploader, anonymous):
    for client, path in [(anonymous, "/"), (anonymous, "/login"), (uploader, "/upload"),
                         (anonymous, "/images/" + "0" * 32)]:
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["default-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert "'unsafe-inline'" not in directives["style-src"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Media keeps its own, stricter policy.
    image = post_image(uploader, "x.png", distinct_png(10))
    media = anonymous.get(f"/media/{image['id']}/sm")
    assert media.headers["Content-Security-Policy"].startswith("sandbox")


def test_no_page_loads_anything_from_another_site(uploader):
    paths = pages_to_check(uploader)
    for path in paths:
        markup = Markup(uploader.get(path).text)
        for element in markup.elements:
            assert not any(name.startswith("on") for name in element), f"inline handler on {path}"
            for name in ("src", "href", "action", "srcset", "data-lg", "data-original"):
                for url in element.get(name, "").split(","):
                    url = url.strip().split(" ")[0]
                    parts = urlsplit(url)
                    assert not parts.netloc and parts.scheme in ("", "data"), f"{url} on {path}"
    for asset in ("style.css", "site.js", "lib.js", "grid.js", "image.js", "upload.js"):
        text = uploader.get(f"/static/{asset}").text
        assert not re.search(r"(https?:)?//[\w.-]+\.[a-z]{2,}/", text), asset
        assert "@import" not in text


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("#A1b2C3", "#a1b2c3"), ("red; background: url(//x.example/)", "#888888"),
     ('#123456" onload="x', "#888888"), (None, "#888888"), (123, "#888888")],
)
def test_only_well_formed_placeholder_colours_reach_a_style_attribute(stored, shown):
    assert placeholder({"placeholder": stored}) == shown
