"""The image table's bulk tagging: add tags to the selected rows, or take them off."""

from __future__ import annotations

from html import unescape

import pytest

from tests.web.admin.forms import csrf_of


@pytest.fixture
def rows(add_image, runtime):
    made = [add_image(f"p{n}.png", "bob" if n % 2 else "ada", title=f"Photo {n}") for n in range(3)]
    return [image["id"] for image in made]


def tags_of(runtime, image_id: str) -> list[str]:
    return runtime.images.get(image_id)["tags"]


def bulk(admin, data: dict, ids: list[str]):
    token = csrf_of(admin.get("/admin/images").text)
    return admin.request("POST", "/admin/images/bulk",
                         data={"csrf_token": token, "back": "/admin/images?sort=name", "ids": ids,
                               **data})


def test_adding_and_removing_tags_on_many_rows(admin, runtime, rows):
    response = bulk(admin, {"action": "add_tags", "tags": " Beach , summer,beach"}, rows[:2])
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/images?sort=name")
    assert [tags_of(runtime, i) for i in rows] == [["Beach", "summer"], ["Beach", "summer"], []]
    page = unescape(admin.get("/admin/images?sort=name").text)
    assert "Tagged 2 images “Beach”, “summer”." in page
    assert '<option value="Beach">' in page  # the field now suggests it
    assert bulk(admin, {"action": "add_tags", "tags": "summer"}, rows).status_code == 302
    assert "Tagged 1 image “summer”. 2 images had it already." in unescape(
        admin.get("/admin/images").text)
    assert bulk(admin, {"action": "remove_tags", "tags": "BEACH, summer"}, rows[1:]).status_code == 302
    assert "Took “BEACH”, “summer” off 2 images." in unescape(admin.get("/admin/images").text)
    assert [tags_of(runtime, i) for i in rows] == [["Beach", "summer"], [], []]
    assert bulk(admin, {"action": "remove_tags", "tags": "nope"}, rows).status_code == 302
    assert "No image changed: none of the 3 images selected had “nope”." in unescape(
        admin.get("/admin/images").text)


def test_the_table_offers_the_tag_field_with_suggestions(admin, runtime, rows):
    runtime.images.change_tags([rows[0]], add=("Holiday",), actor=_admin())
    page = admin.get("/admin/images").text
    assert 'id="bulk-tags" name="tags" list="bulk-known-tags"' in page
    assert '<datalist id="bulk-known-tags"><option value="Holiday"></datalist>' in page
    assert 'name="action" value="add_tags"' in page and 'name="action" value="remove_tags"' in page


@pytest.mark.parametrize(("tags", "message"), [
    ("x" * 1024, "at most 50 characters"),
    ("tab\there", "control characters"),
    (", ".join(f"t{n}" for n in range(31)), "at most 30 tags"),
    (" , ", "Type at least one tag"),
])
def test_bad_tags_are_refused_with_a_message_and_change_nothing(admin, runtime, rows, tags, message):
    runtime.images.change_tags([rows[0]], add=("kept",), actor=_admin())
    response = bulk(admin, {"action": "add_tags", "tags": tags}, rows)
    assert response.status_code == 400
    assert message in unescape(response.text)
    assert [tags_of(runtime, i) for i in rows] == [["kept"], [], []]


def test_an_image_may_not_get_more_than_30_tags(admin, runtime, rows):
    runtime.images.change_tags([rows[1]], add=tuple(f"t{n}" for n in range(29)), actor=_admin())
    response = bulk(admin, {"action": "add_tags", "tags": "one, two"}, rows)
    assert response.status_code == 400
    assert "would have 31 tags; an image may have at most 30. Nothing was changed." in unescape(
        response.text)
    assert tags_of(runtime, rows[0]) == [] and len(tags_of(runtime, rows[1])) == 29


def test_bulk_tagging_needs_the_csrf_token_and_a_selection(admin, runtime, rows):
    response = admin.request("POST", "/admin/images/bulk",
                             data={"action": "add_tags", "tags": "x", "ids": rows})
    assert response.status_code == 400
    assert [tags_of(runtime, i) for i in rows] == [[], [], []]
    assert "Select at least one image" in unescape(bulk(admin, {"action": "add_tags",
                                                                 "tags": "x"}, []).text)


def _admin():
    from gallery.images.results import Actor

    return Actor("ada", True)
