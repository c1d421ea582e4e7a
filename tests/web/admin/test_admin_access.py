"""Who gets into the admin pages: admins; others are sent to sign in or refused."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

#: Every admin page reachable by GET, and a text the admin sees on it.
PAGES = [
    ("/admin/", "Uploads per day"),
    ("/admin/images", "Images"),
    ("/admin/users", "Create a user"),
    ("/admin/tokens", "Create a token"),
    ("/admin/cleanup", "dry run"),
    ("/admin/cleanup/run", "Clean up now?"),
    ("/admin/reindex", "Rebuild the index?"),
    ("/admin/audit", "Audit log"),
    ("/admin/doctor", "Run the checks"),
    ("/admin/export", "Download the export"),
    ("/admin/images/delete?ids=" + "0" * 32, "already gone"),
]


@pytest.mark.parametrize(("path", "text"), PAGES)
def test_only_admins_get_in(anonymous, uploader, admin, path, text):
    response = anonymous.get(path)
    assert response.status_code == 302
    location = unquote(response.headers["Location"])
    assert "/login?next=" in location and location.endswith(path)

    response = uploader.get(path)
    assert response.status_code == 403
    assert "Only admins" in response.text

    response = admin.get(path, allow_redirects=True)
    assert response.status_code == 200
    assert text in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_export_needs_an_admin(anonymous, uploader):
    token = anonymous.csrf("/login")
    assert anonymous.request("POST", "/admin/export.zip", data={"csrf_token": token}).status_code == 302
    response = uploader.post_form("/admin/export.zip", form_page="/upload")
    assert response.status_code == 403


def test_posts_need_an_admin(uploader, runtime):
    response = uploader.post_form("/admin/users", {"username": "eve", "password": "long enough pw",
                                                   "role": "admin"}, form_page="/upload")
    assert response.status_code == 403
    assert runtime.accounts.get("eve") is None


def test_admin_link_only_for_admins(anonymous, uploader, admin):
    assert 'href="/admin/"' in admin.get("/").text
    assert 'href="/admin/"' not in uploader.get("/").text
    assert 'href="/admin/"' not in anonymous.get("/").text
