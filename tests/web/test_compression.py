"""Compression over real HTTP: pages, CSS, JavaScript, JSON and feeds come brotli- or
gzip-compressed as the client asks; media, zips and small bodies never; ETags stay right."""

from __future__ import annotations

import gzip

import brotli
import pytest

from gallery.images.results import Actor
from tests.web.images import distinct_png

ADA = Actor("ada", is_admin=True)


@pytest.fixture
def images(runtime, users):
    return [runtime.images.upload(distinct_png(n, (300, 200)), f"p{n}.png",
                                  uploaded_by="ada").image for n in range(4)]


def raw(client, path: str, coding: str, **headers):
    """The response and its body as sent, not decoded."""
    response = client.get(path, headers={"Accept-Encoding": coding, **headers}, stream=True)
    body = response.raw.read(decode_content=False)
    response.close()
    return response, body


DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.mark.parametrize("coding", ["br", "gzip"])
@pytest.mark.parametrize("path", ["/", "/static/style.css", "/static/grid.js", "/api/v1/images",
                                  "/feed.xml", "/albums"])
def test_text_comes_compressed_as_asked(anonymous, images, path, coding):
    plain, plain_body = raw(anonymous, path, "identity")
    packed, packed_body = raw(anonymous, path, coding)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == coding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed_body) < len(plain_body)
    assert DECODE[coding](packed_body) == plain_body


def test_brotli_is_preferred_and_q_values_are_honoured(anonymous, images):
    assert raw(anonymous, "/", "gzip, deflate, br")[0].headers["Content-Encoding"] == "br"
    assert raw(anonymous, "/", "br;q=0.5, gzip")[0].headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in raw(anonymous, "/", "zstd, deflate")[0].headers


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_etags_name_the_coding_and_still_answer_304(anonymous, coding):
    plain, _ = raw(anonymous, "/static/style.css", "identity")
    packed, _ = raw(anonymous, "/static/style.css", coding)
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + f':{coding}"'
    again, body = raw(anonymous, "/static/style.css", coding,
                      **{"If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and body == b""
    unchanged, _ = raw(anonymous, "/static/style.css", "identity",
                       **{"If-None-Match": plain.headers["ETag"]})
    assert unchanged.status_code == 304


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_media_is_never_compressed(anonymous, images, coding):
    image = images[0]
    for path in (f"/media/{image['id']}", f"/media/{image['id']}/sm",
                 f"/media/{image['id']}?download=1"):
        response, body = raw(anonymous, path, coding)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers, path
        assert "Accept-Encoding" not in response.headers.get("Vary", ""), path
        assert int(response.headers["Content-Length"]) == len(body)
    original, body = raw(anonymous, f"/media/{image['id']}", coding)
    assert len(body) == image["size"]
    ranged, part = raw(anonymous, f"/media/{image['id']}", coding, Range="bytes=0-9")
    assert ranged.status_code == 206 and len(part) == 10
    assert "Content-Encoding" not in ranged.headers


def test_album_zips_stream_uncompressed(runtime, admin, images):
    album = runtime.albums.create(title="Zip", visibility="public", actor=ADA)
    runtime.albums.change_images(album.id, add=[i["id"] for i in images], actor=ADA)
    response, body = raw(admin, f"/albums/{album.id}/download", "br, gzip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "Content-Encoding" not in response.headers
    assert body[:4] == b"PK\x03\x04"


def test_small_bodies_are_sent_as_they_are(anonymous):
    response, body = raw(anonymous, "/robots.txt", "br, gzip")
    assert response.status_code == 200 and len(body) < 500
    assert "Content-Encoding" not in response.headers
