"""Information leaks: what strangers learn from health checks, errors and the API's URLs."""

from __future__ import annotations

import shutil

import pytest

from gallery import create_app
from gallery.errors import ConfigError
from tests.web.conftest import ADMIN
from tests.web.images import distinct_png

EVIL = "evil.example"


@pytest.fixture
def image(runtime, users):
    return runtime.images.upload(distinct_png(1), "one.png", uploaded_by=ADMIN[0]).image


# --- the health check ------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"visibility": "private"}])
def test_healthz_tells_strangers_of_a_private_gallery_only_the_status(anonymous, admin, image):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert admin.get("/healthz").json()["checks"]["index"] == "ok"  # those signed in see each part


def test_healthz_of_a_public_gallery_gives_each_part_and_no_figures(anonymous, image):
    body = anonymous.get("/healthz").json()
    assert body["checks"] == {"storage": "ok", "index": "ok", "accounts": "ok",
                              "session_key": "ok", "space": "ok"}
    assert "images" not in body


# --- error pages -------------------------------------------------------------------


def break_the_folder(storage) -> str:
    """Put a plain file where the bucket's folder was: every storage call fails. Its path."""
    root = str(storage.root)
    shutil.rmtree(root)
    with open(root, "w") as blocker:
        blocker.write("not a folder")
    return root


@pytest.mark.parametrize("path", ["/", "/api/v1/images", "/upload", "/admin/", "/images/" + "0" * 32])
def test_storage_errors_name_no_path_or_bucket(admin, storage, image, path, tmp_path):
    root = break_the_folder(storage)
    for accept in ("text/html", "application/json"):
        response = admin.get(path, headers={"Accept": accept})
        assert response.status_code >= 500 or response.status_code == 302, response.status_code
        for secret in (root, str(tmp_path), "bucket", "index.json", "users.json"):
            assert secret not in response.text, (path, accept, response.text[:400])


# --- absolute URLs -----------------------------------------------------------------------


def test_api_urls_do_not_come_from_the_host_header(admin, image):
    for headers in ({"Host": EVIL}, {"X-Forwarded-Host": EVIL}):
        body = admin.get(f"/api/v1/images/{image['id']}", headers=headers).json()
        listing = admin.get("/api/v1/images", headers=headers).json()
        for urls in (body["urls"], listing["images"][0]["urls"]):
            assert EVIL not in str(urls)
            assert urls["page"] == f"/images/{image['id']}"  # root-relative without a base URL
            assert urls["original"] == f"/media/{image['id']}"


@pytest.mark.parametrize("settings", [{"base_url": "https://photos.example.com/"}])
def test_api_urls_are_built_from_the_base_url(admin, image):
    body = admin.get(f"/api/v1/images/{image['id']}", headers={"Host": EVIL}).json()
    assert body["urls"]["page"] == f"https://photos.example.com/images/{image['id']}"
    assert body["urls"]["original"] == f"https://photos.example.com/media/{image['id']}"
    assert all(u.startswith("https://photos.example.com/media/")
               for u in body["urls"]["thumbnails"].values())


@pytest.mark.parametrize("settings", [{"trusted_proxies": 1}])
def test_forwarded_host_from_a_proxy_does_not_reach_api_urls(admin, image):
    body = admin.get(f"/api/v1/images/{image['id']}", headers={"X-Forwarded-Host": EVIL}).json()
    assert EVIL not in str(body)


@pytest.mark.parametrize("value", [
    "photos.example.com", "ftp://photos.example.com", "https://", "https://photos.example.com/?a=1",
    "https://photos.example.com/#top", "https://user:pw@photos.example.com", "javascript:alert(1)",
    "https://photos.example.com:99999", "https://photos example.com",
])
def test_a_bad_base_url_stops_the_start_with_a_clear_message(value, tmp_path):
    with pytest.raises(ConfigError) as caught:
        create_app(environ={"GALLERY_STORAGE": f"file://{tmp_path}", "GALLERY_BASE_URL": value})
    assert "GALLERY_BASE_URL" in caught.value.message
    assert "http or https address" in caught.value.message


def test_a_good_base_url_is_taken(tmp_path):
    app = create_app(environ={"GALLERY_STORAGE": f"file://{tmp_path}",
                              "GALLERY_BASE_URL": "http://127.0.0.1:8000"})
    assert app.extensions["gallery"].settings["base_url"] == "http://127.0.0.1:8000"
