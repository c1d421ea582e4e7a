"""Phone and camera photos over HTTP: a HEIC and an AVIF uploaded through the API, their
image JSON, and what the media URLs serve (never their location)."""

from __future__ import annotations

import struct

import pytest

from tests.imaging import heif_files as files

GPS_BYTES = [struct.pack(order + "II", 1234, 100) for order in "<>"]


@pytest.mark.parametrize(("name", "make", "content_type"), [
    ("IMG_0042.HEIC", files.heic_with_gps, "image/heic"),
    ("photo.avif", files.avif_with_gps, "image/avif"),
], ids=["heic", "avif"])
def test_a_phone_photo_is_shown_with_its_camera_and_served_without_its_location(
        uploader, anonymous, name, make, content_type):
    response = uploader.api("POST", "/api/v1/images", files={"file": (name, make())})
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["content_type"] == content_type and image["gps_removed"] is True
    assert image["taken_at"] == "2026-07-14T18:03:12+02:00"
    assert image["camera"] == {
        "make": "Acme Optics", "model": "Model Nine", "lens": "RF 50mm F1.8 STM",
        "focal_length": 50, "f_number": 1.8, "exposure_time": "1/250", "iso": 400,
    }
    assert uploader.api("GET", f"/api/v1/images/{image['id']}").json()["camera"] == image["camera"]

    original = anonymous.get(image["urls"]["original"])
    assert original.status_code == 200
    assert original.headers["Content-Type"] == content_type
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert len(original.content) == image["size"]
    for url in [image["urls"]["original"], *image["urls"]["thumbnails"].values()]:
        body = anonymous.get(url).content
        assert body and not any(marker in body for marker in GPS_BYTES), url
        assert b"GPSLatitude" not in body


def test_a_web_page_behind_a_heic_header_is_refused_with_415(uploader):
    response = uploader.api("POST", "/api/v1/images",
                            files={"file": ("x.heic", files.html_behind_ftyp())})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_type"


def test_a_truncated_avif_is_refused_with_422(uploader):
    response = uploader.api("POST", "/api/v1/images",
                            files={"file": ("x.avif", files.encode_avif()[:-60])})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "That AVIF file is damaged: it is incomplete."


@pytest.mark.parametrize("settings", [{}, {"show_details": True}], ids=["hidden", "shown"])
def test_visitors_see_camera_details_only_where_the_gallery_shows_them(
        uploader, anonymous, admin, settings):
    made = uploader.api("POST", "/api/v1/images",
                        files={"file": ("photo.avif", files.avif_with_gps())}).json()
    path = f"/api/v1/images/{made['id']}"
    for owner_or_admin in (uploader, admin):
        assert owner_or_admin.api("GET", path).json()["taken_at"] == "2026-07-14T18:03:12+02:00"
    seen = anonymous.get(path).json()
    listed = next(i for i in anonymous.get("/api/v1/images").json()["images"]
                  if i["id"] == made["id"])
    for body in (seen, listed):
        if settings:
            assert body["camera"]["make"] == "Acme Optics" and body["taken_at"]
        else:
            assert (body["camera"], body["taken_at"]) == ({}, None)
