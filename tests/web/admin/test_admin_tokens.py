"""The API tokens page: list, create (secret shown once), revoke; all audited."""

from __future__ import annotations

import re

from tests.web.conftest import UPLOADER

BOB = UPLOADER[0]
SECRET = re.compile(r'id="token-secret" value="(gal_[^"]+)"')


def create(admin, username: str = BOB, label: str = "sync script"):
    return admin.post_form("/admin/tokens", {"username": username, "label": label})


def test_token_is_shown_once_not_cached_and_works_as_bearer(admin, anonymous, runtime, add_image):
    add_image("one.png")
    response = create(admin)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "it will not be shown again" in response.text
    secret = SECRET.search(response.text).group(1)

    token = runtime.accounts.list_tokens(BOB)[0]
    assert token.label == "sync script"
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.target) == ("ada", "token.create", token.id)
    assert entry.details["user"] == BOB
    assert secret not in str(entry)

    listing = anonymous.get("/api/v1/images", headers={"Authorization": f"Bearer {secret}"})
    assert listing.status_code == 200
    assert [i["filename"] for i in listing.json()["images"]] == ["one.png"]

    page = admin.get("/admin/tokens").text
    assert secret not in page  # never shown again
    assert token.id in page and "sync script" in page
    assert 'id="tokens-bob"' in page


def test_token_list_shows_owner_label_and_last_use(admin, anonymous, runtime):
    secret, token = runtime.accounts.create_token(BOB, "camera upload")
    page = admin.get("/admin/tokens").text
    assert "never" in page
    anonymous.get("/api/v1/images", headers={"Authorization": f"Bearer {secret}"})
    page = admin.get("/admin/tokens").text
    used = runtime.accounts.list_tokens()[0].last_used_at
    assert used is not None and f'datetime="{used}"' in page
    assert "camera upload" in page


def test_create_refuses_unknown_user_and_long_label(admin, runtime):
    response = create(admin, username="nobody")
    assert response.status_code == 404
    assert "There is no user named" in response.text
    response = create(admin, label="x" * 101)
    assert response.status_code == 400
    assert "Label (what it is for): Field cannot be longer than 100 characters." in response.text
    assert runtime.accounts.list_tokens() == []
    assert runtime.audit.latest(5) == []


def test_revoke_asks_first_then_revokes(admin, anonymous, runtime):
    secret, token = runtime.accounts.create_token(BOB, "old laptop")
    confirm = admin.get(f"/admin/tokens/{token.id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the API token “old laptop” of bob?" in confirm.text
    assert runtime.accounts.list_tokens() != []  # asking changed nothing

    response = admin.post_form(f"/admin/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert runtime.accounts.list_tokens() == []
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.target) == ("ada", "token.revoke", token.id)
    assert "Revoked the token old laptop of bob." in admin.get("/admin/tokens").text
    bearer = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/api/v1/images", headers=bearer).status_code == 401


def test_revoke_unknown_token_is_404(admin):
    assert admin.get("/admin/tokens/0123456789abcdef/revoke").status_code == 404


def test_token_changes_need_the_csrf_token(admin, runtime):
    _, token = runtime.accounts.create_token(BOB)
    assert admin.request("POST", "/admin/tokens", data={"username": BOB}).status_code == 400
    assert admin.request("POST", f"/admin/tokens/{token.id}/revoke").status_code == 400
    assert [t.id for t in runtime.accounts.list_tokens()] == [token.id]
    assert runtime.audit.latest(5) == []
