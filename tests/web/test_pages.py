"""The upload form, the grid, the image page, editing and deleting, as a person uses them."""

from __future__ import annotations

import re

import pytest

from tests.imaging import fixtures as img
from tests.web.images import distinct_png


def upload(client, *files: tuple[str, bytes]):
    return client.post_form(
        "/upload", files=[("images", (name, data, "application/octet-stream")) for name, data in files]
    )


def ids_in(html: str) -> list[str]:
    return re.findall(r'href="/images/([0-9a-f]{32})"', html)


def test_upload_form_takes_many_files_and_reports_each(uploader):
    response = upload(
        uploader,
        ("holiday.jpg", img.jpeg()),
        ("logo.png", img.png_rgba()),
        ("dance.gif", img.gif_animated()),
        ("still.webp", img.webp_still()),
        ("page.jpg", img.html()),
        ("broken.jpg", img.jpeg_truncated()),
    )
    assert response.status_code == 200
    text = response.text
    assert text.count("Uploaded.") == 4
    assert "not an image we accept" in text
    assert "damaged" in text.lower()
    grid = uploader.get("/")
    assert len(ids_in(grid.text)) == 4
    # Grid thumbnails are <img> elements whose src is a /media URL, with alt text.
    for src in re.findall(r'<img src="([^"]+)"', grid.text):
        assert src.startswith("/media/") and src.endswith("/sm")
    assert 'alt="holiday"' in grid.text


def test_upload_all_refused_answers_with_the_error_status(uploader):
    response = upload(uploader, ("evil.svg", img.svg_with_script()))
    assert response.status_code == 415
    assert "not an image we accept" in response.text


def test_upload_needs_a_file(uploader):
    response = uploader.post_form("/upload", {})
    assert response.status_code == 400
    assert "Choose at least one image." in response.text


def test_upload_needs_sign_in(anonymous):
    response = anonymous.get("/upload")
    assert response.status_code == 302
    assert "/login?next=/upload" in response.headers["Location"]


def test_duplicate_upload_is_recognised(uploader):
    data = img.jpeg()
    upload(uploader, ("a.jpg", data))
    response = upload(uploader, ("again.jpg", data))
    assert "Already in the gallery." in response.text
    assert len(ids_in(uploader.get("/").text)) == 1


def test_image_page_shows_details_and_original(uploader, anonymous):
    upload(uploader, ("Café del Mar.jpg", img.jpeg()))
    image_id = ids_in(uploader.get("/").text)[0]
    page = anonymous.get(f"/images/{image_id}")
    assert page.status_code == 200
    assert "Café del Mar" in page.text
    assert UPLOADER_NAME not in page.text  # visitors are never told a username
    assert UPLOADER_NAME in uploader.get(f"/images/{image_id}").text
    assert f"/media/{image_id}" in page.text
    assert "Save" not in page.text  # visitors cannot edit
    original = anonymous.get(f"/media/{image_id}?download=1")
    assert original.status_code == 200
    assert "attachment" in original.headers["Content-Disposition"]


UPLOADER_NAME = "bob"


def test_owner_edits_title_and_description(uploader):
    upload(uploader, ("x.png", img.png_rgba()))
    image_id = ids_in(uploader.get("/").text)[0]
    response = uploader.post_form(
        f"/images/{image_id}/edit", {"title": "Sunset <b>", "description": "Line one\nline two"},
        form_page=f"/images/{image_id}",
    )
    assert response.status_code == 302
    page = uploader.get(f"/images/{image_id}")
    assert "Sunset &lt;b&gt;" in page.text  # escaped, never markup
    assert "Line one\nline two" in page.text


def test_others_cannot_edit_or_delete_but_admins_can(uploader, admin, make_client, users):
    upload(admin, ("x.png", img.png_rgba()))
    image_id = ids_in(admin.get("/").text)[0]
    token = uploader.csrf("/upload")
    response = uploader.request("POST", f"/images/{image_id}/edit",
                                data={"csrf_token": token, "title": "mine now"})
    assert response.status_code == 403
    assert uploader.get(f"/images/{image_id}/delete").status_code == 403

    upload(uploader, ("y.jpg", img.jpeg()))
    theirs = [i for i in ids_in(admin.get("/").text) if i != image_id][0]
    response = admin.post_form(f"/images/{theirs}/edit", {"title": "curated"},
                               form_page=f"/images/{theirs}")
    assert response.status_code == 302


def test_delete_asks_first_then_removes(uploader, anonymous):
    upload(uploader, ("x.gif", img.gif_animated()))
    image_id = ids_in(uploader.get("/").text)[0]
    confirm = uploader.get(f"/images/{image_id}/delete")
    assert confirm.status_code == 200
    assert "Delete “x”?" in confirm.text
    assert uploader.get(f"/images/{image_id}").status_code == 200  # still there
    response = uploader.post_form(f"/images/{image_id}/delete")
    assert response.status_code == 302
    assert anonymous.get(f"/images/{image_id}").status_code == 404
    assert anonymous.get(f"/media/{image_id}").status_code == 404
    assert ids_in(uploader.get("/").text) == []


@pytest.mark.parametrize("settings", [{"page_size": 2}])
def test_grid_pages_newest_first(uploader):
    for n in range(5):
        upload(uploader, (f"n{n}.png", distinct_png(n)))
    first = uploader.get("/")
    assert "Page 1 of 3" in first.text
    assert 'alt="n4"' in first.text and 'alt="n3"' in first.text
    last = uploader.get("/?page=3")
    assert 'alt="n0"' in last.text
    assert uploader.get("/?page=4").status_code == 404
    assert uploader.get("/?page=zero").status_code == 400


@pytest.mark.parametrize("path", ["/images/nope", "/images/" + "a" * 32, "/images/../../etc"])
def test_unknown_images_are_friendly_404_pages(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "Back to the gallery" in response.text


def test_healthz(anonymous):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_reports_a_damaged_index_and_uploads_stop(app, anonymous, uploader):
    runtime = app.extensions["gallery"]
    runtime.storage.put(runtime.keys.index, b"{not json", content_type="application/json")
    health = anonymous.get("/healthz")
    assert health.status_code == 503  # pages answer 503 too: the check says so
    assert int(health.headers["Retry-After"]) > 0
    assert health.json()["status"] == "unavailable"
    assert health.json()["failing"] == ["index"]
    assert "reindex" in health.json()["fix"]["index"]
    response = uploader.api("POST", "/api/v1/images", files={"file": ("a.png", img.png_rgba())})
    assert response.status_code == 503
    # The damaged index was left for a person to repair, not replaced.
    assert runtime.storage.get(runtime.keys.index) == b"{not json"
