"""Accounts and API tokens, kept in one ``users.json`` object in the bucket.

The document is read and written through :class:`~gallery.documents.JsonDocument`
(compare-and-swap), so every gunicorn worker and every machine sharing the
bucket see the same accounts and never overwrite each other's changes.

Stored shape::

    {
      "users":  {"<username>": {"role": "admin" | "uploader",
                                "password_hash": "scrypt:...",
                                "created_at": "2026-01-02T03:04:05Z",
                                "disabled": false,
                                "session_version": 1,
                                "uid": "<32 hex digits, random, never reused>",
                                "display_name": "Grandma Rose",  (optional)
                                "sessions": {"<session id>": {"created_at": "..."}}}},
      "tokens": {"<token id>": {"username": "...", "label": "...",
                                "secret_sha256": "<hex>",
                                "created_at": "...", "last_used_at": null}}
    }

Usernames are stored lower case; passwords only as Werkzeug scrypt hashes; API
tokens only as the SHA-256 of their random secret, so the bucket never holds
anything that signs a person in.

Sign-in sessions are listed in their user's record: a browser's cookie (and
its remember cookie) holds ``<username>:<uid>:<session id>``, and is honoured
only while that session id is listed. Signing out removes it; "sign out
everywhere", a new password, a new role or disabling the account clear the
list. Every instance reads ``users.json`` afresh (one ``stat``) on each
request, so an ended session is refused everywhere at once. The ``uid`` is
random and made anew for every account created, so a deleted account's
sessions never come back with a new account of the same name. Records written
before sessions were listed (no ``uid``, no ``sessions``) still open; they get
a ``uid`` on their next sign-in, and their old cookies no longer sign in.

``display_name`` is what visitors see instead of the username (which signs in
and is never shown publicly): Unicode letters, digits, spaces, apostrophes,
hyphens and dots, 1 to 60 characters. Records without one (every record written
before it existed) have none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from gallery.accounts_backup import BackedUpDocument
from gallery.clock import parse_timestamp, utcnow
from gallery.documents import JsonDocument, Unchanged
from gallery.errors import BadRequest, Conflict, Forbidden, NotFound, StorageError
from gallery.keys import Keys
from gallery.storage.base import Storage

ROLES: tuple[str, ...] = ("admin", "uploader")

#: Werkzeug's default: scrypt with n=2**15, r=8, p=1.
DEFAULT_PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 40
MAX_LABEL_LENGTH = 100
MAX_DISPLAY_NAME_LENGTH = 60
TOKEN_PREFIX = "gal"
#: ``last_used_at`` of a token is written at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: A sign-in session (and its remember cookie) ends this long after it began.
SESSION_LIFETIME = timedelta(days=30)
#: Most sessions kept per account; a new sign-in beyond that ends the oldest.
MAX_SESSIONS = 50

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_TOKEN_ID = re.compile(r"[0-9a-f]{16}")
_TOKEN_SECRET = re.compile(r"[A-Za-z0-9_-]{43,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UID = re.compile(r"[0-9a-f]{32}")
_SESSION_KEY = re.compile(r"[A-Za-z0-9_-]{32}")
#: Punctuation a display name may hold besides letters and spaces: apostrophes, hyphens, dots.
#: Zero-width (non-)joiners are part of how Persian, Indic and other scripts are written.
_NAME_PUNCTUATION = frozenset("'’‘ʼ-‐‑.\u200c\u200d")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, to the second."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`.

    Raises:
        ValueError: not such a timestamp.
    """
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError(f"not an ISO 8601 UTC timestamp: {text!r}")
    return parse_timestamp(text)


def normalize_username(username: str) -> str | None:
    """The stored form of a username (stripped, lower case), or ``None`` if it is not valid.

    Valid: 1 to 40 ASCII characters of ``a-z 0-9 . _ -`` starting with a letter or digit.
    """
    if not isinstance(username, str):
        return None
    name = username.strip()
    if not name.isascii():
        return None
    name = name.lower()
    return name if _USERNAME.fullmatch(name) else None


def clean_display_name(value: object) -> str:
    """A display name as it is kept: NFC, trimmed, each run of spaces made one space;
    ``""`` for none.

    Letters of every script are allowed (with their combining marks), digits, spaces,
    apostrophes, hyphens and dots; at most :data:`MAX_DISPLAY_NAME_LENGTH`
    characters.

    Raises:
        BadRequest: with a message for people: not text, too long, control
            characters, or characters other than those.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("A display name must be text.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in _NAME_PUNCTUATION
           for c in value):
        raise BadRequest("A display name must not contain control characters.")
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise BadRequest(f"A display name can have at most {MAX_DISPLAY_NAME_LENGTH} characters "
                         f"(this one has {len(name)}).")
    wrong = sorted({c for c in name if not (c == " " or c in _NAME_PUNCTUATION
                                            or unicodedata.category(c)[0] in "LM"
                                            or unicodedata.category(c) == "Nd")})
    if wrong:
        shown = " ".join(repr(c) for c in wrong[:5])
        raise BadRequest("A display name holds letters, digits, spaces, apostrophes, hyphens and dots "
                         f"only; not {shown}.")
    if name and not any(unicodedata.category(c)[0] == "L" for c in name):
        raise BadRequest("A display name needs at least one letter.")
    return name


@dataclass(frozen=True, slots=True)
class User:
    """One account.

    ``uid`` is random and never reused: a new account of a deleted account's
    name has another. ``sessions`` counts its sign-in sessions still open.
    ``session_version`` counts the changes (password, role, disabled) that
    ended all of its sessions.
    """

    username: str
    role: str
    password_hash: str = field(repr=False)
    created_at: str
    disabled: bool = False
    session_version: int = 1
    uid: str = ""
    sessions: int = field(default=0, compare=False)
    #: What visitors see instead of the username; ``""`` when none is set.
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return not self.disabled



@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as shown to people: never its secret."""

    id: str
    username: str
    label: str
    created_at: str
    last_used_at: str | None


# --- the stored document ------------------------------------------------------


def _empty() -> dict[str, Any]:
    return {"users": {}, "tokens": {}}


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


#: ``change(username, its record, the whole document)`` applied inside a compare-and-swap.
_Change = Callable[[str, dict[str, Any], dict[str, Any]], Any]


def _check_document(value: Any) -> dict[str, Any]:
    """Validate the shape of a parsed ``users.json``; raise ``ValueError`` if it is wrong."""
    _require(isinstance(value, dict), "the document is not an object")
    users, tokens = value.get("users"), value.get("tokens")
    _require(isinstance(users, dict), "'users' is not an object")
    _require(isinstance(tokens, dict), "'tokens' is not an object")
    for name, record in users.items():
        _require(normalize_username(name) == name, f"bad username {name!r}")
        _require(isinstance(record, dict), f"user {name!r} is not an object")
        _require(record.get("role") in ROLES, f"user {name!r} has a bad role")
        _require(
            isinstance(record.get("password_hash"), str) and "$" in record["password_hash"],
            f"user {name!r} has a bad password hash",
        )
        _require(isinstance(record.get("created_at"), str), f"user {name!r} has a bad created_at")
        parse_time(record["created_at"])
        _require(type(record.get("disabled")) is bool, f"user {name!r} has a bad disabled flag")
        version = record.get("session_version")
        _require(type(version) is int and version >= 1, f"user {name!r} has a bad session_version")
        uid = record.get("uid", "0" * 32)
        _require(isinstance(uid, str) and bool(_UID.fullmatch(uid)), f"user {name!r} has a bad uid")
        shown = record.get("display_name", "")
        _require(isinstance(shown, str) and len(shown) <= MAX_DISPLAY_NAME_LENGTH,
                 f"user {name!r} has a bad display_name")
        sessions = record.get("sessions", {})
        _require(isinstance(sessions, dict), f"user {name!r} has bad sessions")
        for sid, session in sessions.items():
            _require(bool(_SESSION_KEY.fullmatch(sid)), f"user {name!r} has a bad session id")
            _require(
                isinstance(session, dict) and isinstance(session.get("created_at"), str),
                f"user {name!r} has a bad session",
            )
            parse_time(session["created_at"])
    for token_id, record in tokens.items():
        _require(bool(_TOKEN_ID.fullmatch(token_id)), f"bad token id {token_id!r}")
        _require(isinstance(record, dict), f"token {token_id!r} is not an object")
        _require(record.get("username") in users, f"token {token_id!r} has an unknown user")
        _require(isinstance(record.get("label"), str), f"token {token_id!r} has a bad label")
        digest = record.get("secret_sha256")
        _require(
            isinstance(digest, str) and bool(_SHA256_HEX.fullmatch(digest)),
            f"token {token_id!r} has a bad secret hash",
        )
        _require(isinstance(record.get("created_at"), str), f"token {token_id!r} bad created_at")
        parse_time(record["created_at"])
        last_used = record.get("last_used_at")
        _require(last_used is None or isinstance(last_used, str), f"token {token_id!r} last use")
        if last_used is not None:
            parse_time(last_used)
    return value


def _user(name: str, record: dict[str, Any]) -> User:
    return User(
        username=name,
        role=record["role"],
        password_hash=record["password_hash"],
        created_at=record["created_at"],
        disabled=record["disabled"],
        session_version=record["session_version"],
        uid=record.get("uid", ""),
        sessions=len(record.get("sessions", {})),
        display_name=record.get("display_name", ""),
    )


def _token(token_id: str, record: dict[str, Any]) -> ApiToken:
    return ApiToken(
        id=token_id,
        username=record["username"],
        label=record["label"],
        created_at=record["created_at"],
        last_used_at=record["last_used_at"],
    )


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _end_sessions(record: dict[str, Any]) -> None:
    """End every sign-in session of an account (the password, role or status changed)."""
    record["sessions"] = {}
    record["session_version"] += 1


def _parse_session_id(session_id: Any) -> tuple[str, str, str] | None:
    """``(username, uid, session key)`` of a session id, or ``None`` if malformed."""
    if not isinstance(session_id, str) or len(session_id) > 120:
        return None
    parts = session_id.split(":")
    if len(parts) != 3:
        return None
    name, uid, key = parts
    if normalize_username(name) != name or not _UID.fullmatch(uid) or not _SESSION_KEY.fullmatch(key):
        return None
    return name, uid, key


def _active_admins(users: dict[str, Any]) -> list[str]:
    return [name for name, r in users.items() if r["role"] == "admin" and not r["disabled"]]


# --- validation of input --------------------------------------------------------


def _valid_username(username: str) -> str:
    name = normalize_username(username)
    if name is None:
        raise BadRequest(
            "A username is 1 to 40 characters: letters a-z, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def _valid_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"A password can have at most {MAX_PASSWORD_LENGTH} characters.")
    return password


def _valid_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"A role is one of: {', '.join(ROLES)}.")
    return role


def _valid_label(label: str) -> str:
    if not isinstance(label, str):
        raise BadRequest("A token label must be text.")
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise BadRequest(f"A token label can have at most {MAX_LABEL_LENGTH} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise BadRequest("A token label must not contain control characters.")
    return label


class Accounts:
    """Users and API tokens of one gallery.

    Args:
        storage: the bucket.
        keys: builds the key of ``users.json``.
        clock: the current time (timezone-aware); tests inject their own.
        password_method: the Werkzeug hashing method for new passwords
            (default: scrypt with Werkzeug's parameters). Existing hashes keep
            working whatever this is.
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        *,
        clock: Callable[[], datetime] = utcnow,
        password_method: str = DEFAULT_PASSWORD_METHOD,
    ) -> None:
        self._doc: JsonDocument[dict[str, Any]] = BackedUpDocument(
            storage, keys.users, backup=keys.users_backup, empty=_empty, check=_check_document
        )
        self._clock = clock
        self._password_method = password_method
        self._dummy_hash: str | None = None

    # -- reading -------------------------------------------------------------------

    def _users(self) -> dict[str, Any]:
        """The accounts as stored (read-only: shared with other readers)."""
        return self._doc.load_cached().value["users"]

    def count(self) -> int:
        """How many accounts exist (disabled ones included).

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        return len(self._users())

    def get(self, username: str) -> User | None:
        """The account called ``username`` (any case), or ``None``.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        name = normalize_username(username)
        if name is None:
            return None
        record = self._users().get(name)
        return None if record is None else _user(name, record)

    def list_users(self) -> list[User]:
        """Every account, sorted by username.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        return [_user(name, record) for name, record in sorted(self._users().items())]

    def load_session(self, session_id: str) -> User | None:
        """The user a sign-in session belongs to, if that session is still open.

        ``None`` when the id is malformed, the user is gone, disabled or is a
        new account of the same name, or the session was ended (signed out,
        signed out everywhere, password, role or status changed) or is older
        than :data:`SESSION_LIFETIME`.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        parsed = _parse_session_id(session_id)
        if parsed is None:
            return None
        name, uid, key = parsed
        record = self._users().get(name)
        if record is None or record["disabled"] or not record.get("uid"):
            return None
        if not hmac.compare_digest(record["uid"], uid):
            return None
        session = record.get("sessions", {}).get(key)
        if session is None or self._expired(session):
            return None
        return _user(name, record)

    def _expired(self, session: dict[str, Any]) -> bool:
        return self._clock() - parse_time(session["created_at"]) >= SESSION_LIFETIME

    def start_session(self, username: str) -> str:
        """Open a sign-in session for an enabled account; return its id for the cookie.

        Sessions past :data:`SESSION_LIFETIME` are dropped on the way, and the
        oldest beyond :data:`MAX_SESSIONS`.

        Raises:
            NotFound: no such user.
            Forbidden: the account is disabled.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
            Conflict: too many concurrent changes.
        """
        key = secrets.token_urlsafe(24)
        now = self._now()

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> str:
            if record["disabled"]:
                raise Forbidden(f"The account {name!r} is disabled.")
            record.setdefault("uid", secrets.token_hex(16))
            kept = {
                sid: session
                for sid, session in record.get("sessions", {}).items()
                if not self._expired(session)
            }
            newest = sorted(kept.items(), key=lambda item: item[1]["created_at"])
            kept = dict(newest[-(MAX_SESSIONS - 1):])
            kept[key] = {"created_at": now}
            record["sessions"] = kept
            return f"{name}:{record['uid']}:{key}"

        return self._change(username, change)

    def end_session(self, session_id: str) -> None:
        """End one sign-in session (signing out); unknown or ended sessions are left alone.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
            Conflict: too many concurrent changes.
        """
        parsed = _parse_session_id(session_id)
        if parsed is None:
            return
        name, uid, key = parsed

        def mutate(doc: dict[str, Any]) -> Any:
            record = doc["users"].get(name)
            if record is None or record.get("uid") != uid or key not in record.get("sessions", {}):
                return Unchanged()
            del record["sessions"][key]
            return None

        self._doc.update(mutate)

    def end_all_sessions(self, username: str) -> int:
        """End every sign-in session of an account, on every device; return how many there were.

        API tokens are not sessions: they stay until revoked.

        Raises:
            NotFound: no such user.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
            Conflict: too many concurrent changes.
        """

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> Any:
            count = len(record.get("sessions", {}))
            if not count:
                return Unchanged(0)
            _end_sessions(record)
            return count

        return self._change(username, change)

    # -- changing accounts ---------------------------------------------------------

    def _now(self) -> str:
        return format_time(self._clock())

    def _hash(self, password: str) -> str:
        return generate_password_hash(password, method=self._password_method)

    def _new_record(self, role: str, password_hash: str) -> dict[str, Any]:
        return {
            "role": role,
            "password_hash": password_hash,
            "created_at": self._now(),
            "disabled": False,
            "session_version": 1,
            "uid": secrets.token_hex(16),
            "sessions": {},
        }

    def create_user(self, username: str, password: str, role: str,
                    display_name: str = "") -> User:
        """Create an account, with a display name or none (``""``).

        Raises:
            BadRequest: the username, password, role or display name is not valid.
            Conflict: a user with that name exists (or too many concurrent changes).
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        name = _valid_username(username)
        _valid_role(role)
        shown = clean_display_name(display_name)
        password_hash = self._hash(_valid_password(password))

        def mutate(doc: dict[str, Any]) -> User:
            if name in doc["users"]:
                raise Conflict(f"A user named {name!r} already exists.")
            record = self._new_record(role, password_hash)  # a fresh uid on every attempt
            if shown:
                record["display_name"] = shown
            doc["users"][name] = record
            return _user(name, record)

        return self._doc.update(mutate)[0]

    def create_first_admin(self, username: str, password: str) -> User:
        """Create the first administrator, only while the gallery has no account at all.

        The check happens inside the compare-and-swap, so of two set-up forms
        submitted at the same time exactly one succeeds.

        Raises:
            BadRequest: the username or password is not valid.
            Forbidden: an account already exists.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        name = _valid_username(username)
        if self.count():
            raise Forbidden("The gallery is already set up; sign in or ask an administrator.")
        password_hash = self._hash(_valid_password(password))

        def mutate(doc: dict[str, Any]) -> User:
            if doc["users"]:
                raise Forbidden("The gallery is already set up; sign in or ask an administrator.")
            record = self._new_record("admin", password_hash)
            doc["users"][name] = record
            return _user(name, record)

        return self._doc.update(mutate)[0]

    def _change(self, username: str, change: _Change) -> Any:
        """Apply ``change(name, record, doc)`` to an existing user by compare-and-swap."""
        name = normalize_username(username)

        def mutate(doc: dict[str, Any]) -> Any:
            record = doc["users"].get(name) if name else None
            if record is None:
                raise NotFound(f"There is no user named {username!r}.")
            return change(name, record, doc)

        return self._doc.update(mutate)[0]

    @staticmethod
    def _keep_an_admin(name: str, record: dict[str, Any], doc: dict[str, Any], doing: str) -> None:
        if record["role"] == "admin" and not record["disabled"]:
            if _active_admins(doc["users"]) == [name]:
                raise Conflict(
                    f"Cannot {doing} {name!r}: it is the last active administrator. "
                    "Make another user an administrator first."
                )

    def delete_user(self, username: str) -> None:
        """Delete an account and revoke all of its API tokens.

        Raises:
            NotFound: no such user.
            Conflict: it is the last active administrator.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> None:
            self._keep_an_admin(name, record, doc, "delete")
            del doc["users"][name]
            for token_id in [t for t, r in doc["tokens"].items() if r["username"] == name]:
                del doc["tokens"][token_id]

        self._change(username, change)

    def set_role(self, username: str, role: str) -> User:
        """Change an account's role; its sessions end.

        Raises:
            BadRequest: not a role.
            NotFound: no such user.
            Conflict: that would demote the last active administrator.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        _valid_role(role)

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> Any:
            if record["role"] == role:
                return Unchanged(_user(name, record))
            self._keep_an_admin(name, record, doc, "demote")
            record["role"] = role
            _end_sessions(record)
            return _user(name, record)

        return self._change(username, change)

    def set_display_name(self, username: str, display_name: str) -> User:
        """Set (or with ``""``, remove) an account's display name; sessions stay open.

        Raises:
            BadRequest: the display name is not valid (see :func:`clean_display_name`).
            NotFound: no such user.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        shown = clean_display_name(display_name)

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> Any:
            if record.get("display_name", "") == shown:
                return Unchanged(_user(name, record))
            if shown:
                record["display_name"] = shown
            else:
                record.pop("display_name", None)
            return _user(name, record)

        return self._change(username, change)

    def display_names(self) -> dict[str, str]:
        """The display name of every account that has one, by username.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        return {name: record["display_name"] for name, record in self._users().items()
                if record.get("display_name")}

    def set_password(self, username: str, password: str) -> User:
        """Replace an account's password; its sessions end.

        Raises:
            BadRequest: the password is not valid.
            NotFound: no such user.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        if self.get(username) is None:
            raise NotFound(f"There is no user named {username!r}.")
        password_hash = self._hash(_valid_password(password))

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> User:
            record["password_hash"] = password_hash
            _end_sessions(record)
            return _user(name, record)

        return self._change(username, change)

    def set_disabled(self, username: str, disabled: bool) -> User:
        """Disable (or enable again) an account; its sessions end either way.

        A disabled account cannot sign in and its API tokens stop working.

        Raises:
            NotFound: no such user.
            Conflict: that would disable the last active administrator.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        disabled = bool(disabled)

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> Any:
            if record["disabled"] == disabled:
                return Unchanged(_user(name, record))
            if disabled:
                self._keep_an_admin(name, record, doc, "disable")
            record["disabled"] = disabled
            _end_sessions(record)
            return _user(name, record)

        return self._change(username, change)

    # -- signing in ------------------------------------------------------------------

    def _check_dummy(self, password: str) -> None:
        """Spend as long as a real password check, so unknown names are not revealed by timing."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hash(secrets.token_urlsafe(16))
        _check_password(self._dummy_hash, password)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs and the account is enabled, else ``None``.

        Unknown and disabled users cost the same hash computation as known ones.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            return None
        user = self.get(username) if isinstance(username, str) else None
        if user is None:
            self._check_dummy(password)
            return None
        if not _check_password(user.password_hash, password) or user.disabled:
            return None
        return user

    # -- API tokens --------------------------------------------------------------------

    def create_token(self, username: str, label: str = "") -> tuple[str, ApiToken]:
        """Create an API token for a user.

        Returns:
            ``(plaintext token, its record)``. The plaintext is shown once and
            never stored; it looks like ``gal_<id>_<secret>``.

        Raises:
            BadRequest: the label is not valid.
            NotFound: no such user.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        label = _valid_label(label)
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self._now()

        def change(name: str, record: dict[str, Any], doc: dict[str, Any]) -> ApiToken:
            token = {
                "username": name,
                "label": label,
                "secret_sha256": _secret_digest(secret),
                "created_at": now,
                "last_used_at": None,
            }
            doc["tokens"][token_id] = token
            return _token(token_id, token)

        api_token = self._change(username, change)
        return f"{TOKEN_PREFIX}_{token_id}_{secret}", api_token

    def authenticate_token(self, token: str) -> User | None:
        """The user an API token belongs to, or ``None``.

        ``None`` for a malformed, unknown or revoked token and for a disabled
        user. Records when the token was last used (at most once a minute);
        that write is best effort and never fails the request.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer the read.
        """
        parsed = _parse_token(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        loaded = self._doc.load()
        doc = loaded.value
        record = doc["tokens"].get(token_id)
        digest = _secret_digest(secret)
        if record is None or not hmac.compare_digest(record["secret_sha256"], digest):
            return None
        owner = doc["users"].get(record["username"])
        if owner is None or owner["disabled"]:
            return None
        user = _user(record["username"], owner)
        now = self._clock()
        last = record["last_used_at"]
        if last is None or now - parse_time(last) >= LAST_USED_RESOLUTION:
            record["last_used_at"] = format_time(now)
            try:
                self._doc.save(doc, loaded.version)
            except StorageError:
                pass  # another writer won, or the storage hiccuped: try again next time
        return user

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        """API tokens (of one user, or all), oldest first.

        Raises:
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """
        tokens = self._doc.load_cached().value["tokens"]
        name = None if username is None else normalize_username(username)
        if username is not None and name is None:
            return []
        found = [
            _token(token_id, record)
            for token_id, record in tokens.items()
            if name is None or record["username"] == name
        ]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def revoke_token(self, token_id: str) -> None:
        """Revoke an API token; it stops working at once.

        Raises:
            NotFound: no such token.
            DocumentDamaged: ``users.json`` is damaged.
            StorageUnavailable: the storage did not answer.
        """

        def mutate(doc: dict[str, Any]) -> None:
            if not isinstance(token_id, str) or token_id not in doc["tokens"]:
                raise NotFound(f"There is no API token {token_id!r}.")
            del doc["tokens"][token_id]

        self._doc.update(mutate)


def _check_password(password_hash: str, password: str) -> bool:
    try:
        return check_password_hash(password_hash, password)
    except ValueError:  # an unknown hashing method in a stored hash
        return False


def _parse_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a ``gal_<id>_<secret>`` token, or ``None`` if malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    prefix, _, rest = token.strip().partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not _TOKEN_ID.fullmatch(token_id):
        return None
    if not _TOKEN_SECRET.fullmatch(secret):
        return None
    return token_id, secret
