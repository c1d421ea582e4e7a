"""The JSON API: every route, its auth, and its error shape."""

from __future__ import annotations

import pytest

from tests.imaging import fixtures as img
from tests.web.conftest import ADMIN, UPLOADER
from tests.web.images import distinct_png

IMAGE_FIELDS = {"id", "filename", "content_type", "size", "width", "height", "sha256",
                "created_at", "uploaded_by", "title", "urls"}


def post_image(client, name: str, data: bytes, **kwargs):
    return client.api("POST", "/api/v1/images", files={"file": (name, data)}, **kwargs)


def assert_error(response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error["message"]


def test_upload_returns_the_image_json(uploader):
    response = post_image(uploader, "../../etc/Sunny day.jpg", img.jpeg(width=800, height=600))
    assert response.status_code == 201
    image = response.json()
    assert IMAGE_FIELDS <= image.keys()
    assert image["filename"] == "Sunny day.jpg"
    assert image["content_type"] == "image/jpeg"
    assert (image["width"], image["height"]) == (800, 600)
    assert image["uploaded_by"] == UPLOADER[0]
    assert image["created_at"].endswith("Z")
    assert image["urls"]["original"].endswith(f"/media/{image['id']}")
    assert set(image["urls"]["thumbnails"]) == {"sm", "md", "lg"}
    assert response.headers["Location"].endswith(f"/images/{image['id']}")


def test_duplicate_upload_answers_200(uploader):
    data = img.png_rgba()
    first = post_image(uploader, "a.png", data).json()
    second = post_image(uploader, "b.png", data)
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert second.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("maker", "status", "code"),
    [("svg_with_script", 415, "unsupported_type"), ("html", 415, "unsupported_type"),
     ("jpeg_truncated", 422, "damaged_image"), ("png_truncated", 422, "damaged_image"),
     ("png_pixel_flood", 413, "too_large")],
)
def test_bad_images_get_clear_errors(uploader, maker, status, code):
    assert_error(post_image(uploader, "x.jpg", getattr(img, maker)()), status, code)
    listing = uploader.get("/api/v1/images").json()
    assert listing["images"] == []  # nothing was kept


@pytest.mark.parametrize("settings", [{"max_file_bytes": 10_000}])
def test_too_large_file_is_413(uploader):
    message = assert_error(post_image(uploader, "big.jpg", img.jpeg(width=1200, height=900)), 413)
    assert "larger than" in message


@pytest.mark.parametrize("settings", [{"max_request_bytes": 50_000}])
def test_too_large_request_is_413(uploader):
    assert_error(post_image(uploader, "big.jpg", b"\xff" * 60_000), 413, "too_large")


def test_upload_field_is_required(uploader):
    assert_error(uploader.api("POST", "/api/v1/images", files={"image": ("a.jpg", b"x")}), 400)


def test_anonymous_cannot_upload(anonymous):
    # Without a sign-in the answer is 401, whatever the CSRF token.
    assert_error(post_image(anonymous, "a.jpg", img.jpeg(), headers={"X-CSRFToken": "x"}), 401,
                 "not_signed_in")
    token = anonymous.csrf("/login")
    response = anonymous.request("POST", "/api/v1/images", files={"file": ("a.jpg", img.jpeg())},
                                 headers={"X-CSRFToken": token})
    assert_error(response, 401, "not_signed_in")


def test_cookie_api_calls_need_the_csrf_header(uploader):
    response = uploader.request("POST", "/api/v1/images", files={"file": ("a.jpg", img.jpeg())})
    message = assert_error(response, 400, "csrf_failed")
    assert "X-CSRFToken" in message


def test_bearer_tokens(app, anonymous):
    token, _ = app.extensions["gallery"].accounts.create_token(UPLOADER[0], "script")
    headers = {"Authorization": f"Bearer {token}"}
    response = anonymous.request("POST", "/api/v1/images", files={"file": ("a.png", img.png_rgba())},
                                 headers=headers)
    assert response.status_code == 201  # no CSRF needed with a token
    assert response.json()["uploaded_by"] == UPLOADER[0]
    bad = anonymous.request("GET", "/api/v1/images", headers={"Authorization": "Bearer nope"})
    assert_error(bad, 401, "not_signed_in")


def test_listing_pages_with_a_cursor(uploader, anonymous):
    ids = [post_image(uploader, f"{n}.png", distinct_png(n)).json()["id"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = anonymous.get("/api/v1/images", params=params).json()
        assert len(body["images"]) <= 2
        seen += [i["id"] for i in body["images"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"},
                                    {"cursor": "garbage!"}])
def test_listing_rejects_bad_parameters(anonymous, params):
    assert_error(anonymous.get("/api/v1/images", params=params), 400)


def test_get_patch_delete(uploader, anonymous):
    image = post_image(uploader, "a.png", img.png_rgba()).json()
    path = f"/api/v1/images/{image['id']}"
    assert anonymous.get(path).json()["id"] == image["id"]

    response = uploader.api("PATCH", path, json={"title": "New title", "description": "About it"})
    assert response.status_code == 200
    assert response.json()["title"] == "New title"
    assert anonymous.get(path).json()["description"] == "About it"

    assert_error(uploader.api("PATCH", path, json={"size": 1}), 400)
    assert_error(uploader.api("PATCH", path, json={"title": 5}), 400)
    assert_error(uploader.api("PATCH", path, data="not json"), 400)

    response = uploader.api("DELETE", path)
    assert response.status_code == 204
    assert_error(anonymous.get(path), 404, "not_found")
    assert_error(uploader.api("DELETE", path), 404)


def test_only_owner_or_admin_may_change(uploader, admin, make_client):
    image = post_image(admin, "a.png", img.png_rgba()).json()
    path = f"/api/v1/images/{image['id']}"
    assert_error(uploader.api("PATCH", path, json={"title": "x"}), 403, "forbidden")
    assert_error(uploader.api("DELETE", path), 403)
    mine = post_image(uploader, "b.png", distinct_png(9)).json()
    assert admin.api("DELETE", f"/api/v1/images/{mine['id']}").status_code == 204


@pytest.mark.parametrize("path", ["/api/v1/images/nope", "/api/v1/images/" + "f" * 32,
                                  "/api/v1/nothing"])
def test_unknown_is_json_404(anonymous, path):
    assert_error(anonymous.get(path), 404)


@pytest.mark.parametrize("settings", [{"login_attempts": 2}])
def test_throttled_sign_in_is_429_json(make_client, users):
    client = make_client()
    for _ in range(2):
        client.login(ADMIN[0], "wrong password")
    token = client.csrf("/login")
    response = client.request("POST", "/login", headers={"Accept": "application/json"},
                              data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    assert_error(response, 429, "too_many_attempts")
