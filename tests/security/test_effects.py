"""GET requests have no effects: a link from another site cannot make the gallery do anything.

Browsers send the ``SameSite=Lax`` session cookie with a top-level GET from
another site, so any GET an admin can be lured into must leave the bucket as
it was. Changes are POSTs that carry the form's CSRF token.
"""

from __future__ import annotations

import pytest

from gallery.images.results import Actor
from tests.web.conftest import ADMIN, UPLOADER
from tests.web.images import distinct_png


def bucket_state(storage) -> dict[str, str]:
    """Every object's key and version: any write shows up here (but a share link's count
    of views, which opening its page is meant to change)."""
    return {info.key: info.version for info in storage.list("")
            if not info.key.endswith(".usage.json")}


@pytest.fixture
def stocked(runtime, users):
    """An image, an album holding it with a share link, and an API token, so every page has
    something to show."""
    image = runtime.images.upload(distinct_png(1), "one.png", uploaded_by=ADMIN[0]).image
    _, token = runtime.accounts.create_token(UPLOADER[0], "script")
    owner = Actor(ADMIN[0], is_admin=True)
    album = runtime.albums.create(title="Shared", visibility="public", actor=owner)
    runtime.albums.change_images(album.id, add=[image["id"]], actor=owner)
    link = runtime.links.create(album.id, actor=owner, allow_download=True)
    return {"image_id": image["id"], "variant": "sm", "username": UPLOADER[0],
            "token_id": token.id, "filename": "style.css", "album_id": album.id,
            "token": link.token, "link_id": link.id, "tag": "harbour"}


def every_get(app, values: dict[str, str]) -> list[str]:
    """A URL for every GET route of the app, with its arguments filled from ``values``."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            args = {name: values[name] for name in rule.arguments}
            urls.append(url_for(rule.endpoint, **args))
    urls.append(f"/admin/images/delete?ids={values['image_id']}")
    return sorted(set(urls))


def test_no_get_changes_the_bucket(app, admin, uploader, anonymous, storage, stocked):
    urls = every_get(app, stocked)
    assert "/admin/doctor" in urls
    before = bucket_state(storage)
    for client in (admin, uploader, anonymous):
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
            assert bucket_state(storage) == before, f"GET {url} changed the bucket"


def test_the_health_checks_run_only_from_the_form(admin, storage, runtime, users):
    before = bucket_state(storage)
    assert admin.get("/admin/doctor").status_code == 200
    assert admin.request("POST", "/admin/doctor").status_code == 400  # no CSRF token
    assert bucket_state(storage) == before
    assert admin.post_form("/admin/doctor").status_code == 200
    assert "checks passed" in admin.post_form("/admin/doctor").text


def test_the_export_starts_only_from_the_form(admin, storage, runtime, stocked):
    before = bucket_state(storage)
    assert admin.get("/admin/export.zip").status_code == 405
    assert admin.request("HEAD", "/admin/export.zip").status_code == 405
    refused = admin.request("POST", "/admin/export.zip")
    assert refused.status_code == 400 and refused.headers["Content-Type"] != "application/zip"
    assert bucket_state(storage) == before  # no audit entry, nothing read for it
    done = admin.post_form("/admin/export.zip", form_page="/admin/export")
    assert done.status_code == 200 and done.headers["Content-Type"] == "application/zip"
    assert runtime.audit.latest(1)[0].action == "gallery.export"


def test_a_cross_site_post_without_the_token_changes_nothing(admin, storage, stocked):
    before = bucket_state(storage)
    for path in ("/admin/doctor", "/admin/export.zip", "/admin/reindex", "/admin/cleanup/run",
                 f"/admin/users/{UPLOADER[0]}/sessions/end", f"/admin/users/{UPLOADER[0]}/disable",
                 "/account/sign-out-everywhere", "/logout"):
        response = admin.request("POST", path, headers={"Origin": "https://evil.example"})
        assert response.status_code in (400, 403), (path, response.status_code)
        assert bucket_state(storage) == before, f"POST {path} without a token changed the bucket"
