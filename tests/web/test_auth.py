"""Signing in and out, first-run set-up, throttling, safe redirects, cookies, CSRF."""

from __future__ import annotations

import pytest

from gallery import setup_code
from tests.web.conftest import ADMIN, UPLOADER


def test_first_visit_goes_to_setup_and_creates_the_admin(make_client, runtime):
    client = make_client()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")

    page = client.get("/setup")
    assert page.status_code == 200
    assert "Create the first admin" in page.text

    code = setup_code.read(runtime.storage, runtime.keys)
    response = client.post_form(
        "/setup", {"code": code, "username": "Ada", "password": "long enough pw",
                   "confirm": "long enough pw"}
    )
    assert response.status_code == 302
    assert setup_code.read(runtime.storage, runtime.keys) is None  # used up
    # Signed in straight away, as an admin.
    page = client.get("/")
    assert page.status_code == 200
    assert "ada" in page.text and "(admin)" in page.text

    # Once a user exists the set-up page is gone for everybody.
    with make_client() as other:
        response = other.get("/setup")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_setup_rejects_mismatched_passwords(make_client):
    client = make_client()
    response = client.post_form("/setup", {"code": "ABCD", "username": "ada",
                                           "password": "long enough pw", "confirm": "different pw!"})
    assert response.status_code == 400
    assert "The passwords differ." in response.text


def test_api_before_setup_says_how_to_start(make_client):
    response = make_client().get("/api/v1/images")
    assert response.status_code == 401
    assert "/setup" in response.json()["error"]["message"]


def test_login_and_logout(make_client, users):
    client = make_client()
    response = client.login(*ADMIN)
    assert response.status_code == 302
    cookie = next(c for c in client.session.cookies if c.name == "gallery_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    raw = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in raw and "HttpOnly" in raw and "Secure" not in raw

    assert "Sign out" in client.get("/").text
    # Logout is a POST with CSRF; a bare POST is refused and leaves the session alone.
    assert client.request("POST", "/logout").status_code == 400
    assert "Sign out" in client.get("/").text
    response = client.post_form("/logout", form_page="/")
    assert response.status_code == 302
    assert "Sign in" in client.get("/").text


def test_logout_by_get_is_not_allowed(admin):
    assert admin.get("/logout").status_code == 405


def test_wrong_password_is_refused_with_a_message(make_client, users):
    client = make_client()
    response = client.login(ADMIN[0], "wrong password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    response = client.login("nobody", "wrong password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text


@pytest.mark.parametrize("settings", [{"login_attempts": 3}])
def test_repeated_failures_are_throttled_per_account(make_client, users):
    client = make_client()
    for _ in range(3):
        assert client.login(ADMIN[0], "wrong password").status_code == 401
    response = client.login(*ADMIN)  # even the right password waits now
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert int(response.headers["Retry-After"]) > 0
    # Another account from the same address still gets its chance until the address limit.
    assert make_client().login(*UPLOADER).status_code == 302


@pytest.mark.parametrize("settings", [{"login_attempts": 3}])
def test_throttle_is_shared_by_every_app_instance_on_the_bucket(storage, settings, users):
    from tests.web.harness import Client, build_app, serve

    second = build_app(storage, **settings)  # another worker/machine on the same bucket
    with serve(second) as url, Client(url) as client:
        for _ in range(3):
            assert client.login(ADMIN[0], "nope nope").status_code == 401
    third = build_app(storage, **settings)
    with serve(third) as url, Client(url) as client:
        assert client.login(*ADMIN).status_code == 429


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
     "http:/evil", "/\r\nLocation: https://evil", "/\t/evil.example"],
)
def test_next_accepts_only_local_paths(make_client, users, target):
    client = make_client()
    token = client.csrf("/login")
    response = client.request(
        "POST", "/login", params={"next": target},
        data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_local_path_is_followed(make_client, users):
    client = make_client()
    token = client.csrf("/login")
    response = client.request(
        "POST", "/login", params={"next": "/upload?x=1"},
        data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]},
    )
    assert response.headers["Location"] == "/upload?x=1"


def test_login_form_without_csrf_is_refused(make_client, users):
    client = make_client()
    response = client.request("POST", "/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 400
    assert "reload the page" in response.text


def test_remember_me_sets_a_lasting_cookie(make_client, users):
    client = make_client()
    client.login(*ADMIN, remember=True)
    remember = [c for c in client.session.cookies if c.name == "gallery_remember"]
    assert remember and remember[0].expires is not None
    plain = make_client()
    plain.login(*UPLOADER)
    assert not [c for c in plain.session.cookies if c.name == "gallery_remember"]


@pytest.mark.parametrize("settings", [{"trusted_proxies": 1}])
def test_cookies_are_secure_behind_an_https_proxy(make_client, users):
    client = make_client()
    token = client.csrf("/login")
    response = client.request(
        "POST", "/login",
        data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1], "remember": "y"},
        headers={"X-Forwarded-Proto": "https", "Referer": client.base.replace("http:", "https:") + "/login"},
    )
    assert response.status_code == 302
    for raw in response.raw.headers.getlist("Set-Cookie"):
        assert "Secure" in raw


def test_password_change_ends_other_sessions(app, admin):
    assert "Sign out" in admin.get("/").text
    app.extensions["gallery"].accounts.set_password(ADMIN[0], "a brand new password")
    assert "Sign in" in admin.get("/").text


@pytest.mark.parametrize("settings", [{"visibility": "private"}])
def test_private_gallery_needs_sign_in(anonymous, admin):
    response = anonymous.get("/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    assert anonymous.get("/api/v1/images").status_code == 401
    assert anonymous.get("/media/" + "0" * 32).status_code == 404
    assert admin.get("/").status_code == 200
