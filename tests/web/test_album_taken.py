"""Albums in the order of the date taken, on their page and through the API."""

from __future__ import annotations

import re

import pytest

from tests.web.test_tags_search import post_image, set_taken


def album_page_ids(client, album_id: str) -> list[str]:
    page = client.get(f"/albums/{album_id}")
    assert page.status_code == 200, page.text
    return re.findall(r'class="tile" href="/images/([0-9a-f]{32})"', page.text)


@pytest.mark.parametrize("sort", ["taken_desc", "taken_asc"])
def test_an_album_sorted_by_date_taken(uploader, runtime, sort):
    # Uploaded in this order: new, old (taken 2019), middle (taken 2021, camera time), none.
    new = post_image(uploader, "new.png", 1)
    old = post_image(uploader, "old.png", 2)
    middle = post_image(uploader, "middle.png", 3)
    none = post_image(uploader, "none.png", 4)
    set_taken(runtime, new, "2024-05-01T08:00:00+09:00")
    set_taken(runtime, old, "2019-08-01T20:15:00+02:00")
    set_taken(runtime, middle, "2021-01-01T12:00:00")
    response = uploader.api("POST", "/api/v1/albums", json={"title": "Years", "sort": sort})
    assert response.status_code == 201, response.text
    album_id = response.json()["id"]
    added = uploader.api("POST", f"/api/v1/albums/{album_id}/images",
                         json={"add": [none, middle, new, old]})
    assert added.status_code == 200, added.text
    # An image without a date taken sorts by its upload time (today: the latest).
    latest_first = [none, new, middle, old]
    expected = latest_first if sort == "taken_desc" else latest_first[::-1]
    assert album_page_ids(uploader, album_id) == expected
    listed = uploader.get(f"/api/v1/albums/{album_id}/images").json()["images"]
    assert [image["id"] for image in listed] == expected
    walked, cursor = [], None
    while True:
        body = uploader.get(f"/api/v1/albums/{album_id}/images?limit=1"
                            + (f"&cursor={cursor}" if cursor else "")).json()
        walked += [image["id"] for image in body["images"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == expected
