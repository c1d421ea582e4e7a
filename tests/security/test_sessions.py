"""Sessions: signing out ends the session everywhere, and no identity is ever reused.

The attacker holds a copy of a victim's cookies (a shared computer, a stolen
backup, malware): once the victim signs out, or is signed out, the copy must
sign in nobody, on any instance, the remember cookie included.
"""

from __future__ import annotations

import time

import pytest

from tests.security.conftest import cookies_of, signed_in_as
from tests.web.conftest import ADMIN, UPLOADER
from tests.web.harness import Client

#: How long another instance may take to honour a sign-out.
PROPAGATION = 2.0


def wait_signed_out(base: str, cookies: dict[str, str]) -> str | None:
    """Who the cookies sign in as once ``PROPAGATION`` passed (``None`` as soon as nobody)."""
    deadline = time.monotonic() + PROPAGATION
    who = signed_in_as(base, cookies)
    while who is not None and time.monotonic() < deadline:
        time.sleep(0.1)
        who = signed_in_as(base, cookies)
    return who


def remember_only(client: Client) -> dict[str, str]:
    return {"gallery_remember": cookies_of(client)["gallery_remember"]}


def test_a_cookie_saved_before_sign_out_signs_in_nobody(make_client, users, base_url,
                                                        other_instance):
    victim = make_client()
    assert victim.login(*UPLOADER, remember=True).status_code == 302
    saved = cookies_of(victim)
    assert signed_in_as(base_url, saved) == UPLOADER[0]
    assert signed_in_as(other_instance, saved) == UPLOADER[0]
    assert signed_in_as(base_url, remember_only(victim)) == UPLOADER[0]
    saved_remember = remember_only(victim)

    assert victim.post_form("/logout", form_page="/").status_code == 302

    for base in (base_url, other_instance):
        assert wait_signed_out(base, saved) is None
        assert wait_signed_out(base, saved_remember) is None
        assert wait_signed_out(base, {"gallery_session": saved["gallery_session"]}) is None


def test_signing_out_on_one_device_keeps_the_others(make_client, users, base_url):
    laptop, phone = make_client(), make_client()
    laptop.login(*UPLOADER)
    phone.login(*UPLOADER)
    laptop_cookies = cookies_of(laptop)
    phone.post_form("/logout", form_page="/")
    assert signed_in_as(base_url, laptop_cookies) == UPLOADER[0]


def test_sign_out_everywhere_ends_every_session_of_the_user(make_client, users, base_url,
                                                            other_instance):
    devices = [make_client() for _ in range(3)]
    for device in devices:
        assert device.login(*UPLOADER, remember=True).status_code == 302
    saved = [cookies_of(d) for d in devices] + [remember_only(d) for d in devices]
    with Client(base_url) as bystander:
        bystander.login(*ADMIN)
        admin_cookies = cookies_of(bystander)

    page = devices[0].get("/account")
    assert page.status_code == 200 and "Sign out everywhere" in page.text
    assert "3 sessions" in page.text
    done = devices[0].post_form("/account/sign-out-everywhere", form_page="/account")
    assert done.status_code == 302

    for cookies in saved:
        assert wait_signed_out(other_instance, cookies) is None
    assert signed_in_as(base_url, admin_cookies) == ADMIN[0]  # nobody else is signed out
    assert "Sign in" in devices[1].get("/").text


def test_sign_out_everywhere_needs_the_form_token(uploader, base_url):
    saved = cookies_of(uploader)
    response = uploader.request("POST", "/account/sign-out-everywhere")
    assert response.status_code == 400
    assert signed_in_as(base_url, saved) == UPLOADER[0]


def test_an_admin_signs_a_user_out_everywhere(admin, make_client, users, runtime,
                                              other_instance):
    victim = make_client()
    victim.login(*UPLOADER, remember=True)
    saved, remembered = cookies_of(victim), remember_only(victim)
    page = admin.get("/admin/users")
    assert "Sign out everywhere" in page.text
    done = admin.post_form(f"/admin/users/{UPLOADER[0]}/sessions/end", form_page="/admin/users")
    assert done.status_code == 302
    assert wait_signed_out(other_instance, saved) is None
    assert wait_signed_out(other_instance, remembered) is None
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.target) == ("ada", "user.sign_out_everywhere", "bob")
    # The user signs in again as usual.
    assert make_client().login(*UPLOADER).status_code == 302


def test_only_admins_sign_others_out(uploader, make_client, users, base_url):
    other = make_client()
    other.login(*ADMIN)
    saved = cookies_of(other)
    response = uploader.post_form(f"/admin/users/{ADMIN[0]}/sessions/end", form_page="/upload")
    assert response.status_code == 403
    assert signed_in_as(base_url, saved) == ADMIN[0]


@pytest.mark.parametrize("how", ["cli", "admin page"])
def test_a_new_account_of_a_deleted_name_revives_no_session(make_client, admin, users, runtime,
                                                            base_url, how):
    victim = make_client()
    victim.login(*UPLOADER, remember=True)
    saved, remembered = cookies_of(victim), remember_only(victim)

    if how == "cli":
        runtime.accounts.delete_user(UPLOADER[0])
        runtime.accounts.create_user(UPLOADER[0], "a different password", "admin")
    else:
        admin.post_form(f"/admin/users/{UPLOADER[0]}/delete")
        created = admin.post_form("/admin/users", {"username": UPLOADER[0], "role": "admin",
                                                   "password": "a different password"})
        assert created.status_code == 302
    assert runtime.accounts.get(UPLOADER[0]).role == "admin"

    assert signed_in_as(base_url, saved) is None
    assert signed_in_as(base_url, remembered) is None
    assert signed_in_as(base_url, {"gallery_session": saved["gallery_session"]}) is None


def test_every_sign_in_gets_a_new_identity(make_client, users):
    first, second = make_client(), make_client()
    first.login(*UPLOADER, remember=True)
    second.login(*UPLOADER, remember=True)
    assert cookies_of(first)["gallery_remember"] != cookies_of(second)["gallery_remember"]


def test_a_password_change_ends_remember_cookies(make_client, users, runtime, base_url):
    victim = make_client()
    victim.login(*UPLOADER, remember=True)
    remembered = remember_only(victim)
    runtime.accounts.set_password(UPLOADER[0], "a brand new password")
    assert signed_in_as(base_url, remembered) is None
