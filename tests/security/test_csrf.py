"""CSRF: only a valid API token lets a request skip the CSRF check.

A cross-site page cannot set ``Authorization``, but a script that can (or a
browser extension, or a misconfigured proxy) must not turn a signed-in cookie
into a CSRF-free session by adding any Bearer header. A request that carries a
token is signed in by that token alone: an unknown one is a ``401``, never a
success made with the cookie.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import ADMIN, UPLOADER
from tests.web.images import distinct_png

JUNK = ["Bearer", "Bearer ", "Bearer x", "bearer nonsense", "Bearer gal_0123456789abcdef_" + "A" * 43]


def assert_not_signed_in(response) -> None:
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_signed_in"


@pytest.fixture
def image(runtime, users):
    return runtime.images.upload(distinct_png(1), "one.png", uploaded_by=ADMIN[0]).image


@pytest.mark.parametrize("header", JUNK)
def test_a_junk_token_with_a_signed_in_cookie_changes_nothing(admin, runtime, image, header):
    calls = [
        ("POST", "/api/v1/images", {"files": {"file": ("x.png", distinct_png(2), "image/png")}}),
        ("PATCH", f"/api/v1/images/{image['id']}", {"json": {"title": "defaced"}}),
        ("DELETE", f"/api/v1/images/{image['id']}", {}),
        ("POST", "/admin/users", {"data": {"username": "eve", "password": "long enough pw",
                                           "role": "admin"}}),
        ("POST", f"/images/{image['id']}/delete", {}),
        ("POST", "/logout", {}),
    ]
    for method, path, kwargs in calls:
        response = admin.request(method, path, headers={"Authorization": header}, **kwargs)
        assert_not_signed_in(response)
    after = runtime.images.get(image["id"])
    assert after.get("title") == image.get("title")
    assert runtime.accounts.get("eve") is None
    assert runtime.images.view().total == 1
    assert "Sign out" in admin.get("/").text  # the junk did not sign anybody out either


def test_a_revoked_token_with_a_signed_in_cookie_is_refused(admin, runtime, image):
    secret, token = runtime.accounts.create_token(ADMIN[0], "old")
    runtime.accounts.revoke_token(token.id)
    response = admin.request("DELETE", f"/api/v1/images/{image['id']}",
                             headers={"Authorization": f"Bearer {secret}"})
    assert_not_signed_in(response)
    assert image["id"] in runtime.images.view().ids()


def test_a_token_of_a_disabled_user_is_refused(uploader, runtime, users):
    secret, _ = runtime.accounts.create_token(UPLOADER[0])
    runtime.accounts.set_disabled(UPLOADER[0], True)
    response = uploader.request("GET", "/api/v1/images", headers={"Authorization": f"Bearer {secret}"})
    assert_not_signed_in(response)


def test_a_valid_token_acts_as_its_own_user_not_the_cookies(admin, runtime, image):
    secret, _ = runtime.accounts.create_token(UPLOADER[0])
    response = admin.request("DELETE", f"/api/v1/images/{image['id']}",
                             headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403  # bob may not delete ada's image, whatever the cookie
    assert image["id"] in runtime.images.view().ids()


def test_a_valid_token_needs_no_csrf_and_sets_no_cookie(anonymous, runtime, users):
    secret, _ = runtime.accounts.create_token(UPLOADER[0])
    response = anonymous.request("POST", "/api/v1/images",
                                 headers={"Authorization": f"Bearer {secret}"},
                                 files={"file": ("x.png", distinct_png(3), "image/png")})
    assert response.status_code == 201, response.text
    assert response.json()["uploaded_by"] == UPLOADER[0]
    assert "Set-Cookie" not in response.headers


def test_a_cookie_without_the_csrf_token_is_still_refused(admin, runtime, image):
    response = admin.request("DELETE", f"/api/v1/images/{image['id']}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "csrf_failed"
    response = admin.request("DELETE", f"/api/v1/images/{image['id']}",
                             headers={"Authorization": "Basic YWRhOnB3"})
    assert response.status_code == 400
    assert image["id"] in runtime.images.view().ids()
