"""Accounts and API tokens in ``users.json``."""

from __future__ import annotations

import re

import orjson
import pytest

import gallery.accounts as accounts_module
from gallery.accounts import MAX_SESSIONS, SESSION_LIFETIME, Accounts, User
from gallery.documents import DocumentDamaged
from gallery.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
    StorageUnavailable,
)
from gallery.keys import Keys
from tests.accounts import FakeClock, HookedStorage

# A cheap scrypt for most tests; one test checks the real default.
FAST = "scrypt:1024:8:1"
PASSWORD = "correct horse"


@pytest.fixture
def accounts(storage: HookedStorage, keys: Keys, clock: FakeClock) -> Accounts:
    return Accounts(storage, keys, clock=clock, password_method=FAST)


@pytest.fixture
def admin(accounts: Accounts) -> User:
    return accounts.create_user("Admin", PASSWORD, "admin")


def stored(storage: HookedStorage, keys: Keys) -> dict:
    return orjson.loads(storage.get(keys.users))


# --- creating and reading accounts ------------------------------------------------


def test_a_new_gallery_has_no_accounts(accounts: Accounts, storage: HookedStorage, keys: Keys):
    assert accounts.count() == 0
    assert accounts.list_users() == []
    assert accounts.get("anyone") is None
    assert not storage.exists(keys.users)


def test_create_user_stores_a_lower_case_name_and_only_a_hash(
    accounts: Accounts, storage: HookedStorage, keys: Keys
):
    user = accounts.create_user("  Alice.Smith-2 ", PASSWORD, "uploader")
    assert user == User(
        username="alice.smith-2",
        role="uploader",
        password_hash=user.password_hash,
        created_at="2026-01-02T03:04:05Z",
        disabled=False,
        session_version=1,
        uid=user.uid,
    )
    assert re.fullmatch(r"[0-9a-f]{32}", user.uid)
    assert not user.is_admin
    assert accounts.get("ALICE.SMITH-2") == user
    assert accounts.count() == 1
    raw = storage.get(keys.users)
    assert PASSWORD.encode() not in raw
    assert stored(storage, keys)["users"]["alice.smith-2"]["password_hash"].startswith("scrypt:")
    assert PASSWORD not in repr(user) and "password_hash" not in repr(user)


def test_the_default_password_hash_is_werkzeug_scrypt(storage: HookedStorage, keys: Keys):
    accounts = Accounts(storage, keys)
    user = accounts.create_user("bob", PASSWORD, "admin")
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert accounts.authenticate("bob", PASSWORD) == user


def test_list_users_is_sorted_by_name(accounts: Accounts):
    for name in ("carol", "Alice", "bob"):
        accounts.create_user(name, PASSWORD, "uploader")
    assert [u.username for u in accounts.list_users()] == ["alice", "bob", "carol"]


@pytest.mark.parametrize(
    "username",
    [
        "",
        "   ",
        "a" * 41,
        "-alice",
        ".alice",
        "_alice",
        "al ice",
        "al/ice",
        "ali\nce",
        "al\x00ice",
        "élise",
        "\u212aelvin",  # KELVIN SIGN lowercases to an ASCII "k"
        "ａlice",  # fullwidth
    ],
)
def test_invalid_usernames_are_refused(accounts: Accounts, username: str):
    with pytest.raises(BadRequest, match="username"):
        accounts.create_user(username, PASSWORD, "uploader")
    assert accounts.count() == 0
    assert accounts.get(username) is None


@pytest.mark.parametrize("username", ["a", "7", "a" * 40, "x_y.z-0"])
def test_valid_usernames_at_the_edges(accounts: Accounts, username: str):
    assert accounts.create_user(username, PASSWORD, "uploader").username == username


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "at least 8"),
        ("1234567", "at least 8"),
        ("x" * 1025, "at most 1024"),
        (None, "at least 8"),
    ],
)
def test_invalid_passwords_are_refused(accounts: Accounts, password, message: str):
    with pytest.raises(BadRequest, match=message):
        accounts.create_user("alice", password, "uploader")
    assert accounts.count() == 0


def test_password_length_edges_are_accepted(accounts: Accounts):
    accounts.create_user("short", "x" * 8, "uploader")
    accounts.create_user("long", "y" * 1024, "uploader")
    assert accounts.authenticate("short", "x" * 8) is not None
    assert accounts.authenticate("long", "y" * 1024) is not None


@pytest.mark.parametrize("role", ["", "Admin", "owner", None])
def test_unknown_roles_are_refused(accounts: Accounts, role):
    with pytest.raises(BadRequest, match="role"):
        accounts.create_user("alice", PASSWORD, role)


def test_a_name_is_taken_whatever_its_case(accounts: Accounts):
    accounts.create_user("alice", PASSWORD, "uploader")
    with pytest.raises(Conflict, match="A user named 'alice' already exists."):
        accounts.create_user("ALICE", "another password", "admin")
    assert accounts.get("alice").role == "uploader"


# --- the first administrator ---------------------------------------------------------


def test_create_first_admin_only_while_there_is_no_account(accounts: Accounts):
    first = accounts.create_first_admin("Root", PASSWORD)
    assert first.username == "root" and first.is_admin
    with pytest.raises(Forbidden):
        accounts.create_first_admin("other", PASSWORD)
    assert [u.username for u in accounts.list_users()] == ["root"]


def test_two_racing_set_up_forms_cannot_both_create_an_admin(
    storage: HookedStorage, keys: Keys, clock: FakeClock
):
    ours = Accounts(storage, keys, clock=clock, password_method=FAST)
    theirs = Accounts(storage, keys, clock=clock, password_method=FAST)
    # Both forms passed the "no account yet" look-up; theirs writes first.
    storage.before_put = lambda key: theirs.create_first_admin("mallory", PASSWORD)
    with pytest.raises(Forbidden):
        ours.create_first_admin("alice", PASSWORD)
    assert [u.username for u in ours.list_users()] == ["mallory"]


# --- changing and deleting ----------------------------------------------------------


def test_delete_user_removes_the_account_and_its_tokens(accounts: Accounts, admin: User):
    accounts.create_user("bob", PASSWORD, "uploader")
    bob_token, _ = accounts.create_token("bob", "laptop")
    _, admin_token = accounts.create_token("admin", "ci")
    accounts.delete_user("BOB")
    assert accounts.get("bob") is None
    assert accounts.authenticate_token(bob_token) is None
    assert accounts.list_tokens() == [admin_token]


def test_deleting_an_unknown_user_is_not_found(accounts: Accounts, admin: User):
    with pytest.raises(NotFound):
        accounts.delete_user("nobody")
    with pytest.raises(NotFound):
        accounts.delete_user("not a name")


def test_the_last_active_admin_cannot_be_removed_demoted_or_disabled(
    accounts: Accounts, admin: User
):
    accounts.create_user("bob", PASSWORD, "uploader")
    with pytest.raises(Conflict, match="last active administrator"):
        accounts.delete_user("admin")
    with pytest.raises(Conflict, match="last active administrator"):
        accounts.set_role("admin", "uploader")
    with pytest.raises(Conflict, match="last active administrator"):
        accounts.set_disabled("admin", True)
    assert accounts.get("admin") == admin


def test_a_disabled_admin_does_not_count_as_the_other_admin(accounts: Accounts, admin: User):
    accounts.create_user("second", PASSWORD, "admin")
    accounts.set_disabled("second", True)
    with pytest.raises(Conflict):
        accounts.delete_user("admin")
    accounts.set_disabled("second", False)
    accounts.delete_user("admin")
    assert [u.username for u in accounts.list_users()] == ["second"]


def test_with_two_admins_either_can_be_demoted(accounts: Accounts, admin: User):
    accounts.create_user("second", PASSWORD, "admin")
    demoted = accounts.set_role("admin", "uploader")
    assert demoted.role == "uploader" and demoted.session_version == 2
    with pytest.raises(Conflict):
        accounts.set_role("second", "uploader")


def test_setting_the_same_role_changes_nothing(
    accounts: Accounts, admin: User, storage: HookedStorage
):
    writes = storage.puts
    assert accounts.set_role("admin", "admin") == admin
    assert storage.puts == writes


@pytest.mark.parametrize("action", ["set_role", "set_password", "set_disabled"])
def test_changing_an_unknown_user_is_not_found(accounts: Accounts, admin: User, action: str):
    argument = {"set_role": "admin", "set_password": PASSWORD, "set_disabled": True}[action]
    with pytest.raises(NotFound):
        getattr(accounts, action)("nobody", argument)


def test_set_password_replaces_it_and_ends_sessions(accounts: Accounts, admin: User):
    session = accounts.start_session("admin")
    changed = accounts.set_password("ADMIN", "a new password")
    assert changed.session_version == admin.session_version + 1
    assert accounts.authenticate("admin", PASSWORD) is None
    assert accounts.authenticate("admin", "a new password") == changed
    assert accounts.load_session(session) is None
    assert accounts.load_session(accounts.start_session("admin")) == changed
    with pytest.raises(BadRequest):
        accounts.set_password("admin", "short")


def test_disabling_blocks_sign_in_sessions_and_tokens(accounts: Accounts, admin: User):
    bob = accounts.create_user("bob", PASSWORD, "uploader")
    token, _ = accounts.create_token("bob", "")
    session = accounts.start_session("bob")
    disabled = accounts.set_disabled("bob", True)
    assert disabled.disabled and disabled.session_version == bob.session_version + 1
    assert accounts.authenticate("bob", PASSWORD) is None
    assert accounts.authenticate_token(token) is None
    assert accounts.load_session(session) is None
    with pytest.raises(Forbidden):
        accounts.start_session("bob")
    enabled = accounts.set_disabled("bob", False)
    assert accounts.authenticate("bob", PASSWORD) == enabled
    assert accounts.authenticate_token(token) == enabled
    assert accounts.load_session(session) is None  # enabling again does not revive it


def test_each_sign_in_is_its_own_session_and_ends_alone(accounts: Accounts, admin: User):
    laptop, phone = accounts.start_session("admin"), accounts.start_session("admin")
    assert laptop != phone
    assert accounts.load_session(laptop) == admin == accounts.load_session(phone)
    assert accounts.get("admin").sessions == 2
    accounts.end_session(laptop)
    assert accounts.load_session(laptop) is None
    assert accounts.load_session(phone) == admin
    accounts.end_session(laptop)  # twice is fine
    assert accounts.end_all_sessions("admin") == 1
    assert accounts.load_session(phone) is None
    assert accounts.end_all_sessions("admin") == 0


def test_a_new_account_of_a_deleted_name_has_none_of_its_sessions(accounts: Accounts, admin: User):
    bob = accounts.create_user("bob", PASSWORD, "uploader")
    session = accounts.start_session("bob")
    accounts.delete_user("bob")
    again = accounts.create_user("bob", PASSWORD, "uploader")
    assert again.uid != bob.uid
    assert accounts.load_session(session) is None
    name, _, key = session.split(":")
    assert accounts.load_session(f"{name}:{again.uid}:{key}") is None


def test_sessions_end_after_their_lifetime(accounts: Accounts, admin: User, clock: FakeClock):
    session = accounts.start_session("admin")
    clock.advance(SESSION_LIFETIME.total_seconds() - 1)
    assert accounts.load_session(session) == admin
    clock.advance(1)
    assert accounts.load_session(session) is None


def test_the_oldest_sessions_give_way_beyond_the_most_kept(
    accounts: Accounts, admin: User, clock: FakeClock
):
    first = accounts.start_session("admin")
    for _ in range(MAX_SESSIONS):
        clock.advance(1)
        accounts.start_session("admin")
    assert accounts.get("admin").sessions == MAX_SESSIONS
    assert accounts.load_session(first) is None


@pytest.mark.parametrize(
    "session_id", ["", "admin", "admin:1", "admin:x:y", "nobody:" + "0" * 32 + ":" + "a" * 32,
                   ":" + "0" * 32 + ":" + "a" * 32, "admin:٢", None, 7]
)
def test_load_session_refuses_anything_but_an_open_session(
    accounts: Accounts, admin: User, session_id
):
    assert accounts.load_session(session_id) is None
    good = accounts.start_session("admin")
    assert accounts.load_session(good) == admin
    name, uid, key = good.split(":")
    assert accounts.load_session(f"{name}:{uid}:{'A' * 32}") is None
    assert accounts.load_session(f"{name}:{'f' * 32}:{key}") is None


def test_a_document_of_an_earlier_release_opens_and_gets_a_uid_at_sign_in(
    accounts: Accounts, storage: HookedStorage, keys: Keys
):
    storage.put(keys.users, orjson.dumps({"users": {"admin": GOOD_USER}, "tokens": {}}))
    old = accounts.get("admin")
    assert old is not None and old.uid == "" and old.sessions == 0
    assert accounts.load_session("admin:1") is None  # a cookie of that release
    session = accounts.start_session("admin")
    assert accounts.load_session(session).uid == session.split(":")[1]


# --- signing in -------------------------------------------------------------------------


def test_authenticate(accounts: Accounts, admin: User):
    assert accounts.authenticate("admin", PASSWORD) == admin
    assert accounts.authenticate(" ADMIN ", PASSWORD) == admin
    assert accounts.authenticate("admin", PASSWORD.upper()) is None
    assert accounts.authenticate("admin", "") is None
    assert accounts.authenticate("nobody", PASSWORD) is None


def test_unknown_users_cost_a_password_check_too(accounts: Accounts, admin: User, monkeypatch):
    checked: list[str] = []
    real = accounts_module.check_password_hash

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash.split("$", 1)[0])
        return real(password_hash, password)

    monkeypatch.setattr(accounts_module, "check_password_hash", counting)
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("not a valid name!", PASSWORD) is None
    assert accounts.authenticate("admin", "wrong password") is None
    assert checked == [FAST, FAST, FAST]


# --- API tokens ----------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_hashed(
    accounts: Accounts, admin: User, storage: HookedStorage, keys: Keys
):
    plaintext, token = accounts.create_token("Admin", "  backup script ")
    prefix, token_id, secret = plaintext.split("_", 2)
    assert prefix == "gal" and token_id == token.id and len(secret) >= 43
    assert token.username == "admin" and token.label == "backup script"
    assert token.created_at == "2026-01-02T03:04:05Z" and token.last_used_at is None
    assert secret.encode() not in storage.get(keys.users)
    assert accounts.authenticate_token(plaintext) == admin


def test_tokens_are_unique(accounts: Accounts, admin: User):
    first, _ = accounts.create_token("admin", "a")
    second, _ = accounts.create_token("admin", "a")
    assert first != second
    assert len(accounts.list_tokens("admin")) == 2


def test_a_token_for_an_unknown_user_is_not_found(accounts: Accounts):
    with pytest.raises(NotFound):
        accounts.create_token("nobody", "x")


@pytest.mark.parametrize("label", ["x" * 101, "tab\there", "bell\x07"])
def test_bad_token_labels_are_refused(accounts: Accounts, admin: User, label: str):
    with pytest.raises(BadRequest, match="label"):
        accounts.create_token("admin", label)


def test_malformed_or_tampered_tokens_are_refused(accounts: Accounts, admin: User):
    plaintext, token = accounts.create_token("admin", "")
    secret = plaintext.split("_", 2)[2]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for candidate in [
        "",
        "gal",
        "gal__",
        plaintext[:-1],
        f"gal_{token.id}_{flipped}",
        f"xyz_{token.id}_{secret}",
        f"gal_{'0' * 16}_{secret}",
        f"gal_{token.id.upper()}_{secret}",
        plaintext + "\x00",
        plaintext * 3,
        None,
    ]:
        assert accounts.authenticate_token(candidate) is None, candidate
    assert accounts.authenticate_token(f" {plaintext} ") == admin


def test_revoked_tokens_stop_working(accounts: Accounts, admin: User):
    plaintext, token = accounts.create_token("admin", "")
    accounts.revoke_token(token.id)
    assert accounts.authenticate_token(plaintext) is None
    assert accounts.list_tokens() == []
    with pytest.raises(NotFound):
        accounts.revoke_token(token.id)


def test_list_tokens_per_user_and_oldest_first(accounts: Accounts, admin: User, clock: FakeClock):
    accounts.create_user("bob", PASSWORD, "uploader")
    _, first = accounts.create_token("bob", "one")
    clock.advance(5)
    _, second = accounts.create_token("admin", "two")
    clock.advance(5)
    _, third = accounts.create_token("bob", "three")
    assert accounts.list_tokens() == [first, second, third]
    assert accounts.list_tokens("BOB") == [first, third]
    assert accounts.list_tokens("nobody") == []
    assert accounts.list_tokens("not a name") == []


def test_last_used_at_is_written_at_most_once_a_minute(
    accounts: Accounts, admin: User, clock: FakeClock, storage: HookedStorage
):
    plaintext, token = accounts.create_token("admin", "")
    clock.advance(10)
    accounts.authenticate_token(plaintext)
    assert accounts.list_tokens()[0].last_used_at == "2026-01-02T03:04:15Z"
    writes = storage.puts
    clock.advance(59)
    accounts.authenticate_token(plaintext)
    assert storage.puts == writes
    assert accounts.list_tokens()[0].last_used_at == "2026-01-02T03:04:15Z"
    clock.advance(1)
    accounts.authenticate_token(plaintext)
    assert storage.puts == writes + 1
    assert accounts.list_tokens()[0].last_used_at == "2026-01-02T03:05:15Z"


@pytest.mark.parametrize(
    "fault",
    [StorageUnavailable("down"), PreconditionFailed("users.json")],
    ids=["storage-down", "lost-race"],
)
def test_a_failed_last_used_write_does_not_fail_the_request(
    accounts: Accounts, admin: User, storage: HookedStorage, fault: Exception
):
    plaintext, _ = accounts.create_token("admin", "")

    def fail(key: str) -> None:
        raise fault

    storage.before_put = fail
    assert accounts.authenticate_token(plaintext) == admin
    assert accounts.list_tokens()[0].last_used_at is None


def test_a_token_check_does_not_undo_a_concurrent_change(
    accounts: Accounts, admin: User, storage: HookedStorage, clock: FakeClock
):
    plaintext, _ = accounts.create_token("admin", "")
    other = Accounts(storage, Keys("site/"), clock=clock, password_method=FAST)
    storage.before_put = lambda key: other.create_user("late", PASSWORD, "uploader")
    assert accounts.authenticate_token(plaintext) == admin
    assert accounts.get("late") is not None


def test_a_token_check_needs_the_storage(accounts: Accounts, admin: User, storage: HookedStorage):
    plaintext, _ = accounts.create_token("admin", "")

    def fail(key: str) -> None:
        raise StorageUnavailable("down")

    storage.before_read = fail
    with pytest.raises(StorageUnavailable):
        accounts.authenticate_token(plaintext)


# --- a damaged document ------------------------------------------------------------------


GOOD_USER = {
    "role": "admin",
    "password_hash": "scrypt:1024:8:1$salt$00",
    "created_at": "2026-01-02T03:04:05Z",
    "disabled": False,
    "session_version": 1,
}


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"users": {}}',
        b'{"users": [], "tokens": {}}',
        orjson.dumps({"users": {"Admin": GOOD_USER}, "tokens": {}}),
        orjson.dumps({"users": {"admin": {**GOOD_USER, "role": "root"}}, "tokens": {}}),
        orjson.dumps({"users": {"admin": {**GOOD_USER, "disabled": 0}}, "tokens": {}}),
        orjson.dumps({"users": {"admin": {**GOOD_USER, "session_version": "1"}}, "tokens": {}}),
        orjson.dumps({"users": {"admin": {**GOOD_USER, "created_at": "yesterday"}}, "tokens": {}}),
        orjson.dumps({"users": {"admin": {**GOOD_USER, "password_hash": None}}, "tokens": {}}),
        orjson.dumps({"users": {"admin": GOOD_USER}, "tokens": {"0123456789abcdef": {
            "username": "ghost", "label": "", "secret_sha256": "0" * 64,
            "created_at": "2026-01-02T03:04:05Z", "last_used_at": None}}}),
    ],
)
def test_a_damaged_document_is_reported_and_never_overwritten(
    accounts: Accounts, storage: HookedStorage, keys: Keys, raw: bytes
):
    storage.put(keys.users, raw)
    with pytest.raises(DocumentDamaged):
        accounts.get("admin")
    with pytest.raises(DocumentDamaged):
        accounts.create_user("alice", PASSWORD, "admin")
    with pytest.raises(DocumentDamaged):
        accounts.authenticate_token("gal_0123456789abcdef_" + "A" * 43)
    assert storage.get(keys.users) == raw


def test_a_well_formed_document_written_elsewhere_is_read(
    accounts: Accounts, storage: HookedStorage, keys: Keys
):
    storage.put(keys.users, orjson.dumps({"users": {"admin": GOOD_USER}, "tokens": {}}))
    assert accounts.get("admin").role == "admin"
    with pytest.raises(ObjectNotFound):
        storage.get(Keys().users)  # the prefix is respected
