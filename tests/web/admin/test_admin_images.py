"""The image table: rows, sorting, filters, pages, bulk delete and in-place editing."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from gallery.images.results import Actor
from tests.web.admin.forms import csrf_of

ROW = re.compile(r'<tr id="image-([0-9a-f]{32})">')


def row_ids(html: str) -> list[str]:
    return ROW.findall(html)


@pytest.fixture
def three(add_image):
    """Three images: different names, uploaders, types and sizes; ``c`` is the newest."""
    a = add_image("apple.png", "bob", title="Apple", size=(40, 30))
    b = add_image("Birch.png", "ada", title="birch", size=(300, 200))
    c = add_image("cloud.png", "bob", title="Cloud", size=(90, 60))
    return a, b, c


def test_table_shows_each_image(admin, three):
    a, b, c = three
    page = admin.get("/admin/images").text
    assert row_ids(page) == [c["id"], b["id"], a["id"]]  # newest first
    assert "Images 1–3 of 3" in page
    assert f'src="/media/{a["id"]}/sm"' in page
    assert f'href="/images/{a["id"]}" data-name>Apple</a>' in page
    assert "300 × 200" in page and "image/png" in page
    assert f'datetime="{a["created_at"]}"' in page
    assert f'<input type="checkbox" name="ids" value="{a["id"]}" form="bulk"' in page
    assert '<th scope="col" aria-sort="descending">' in page  # the date column
    assert '<table class="admin-table images">' in page and "<caption>" in page


def test_header_links_sort_and_mark_the_column(admin, three):
    a, b, c = three
    page = admin.get("/admin/images").text
    link = unescape(re.search(r'<a href="([^"]+)">Name', page).group(1))
    assert parse_qs(urlsplit(link).query) == {"sort": ["name"], "order": ["asc"]}
    by_name = admin.get(link).text
    assert row_ids(by_name) == [a["id"], b["id"], c["id"]]
    assert re.search(r'aria-sort="ascending">\s*<a href="[^"]+">Name', by_name)

    assert row_ids(admin.get("/admin/images?sort=size").text) == [b["id"], c["id"], a["id"]]
    assert row_ids(admin.get("/admin/images?sort=size&order=asc").text) == [a["id"], c["id"], b["id"]]
    assert row_ids(admin.get("/admin/images?sort=uploader").text)[0] == b["id"]
    assert row_ids(admin.get("/admin/images?sort=date&order=asc").text) == [a["id"], b["id"], c["id"]]


def test_filters(admin, three, add_image):
    a, b, c = three
    assert row_ids(admin.get("/admin/images?uploader=bob").text) == [c["id"], a["id"]]
    assert row_ids(admin.get("/admin/images?q=BIRCH").text) == [b["id"]]
    assert row_ids(admin.get("/admin/images?q=cloud.png").text) == [c["id"]]
    page = admin.get("/admin/images?uploader=ada&q=nothing").text
    assert row_ids(page) == []
    assert "Nothing matches" in page and "Clear filters" in page
    # The filter choices list every uploader and type.
    page = admin.get("/admin/images").text
    assert '<option value="ada">ada</option>' in page
    assert '<option value="image/png">image/png</option>' in page
    assert row_ids(admin.get("/admin/images?type=image/png").text) == [c["id"], b["id"], a["id"]]
    assert row_ids(admin.get("/admin/images?type=image/jpeg").text) == []


def test_pages_keep_sort_and_filters_in_the_link(admin, add_image):
    made = [add_image(f"img{n:02d}.png", "bob") for n in range(27)]
    first = admin.get("/admin/images?sort=name&order=asc&uploader=bob&per_page=25")
    assert first.status_code == 200
    assert row_ids(first.text) == [m["id"] for m in made[:25]]
    assert "Page 1 of 2" in first.text
    link = unescape(re.search(r'<a rel="next" href="([^"]+)"', first.text).group(1))
    assert parse_qs(urlsplit(link).query) == {
        "sort": ["name"], "order": ["asc"], "uploader": ["bob"], "page": ["2"], "per_page": ["25"]}
    second = admin.get(link).text
    assert row_ids(second) == [m["id"] for m in made[25:]]
    assert "Images 26–27 of 27" in second
    # The sort headers keep the filters too.
    header = unescape(re.search(r'<a href="([^"]+)">Size', second).group(1))
    assert parse_qs(urlsplit(header).query)["uploader"] == ["bob"]


@pytest.mark.parametrize("query", ["sort=colour", "order=up", "page=0", "page=x", "per_page=3",
                                   "q=" + "x" * 201])
def test_bad_table_arguments_are_400_with_a_message(admin, query):
    response = admin.get(f"/admin/images?{query}")
    assert response.status_code == 400
    assert '<section class="narrow error-page">' in response.text


@pytest.mark.parametrize("settings", [{"trash_days": 0}])  # deletes for good
def test_bulk_delete_asks_then_deletes_exactly_the_selected(admin, anonymous, runtime, three):
    a, b, c = three
    back = "/admin/images?sort=name&order=asc"
    confirm = admin.get("/admin/images/delete", params={"ids": [a["id"], c["id"]], "back": back})
    assert confirm.status_code == 200
    assert "Delete 2 images?" in confirm.text
    assert "Apple" in confirm.text and "Cloud" in confirm.text and "birch" not in confirm.text
    assert len(runtime.images.view().ids()) == 3  # asking changed nothing

    response = admin.request("POST", "/admin/images/delete", data={
        "csrf_token": csrf_of(confirm.text), "ids": [a["id"], c["id"]], "back": back})
    assert response.status_code == 302
    assert response.headers["Location"] == back
    assert "Deleted 2 images." in admin.get(back).text

    assert runtime.images.view().ids() == {b["id"]}
    for gone in (a, c):
        assert anonymous.get(f"/media/{gone['id']}").status_code == 404
        assert anonymous.get(f"/media/{gone['id']}/sm").status_code == 404
        assert anonymous.get(f"/images/{gone['id']}").status_code == 404
        assert not list(runtime.storage.list(runtime.keys.image_prefix(gone["id"])))
    assert anonymous.get(f"/media/{b['id']}").status_code == 200
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action) == ("ada", "images.delete")
    assert entry.details["count"] == 2 and set(entry.details["ids"]) == {a["id"], c["id"]}


@pytest.mark.parametrize("settings", [{"trash_days": 0}])  # deletes for good
def test_bulk_delete_reports_images_already_gone(admin, runtime, three):
    a, b, c = three
    confirm = admin.get("/admin/images/delete", params={"ids": [a["id"], b["id"]]})
    runtime.images.delete(a["id"], actor=Actor("ada", is_admin=True))  # meanwhile, elsewhere
    response = admin.request("POST", "/admin/images/delete", data={
        "csrf_token": csrf_of(confirm.text), "ids": [a["id"], b["id"]]})
    assert response.status_code == 302
    assert "Deleted 1 image. 1 was already gone." in admin.get("/admin/images").text
    assert runtime.images.view().ids() == {c["id"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Select at least one image first."),
        ({"ids": ["../../etc"]}, "not an image id"),
    ],
)
def test_bulk_delete_refuses_an_empty_or_bad_selection(admin, runtime, three, params, message):
    response = admin.get("/admin/images/delete", params=params)
    assert response.status_code == 400
    assert message in response.text
    assert len(runtime.images.view().ids()) == 3


def test_bulk_delete_needs_the_csrf_token(admin, runtime, three):
    response = admin.request("POST", "/admin/images/delete", data={"ids": [three[0]["id"]]})
    assert response.status_code == 400
    assert len(runtime.images.view().ids()) == 3
    assert runtime.audit.latest(5) == []


def test_inline_edit_without_javascript(admin, runtime, three):
    a = three[0]
    page = admin.get("/admin/images?sort=name").text
    back = f"/admin/images?sort=name#image-{a['id']}"
    response = admin.request("POST", f"/admin/images/{a['id']}/edit", data={
        "csrf_token": csrf_of(page), "title": "  Green apple ", "description": "Crisp.", "back": back})
    assert response.status_code == 302
    assert response.headers["Location"] == back
    record = runtime.images.get(a["id"])
    assert (record["title"], record["description"]) == ("Green apple", "Crisp.")
    assert "Saved “Green apple”." in admin.get("/admin/images").text


def test_inline_edit_in_place_answers_json(admin, runtime, three):
    a = three[0]
    token = csrf_of(admin.get("/admin/images").text)
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    response = admin.request("POST", f"/admin/images/{a['id']}/edit", headers=headers,
                             data={"title": "Red apple", "description": ""})
    assert response.status_code == 200
    assert response.json()["title"] == "Red apple"
    assert runtime.images.get(a["id"])["title"] == "Red apple"

    too_long = admin.request("POST", f"/admin/images/{a['id']}/edit", headers=headers,
                             data={"title": "x" * 201})
    assert too_long.status_code == 400
    assert "200" in too_long.json()["error"]["message"]
    missing = admin.request("POST", f"/admin/images/{'f' * 32}/edit", headers=headers,
                            data={"title": "x"})
    assert missing.status_code == 404
    no_csrf = admin.request("POST", f"/admin/images/{a['id']}/edit",
                            headers={"Accept": "application/json"}, data={"title": "Sneaky"})
    assert no_csrf.status_code == 400
    assert runtime.images.get(a["id"])["title"] == "Red apple"


def test_back_links_stay_on_this_site(admin, runtime, three):
    a = three[0]
    page = admin.get("/admin/images").text
    response = admin.request("POST", f"/admin/images/{a['id']}/edit", data={
        "csrf_token": csrf_of(page), "title": "t", "back": "https://evil.example/"})
    assert response.headers["Location"] == "/admin/images"
