"""The users page: create, change role, reset password, disable, enable, delete; all audited."""

from __future__ import annotations

import pytest

from tests.web.conftest import ADMIN, UPLOADER

BOB = UPLOADER[0]


def last_action(runtime) -> tuple[str, str, str]:
    entry = runtime.audit.latest(1)[0]
    return entry.actor, entry.action, entry.target


def signs_in(make_client, username: str, password: str) -> bool:
    client = make_client()
    return client.login(username, password).status_code == 302


def test_users_are_listed_with_role_status_and_tokens(admin, runtime):
    runtime.accounts.create_token(BOB, "backup script")
    page = admin.get("/admin/users").text
    assert "<caption>2 accounts." in page
    assert 'id="user-ada"' in page and 'id="user-bob"' in page
    assert "ada <small>(you)</small>" in page
    assert '<option value="uploader" selected>uploader</option>' in page
    assert 'href="/admin/tokens#tokens-bob">1</a>' in page


def test_create_user(admin, runtime, make_client):
    response = admin.post_form("/admin/users", {"username": "Cleo", "password": "a long password",
                                                "role": "admin"})
    assert response.status_code == 302
    page = admin.get("/admin/users").text
    assert "Created admin &#39;cleo&#39;." in page
    assert runtime.accounts.get("cleo").role == "admin"
    assert last_action(runtime) == ("ada", "user.create", "cleo")
    assert runtime.audit.latest(1)[0].details == {"role": "admin"}
    assert signs_in(make_client, "cleo", "a long password")


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"username": "dora", "password": "short", "role": "uploader"}, 400, "at least 8 characters"),
        ({"username": "no spaces", "password": "a long password", "role": "uploader"}, 400,
         "A username is 1 to 40 characters"),
        ({"username": "dora", "password": "a long password", "role": "owner"}, 400, "Not a valid choice"),
        ({"username": "", "password": "a long password", "role": "uploader"}, 400, "This field is required"),
        ({"username": BOB, "password": "a long password", "role": "uploader"}, 409, "already exists"),
    ],
)
def test_create_user_refuses_bad_input_with_a_message(admin, runtime, form, status, message):
    before = runtime.accounts.count()
    response = admin.post_form("/admin/users", form)
    assert response.status_code == status
    assert message in response.text
    assert 'class="flash error"' in response.text
    assert runtime.accounts.count() == before
    assert runtime.audit.latest(5) == []


def test_change_role(admin, runtime, make_client):
    response = admin.post_form(f"/admin/users/{BOB}/role", {"role": "admin"}, form_page="/admin/users")
    assert response.status_code == 302
    assert f"{BOB} is now admin." in admin.get("/admin/users").text
    assert runtime.accounts.get(BOB).role == "admin"
    assert last_action(runtime) == ("ada", "user.role", BOB)
    assert runtime.audit.latest(1)[0].details == {"role": "admin", "was": "uploader"}


def test_reset_password_ends_the_old_one(admin, runtime, make_client):
    response = admin.post_form(f"/admin/users/{BOB}/password", {"password": "brand new secret"},
                               form_page="/admin/users")
    assert response.status_code == 302
    assert last_action(runtime) == ("ada", "user.password", BOB)
    assert not signs_in(make_client, *UPLOADER)
    assert signs_in(make_client, BOB, "brand new secret")


def test_reset_own_password_keeps_the_admin_signed_in(admin, runtime, make_client):
    response = admin.post_form(f"/admin/users/{ADMIN[0]}/password", {"password": "my new secret"},
                               form_page="/admin/users")
    assert response.status_code == 302
    assert admin.get("/admin/users").status_code == 200
    assert signs_in(make_client, ADMIN[0], "my new secret")


def test_reset_password_refuses_a_short_one(admin, runtime, make_client):
    response = admin.post_form(f"/admin/users/{BOB}/password", {"password": "short"},
                               form_page="/admin/users")
    assert response.status_code == 400
    assert "at least 8 characters" in response.text
    assert signs_in(make_client, *UPLOADER)


def test_disable_and_enable(admin, uploader, runtime, make_client):
    token, _ = runtime.accounts.create_token(BOB)
    response = admin.post_form(f"/admin/users/{BOB}/disable", form_page="/admin/users")
    assert response.status_code == 302
    assert last_action(runtime) == ("ada", "user.disable", BOB)
    assert "disabled</span>" in admin.get("/admin/users").text
    assert uploader.get("/upload").status_code == 302  # the session ended
    assert not signs_in(make_client, *UPLOADER)
    assert uploader.get("/api/v1/images", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    response = admin.post_form(f"/admin/users/{BOB}/enable", form_page="/admin/users")
    assert response.status_code == 302
    assert last_action(runtime) == ("ada", "user.enable", BOB)
    assert signs_in(make_client, *UPLOADER)


def test_delete_asks_first_then_deletes(admin, runtime, add_image, make_client):
    image = add_image(uploaded_by=BOB)
    runtime.accounts.create_token(BOB)
    confirm = admin.get(f"/admin/users/{BOB}/delete")
    assert confirm.status_code == 200
    assert f"Delete the account “{BOB}”?" in confirm.text
    assert "Their 1 API token stop working." in confirm.text
    assert runtime.accounts.get(BOB) is not None  # asking changed nothing

    response = admin.post_form(f"/admin/users/{BOB}/delete")
    assert response.status_code == 302
    assert runtime.accounts.get(BOB) is None
    assert runtime.accounts.list_tokens() == []
    assert last_action(runtime) == ("ada", "user.delete", BOB)
    assert not signs_in(make_client, *UPLOADER)
    assert admin.get(f"/images/{image['id']}").status_code == 200  # their images stay


@pytest.mark.parametrize(
    ("path", "data", "doing"),
    [
        (f"/admin/users/{ADMIN[0]}/role", {"role": "uploader"}, "change the role of"),
        (f"/admin/users/{ADMIN[0]}/disable", {}, "disable"),
        (f"/admin/users/{ADMIN[0]}/delete", {}, "delete"),
    ],
)
def test_the_last_admin_cannot_lock_themselves_out(admin, runtime, path, data, doing):
    response = admin.post_form(path, data, form_page="/admin/users")
    assert response.status_code == 403
    assert f"You cannot {doing} your own account here; ask another admin." in response.text
    me = runtime.accounts.get(ADMIN[0])
    assert me.role == "admin" and not me.disabled
    assert runtime.audit.latest(5) == []
    assert admin.get("/admin/").status_code == 200


def test_own_row_offers_no_role_change_disable_or_delete(admin):
    page = admin.get("/admin/users").text
    assert f"/admin/users/{ADMIN[0]}/role" not in page
    assert f"/admin/users/{ADMIN[0]}/disable" not in page
    assert f"/admin/users/{ADMIN[0]}/delete" not in page
    assert f"/admin/users/{BOB}/delete" in page


def test_unknown_user_is_404(admin):
    assert admin.get("/admin/users/nobody/delete").status_code == 404
    response = admin.post_form("/admin/users/nobody/disable", form_page="/admin/users")
    assert response.status_code == 404
    assert "There is no user named" in response.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/users", {"username": "eve", "password": "a long password", "role": "admin"}),
        (f"/admin/users/{BOB}/role", {"role": "admin"}),
        (f"/admin/users/{BOB}/password", {"password": "a long password"}),
        (f"/admin/users/{BOB}/disable", {}),
        (f"/admin/users/{BOB}/delete", {}),
    ],
)
def test_changes_need_the_csrf_token(admin, runtime, path, data):
    response = admin.request("POST", path, data=data)
    assert response.status_code == 400
    assert "The form expired" in response.text
    assert runtime.accounts.get(BOB).role == "uploader" and not runtime.accounts.get(BOB).disabled
    assert runtime.accounts.get("eve") is None
    assert runtime.audit.latest(5) == []
