"""People, not accounts: display names shown to visitors (usernames never), titles from
the date taken for camera file names, and the texts and order an upload gives its files."""

from __future__ import annotations

import html
import io
import re

import pytest
from PIL import Image

from tests.imaging import fixtures as img
from tests.web.conftest import ADMIN, UPLOADER
from tests.web.images import distinct_png

API = "/api/v1/images"


def jpeg_taken(taken: str = "2023:04:01 14:05:00", offset: str | None = "+09:00",
               colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    """A small JPEG whose EXIF says when it was taken (``DateTimeOriginal``)."""
    im = Image.new("RGB", (64, 48), colour)
    exif = Image.Exif()
    exif[0x010F] = "Nikon"
    details = exif.get_ifd(0x8769)
    details[0x9003] = taken
    if offset:
        details[0x9011] = offset
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def send(client, name: str, data: bytes, **fields):
    return client.api("POST", API, files={"file": (name, data, "image/jpeg")}, data=fields)


def names_page(client, page: str) -> str:
    return client.get(page).text


# --- display names ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Grandma Rose", "José Núñez", "李小龙", "Anne-Marie O'Neil",
                                  "J. R. R. Tolkien", "Zoë D’Arcy", "محمد", "Studio 54"])
def test_a_display_name_in_any_script_is_taken_on_the_account_page(uploader, runtime, name):
    response = uploader.post_form("/account/display-name", {"display_name": f"  {name} "},
                                  form_page="/account")
    assert response.status_code == 302
    assert runtime.accounts.get(UPLOADER[0]).display_name == name
    assert name in html.unescape(uploader.get("/account").text)


@pytest.mark.parametrize(("name", "why"), [
    ("Rose\x07", "control characters"),
    ("Rose\u202eesoR", "control characters"),
    ("x" * 61, "at most 60 characters"),
    ("<script>", "letters, digits, spaces, apostrophes, hyphens and dots"),
    ("Rose & Ada", "letters, digits, spaces, apostrophes, hyphens and dots"),
    ("2024", "at least one letter"),
    ("...", "at least one letter"),
])
def test_a_bad_display_name_is_refused_with_a_reason(uploader, runtime, name, why):
    response = uploader.post_form("/account/display-name", {"display_name": name},
                                  form_page="/account")
    assert response.status_code == 400
    assert why in response.text
    assert runtime.accounts.get(UPLOADER[0]).display_name == ""


def test_an_empty_display_name_removes_it(uploader, runtime):
    runtime.accounts.set_display_name(UPLOADER[0], "Grandma Rose")
    response = uploader.post_form("/account/display-name", {"display_name": "   "},
                                  form_page="/account")
    assert response.status_code == 302
    assert runtime.accounts.get(UPLOADER[0]).display_name == ""


def test_admins_set_display_names_on_the_users_page(admin, runtime):
    response = admin.post_form(f"/admin/users/{UPLOADER[0]}/display-name",
                               {"display_name": "Bob Básico"}, form_page="/admin/users")
    assert response.status_code == 302
    assert runtime.accounts.get(UPLOADER[0]).display_name == "Bob Básico"
    page = admin.get("/admin/users").text
    assert 'value="Bob Básico"' in page
    refused = admin.post_form(f"/admin/users/{UPLOADER[0]}/display-name",
                              {"display_name": "Bob\n"}, form_page="/admin/users")
    assert refused.status_code == 400 and "control characters" in refused.text
    created = admin.post_form("/admin/users", {"username": "rose", "password": "long enough pw",
                                               "role": "uploader", "display_name": "Grandma Rose"},
                              form_page="/admin/users")
    assert created.status_code == 302
    assert runtime.accounts.get("rose").display_name == "Grandma Rose"


def test_visitors_see_the_display_name_and_never_the_username(uploader, anonymous, runtime):
    runtime.accounts.set_display_name(UPLOADER[0], "Grandma Rose")
    image = send(uploader, "harbour.jpg", img.jpeg(160, 120)).json()
    album = uploader.api("POST", "/api/v1/albums",
                         json={"title": "Sea", "visibility": "public"}).json()
    uploader.api("POST", f"/api/v1/albums/{album['id']}/images", json={"add": [image["id"]]})

    for path in (f"/images/{image['id']}", "/", f"/albums/{album['id']}"):
        page = anonymous.get(path).text
        assert "Grandma Rose" in page, path
        assert not re.search(rf"\b{UPLOADER[0]}\b", page), f"{path} shows the username"
    shown = anonymous.get(API + f"/{image['id']}").json()
    assert (shown["uploaded_by"], shown["uploaded_by_name"]) == (None, "Grandma Rose")
    listed = anonymous.get(f"/api/v1/albums/{album['id']}").json()
    assert (listed["owner"], listed["owner_name"]) == (None, "Grandma Rose")
    # Signed in, the username is there too (the contract's uploaded_by and owner).
    mine = uploader.get(API + f"/{image['id']}").json()
    assert (mine["uploaded_by"], mine["uploaded_by_name"]) == (UPLOADER[0], "Grandma Rose")


def test_without_a_display_name_visitors_see_no_name(uploader, anonymous, admin):
    image = send(uploader, "harbour.jpg", img.jpeg(160, 120)).json()
    page = anonymous.get(f"/images/{image['id']}").text
    assert not re.search(rf"\b{UPLOADER[0]}\b", page)
    assert " by " not in page.split("<dt>Uploaded</dt>")[1].split("</dd>")[0]
    assert anonymous.get(API + f"/{image['id']}").json()["uploaded_by_name"] is None
    tiles = anonymous.get("/").text
    assert 'data-uploader=""' in tiles
    # Signed-in users see the username where there is no display name.
    assert f'data-uploader="{UPLOADER[0]}"' in admin.get("/").text


def test_share_pages_never_name_the_uploader(uploader, anonymous, runtime):
    image = send(uploader, "harbour.jpg", img.jpeg(160, 120)).json()
    album = uploader.api("POST", "/api/v1/albums", json={"title": "Sea"}).json()
    uploader.api("POST", f"/api/v1/albums/{album['id']}/images", json={"add": [image["id"]]})
    link = uploader.api("POST", f"/api/v1/albums/{album['id']}/links",
                        json={"allow_download": True, "show_details": True}).json()
    for path in (link["url"], f"{link['url']}/images/{image['id']}"):
        page = anonymous.get(path)
        assert page.status_code == 200, path
        assert not re.search(rf"\b{UPLOADER[0]}\b", page.text), path


def test_an_earlier_accounts_document_without_display_names_opens(runtime, make_client):
    import orjson

    runtime.accounts.create_user("old", "an old password", "uploader")
    keys = runtime.keys
    doc = orjson.loads(runtime.storage.get(keys.users))
    assert "display_name" not in doc["users"]["old"]
    assert runtime.accounts.get("old").display_name == ""
    runtime.accounts.set_display_name("old", "Old Timer")
    doc = orjson.loads(runtime.storage.get(keys.users))
    assert doc["users"]["old"]["display_name"] == "Old Timer"
    from gallery.accounts_backup import export

    assert orjson.loads(export(runtime.storage, keys))["users"]["old"]["display_name"] == "Old Timer"


# --- titles from the date taken -----------------------------------------------------------


def test_a_camera_file_name_becomes_the_date_taken(uploader, anonymous, admin):
    made = send(uploader, "DSCN0040.jpg", jpeg_taken()).json()
    assert made["title"] == "" and made["filename"] == "DSCN0040.jpg"
    page = uploader.get(f"/images/{made['id']}").text
    assert "<h1>1 April 2023, 14:05</h1>" in page
    assert 'data-title="1 April 2023, 14:05"' in admin.get("/").text
    # Visitors who may not see the date taken are not told it by the title either.
    hidden = anonymous.get(f"/images/{made['id']}").text
    assert "1 April 2023" not in hidden and "<h1>DSCN0040</h1>" in hidden


@pytest.mark.parametrize("settings", [{"show_details": True}])
def test_visitors_see_the_date_where_details_are_shown(uploader, anonymous):
    made = send(uploader, "IMG_1234.JPG", jpeg_taken("2024:12:31 23:59:00", None)).json()
    assert "<h1>31 December 2024, 23:59</h1>" in anonymous.get(f"/images/{made['id']}").text


def test_other_names_and_typed_titles_stay(uploader, runtime):
    plain = send(uploader, "harbour at dawn.jpg", jpeg_taken(colour=(1, 2, 3))).json()
    assert plain["title"] == "harbour at dawn"
    typed = send(uploader, "PXL_20230401_123456789.jpg", jpeg_taken(colour=(9, 9, 9)),
                 title="Cherry blossom").json()
    assert "<h1>Cherry blossom</h1>" in uploader.get(f"/images/{typed['id']}").text
    undated = send(uploader, "P1010001.jpg", img.jpeg(100, 80)).json()
    assert undated["title"] == "P1010001"  # no date taken: nothing better than the name


def test_an_image_stored_earlier_with_a_camera_title_shows_its_date(uploader, runtime):
    made = send(uploader, "GOPR0001.jpg", jpeg_taken(colour=(200, 10, 10))).json()
    # As uploads were stored before: the file's stem as the title.
    runtime.images.update(made["id"], {"title": "GOPR0001"},
                          actor=__import__("gallery.images.results", fromlist=["Actor"]).Actor(
                              ADMIN[0], is_admin=True))
    assert "<h1>1 April 2023, 14:05</h1>" in uploader.get(f"/images/{made['id']}").text


@pytest.mark.parametrize(("name", "camera"), [
    ("DSCN0040", True), ("IMG_1234", True), ("DSC_0001", True), ("P1010001", True),
    ("PXL_20230401_123456789", True), ("PXL_20230401_123456789.MP", True),
    ("20230401_123456", True), ("GOPR0001", True), ("MVIMG_20230401_123456", True),
    ("IMG_20230401_140500", True), ("IMG_1234 (1)", True), ("DSCF1234", True),
    ("Screenshot_20230401-123456", False), ("holiday", False), ("IMG of the sea", False),
    ("Rome 2023", False),
])
def test_camera_names(name, camera):
    from gallery.images.titles import is_camera_name

    assert is_camera_name(name) is camera


# --- uploads with texts, tags and order -------------------------------------------------


def test_an_api_upload_takes_title_description_and_tags(uploader):
    made = send(uploader, "a.png", distinct_png(1), title=" Beach day ",
                description="Low tide.", tags="beach, Summer 2026, beach")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["title"], body["description"], body["tags"]) == (
        "Beach day", "Low tide.", ["beach", "Summer 2026"])


@pytest.mark.parametrize(("fields", "message"), [
    ({"tags": "x" * 51}, "at most 50 characters"),
    ({"tags": ",".join(f"t{n}" for n in range(31))}, "at most 30 tags"),
    ({"tags": "bad\x01tag"}, "control characters"),
    ({"title": "t" * 201}, "too long"),
])
def test_bad_upload_texts_are_refused_before_anything_is_stored(uploader, runtime, fields,
                                                                message):
    response = send(uploader, "a.png", distinct_png(2), **fields)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert runtime.images.list_images(limit=5)[0] == []


def test_the_upload_form_gives_every_file_its_texts_and_keeps_the_picked_order(uploader,
                                                                                runtime):
    files = [("images", (f"p{n}.png", distinct_png(10 + n), "image/png")) for n in range(4)]
    response = uploader.post_form("/upload", {"title": "Picnic", "description": "In the park",
                                              "tags": "park, family"}, files=files)
    assert response.status_code == 200
    images = runtime.images.list_images(limit=10)[0]
    assert [i["filename"] for i in images] == ["p0.png", "p1.png", "p2.png", "p3.png"]
    assert {(i["title"], i["description"], tuple(i["tags"])) for i in images} == {
        ("Picnic", "In the park", ("park", "family"))}


def test_the_upload_form_refuses_bad_tags_with_a_message(uploader, runtime):
    files = [("images", ("p.png", distinct_png(30), "image/png"))]
    response = uploader.post_form("/upload", {"tags": "y" * 60}, files=files)
    assert response.status_code == 400
    assert "at most 50 characters" in response.text
    assert 'value="' + "y" * 60 + '"' in response.text  # what was typed is kept
    assert runtime.images.list_images(limit=5)[0] == []


def test_created_at_keeps_files_sent_one_by_one_in_the_order_picked(uploader, runtime):
    from datetime import UTC, datetime, timedelta

    picked = datetime.now(UTC) - timedelta(seconds=5)
    stamps = [(picked - timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z")
              for n in range(3)]
    for n in (2, 0, 1):  # they arrive in any order
        assert send(uploader, f"f{n}.png", distinct_png(40 + n),
                    created_at=stamps[n]).status_code == 201
    images = runtime.images.list_images(limit=10)[0]
    assert [i["filename"] for i in images] == ["f0.png", "f1.png", "f2.png"]
    # A time older than a day, or well in the future, is not taken: the upload's own time is.
    old = send(uploader, "old.png", distinct_png(50), created_at="2001-01-01T00:00:00Z").json()
    assert old["created_at"] > stamps[0]
    assert send(uploader, "x.png", distinct_png(51), created_at="yesterday").status_code == 400
