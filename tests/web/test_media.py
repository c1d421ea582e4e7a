"""Media: inline, typed by content, cached for good, never a 500."""

from __future__ import annotations

import hashlib

import pytest

from tests.imaging import fixtures as img
from tests.web.images import has_gps


def api_upload(client, name: str, data: bytes) -> dict:
    response = client.api("POST", "/api/v1/images", files={"file": (name, data, "text/plain")})
    assert response.status_code == 201, response.text
    return response.json()


def test_original_is_served_inline_with_its_real_type(uploader, anonymous):
    data = img.png_rgba()
    image = api_upload(uploader, "logo.jpg", data)  # the name lies; the content decides
    signed_in = uploader.get(f"/media/{image['id']}")
    assert signed_in.status_code == 200 and "Set-Cookie" not in signed_in.headers
    response = anonymous.get(f"/media/{image['id']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == data
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "public" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "Cookie" not in response.headers.get("Vary", "")  # shared caches may keep it


@pytest.mark.parametrize("variant", ["sm", "md", "lg"])
def test_thumbnails_are_webp(uploader, anonymous, variant):
    image = api_upload(uploader, "p.jpg", img.jpeg(width=2400, height=1600))
    response = anonymous.get(f"/media/{image['id']}/{variant}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
    assert len(response.content) == image["variants"][variant]["size"]


def test_etag_and_304(uploader, anonymous):
    image = api_upload(uploader, "p.jpg", img.jpeg())
    first = anonymous.get(f"/media/{image['id']}")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = anonymous.get(f"/media/{image['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    other = anonymous.get(f"/media/{image['id']}/sm", headers={"If-None-Match": etag})
    assert other.status_code == 200  # a different object has a different tag


def test_range_requests(uploader, anonymous):
    data = img.jpeg()
    image = api_upload(uploader, "p.jpg", data)
    response = anonymous.get(f"/media/{image['id']}", headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == data[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(data)}"


@pytest.mark.parametrize(
    "path",
    ["/media/" + "0" * 32, "/media/not-an-id", "/media/" + "0" * 32 + "/sm",
     "/media/ZZZ/lg", "/media/%2e%2e%2fusers.json"],
)
def test_unknown_media_is_404(anonymous, path):
    assert anonymous.get(path).status_code == 404


def test_unknown_variant_is_404(uploader, anonymous):
    image = api_upload(uploader, "p.jpg", img.jpeg())
    assert anonymous.get(f"/media/{image['id']}/huge").status_code == 404
    assert anonymous.get(f"/media/{image['id']}/original").status_code == 404


@pytest.mark.parametrize("settings", [{"visibility": "private"}])
def test_private_gallery_media(uploader, anonymous):
    image = api_upload(uploader, "p.jpg", img.jpeg())
    assert anonymous.get(f"/media/{image['id']}").status_code == 404
    response = uploader.get(f"/media/{image['id']}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("private")


@pytest.mark.parametrize(
    ("maker", "needle"),
    [("jpeg_html_comment", b"<script"), ("png_html_text", b"<script"),
     ("jpeg_zip_appended", b"PK\x03\x04")],
)
def test_polyglot_thumbnails_carry_no_injected_bytes(uploader, anonymous, maker, needle):
    data = getattr(img, maker)()
    response = uploader.api("POST", "/api/v1/images", files={"file": ("x.jpg", data)})
    if response.status_code != 201:  # refused outright is fine too
        assert response.status_code in (415, 422)
        return
    image = response.json()
    for variant in image["urls"]["thumbnails"]:
        body = anonymous.get(f"/media/{image['id']}/{variant}").content
        assert needle not in body
    original = anonymous.get(f"/media/{image['id']}")
    # The original is served as the image it is, never as something a browser would run.
    assert original.headers["Content-Type"] in ("image/jpeg", "image/png")
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Security-Policy"].startswith("sandbox")


def test_gps_never_reaches_visitors(uploader, anonymous):
    data = img.jpeg_with_gps()
    image = api_upload(uploader, "trip.jpg", data)
    served = anonymous.get(f"/media/{image['id']}").content
    assert served != data
    assert image["sha256"] == hashlib.sha256(served).hexdigest()
    assert not has_gps(served)
