"""A way back for the accounts: a second copy of ``users.json``, restore and export.

``users.json`` holds every account and API token. If it is damaged (a bad
hand edit, a half-copied bucket), nobody can sign in, and ``gallery export``
leaves accounts out. So:

* every successful write of ``users.json`` that changes an account or a token
  is followed by a write of the same bytes to ``users.backup.json`` (the last
  version the gallery wrote; only a token's ``last_used_at`` moving on writes
  no copy; a failure there is logged and does not fail the change itself);
* ``flask --app app users restore --backup`` puts that copy back, and
  ``users restore --from FILE`` a file written by ``users export FILE``;
* ``gallery doctor`` says which of the two applies when ``users.json`` is damaged.

Both copies hold password hashes and token digests: they sign nobody in, but
they are sensitive (they allow guessing passwords offline), so exports are
written readable by their owner only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from gallery.documents import JSON_TYPE, DocumentDamaged, JsonDocument
from gallery.errors import BadRequest, GalleryError, ObjectNotFound
from gallery.keys import Keys
from gallery.storage.base import Storage

T = TypeVar("T")

log = logging.getLogger(__name__)

RESTORE_BACKUP = "flask --app app users restore --backup"
RESTORE_FILE = "flask --app app users restore --from FILE"


def without_last_use(document: Any) -> Any:
    """The accounts document less what changes on every use (tokens' ``last_used_at``)."""
    if not isinstance(document, dict) or not isinstance(document.get("tokens"), dict):
        return document
    tokens = {
        token_id: {k: v for k, v in record.items() if k != "last_used_at"}
        if isinstance(record, dict) else record
        for token_id, record in document["tokens"].items()
    }
    return {**document, "tokens": tokens}


class BackedUpDocument(JsonDocument[T]):
    """A :class:`JsonDocument` whose successful writes are copied to ``backup``.

    Args:
        backup: the key of the copy.
        significant: the part of the value whose change calls for a new copy
            (default: the accounts less their tokens' last use); the first
            write of each process always writes one.
        **kwargs: as for :class:`JsonDocument`.
    """

    def __init__(
        self,
        storage: Storage,
        key: str,
        *,
        backup: str,
        significant: Callable[[Any], Any] = without_last_use,
        **kwargs: Any,
    ) -> None:
        super().__init__(storage, key, **kwargs)
        self.backup_key = backup
        self._significant = significant
        self._copied: bytes | None = None

    def save(self, value: T, version: str | None) -> str:
        """Write ``value`` by compare-and-swap, then its copy (when it changed significantly).

        Raises:
            PreconditionFailed: someone else wrote first (no copy is written).
        """
        new_version = super().save(value, version)
        significant = orjson.dumps(self._significant(value), option=orjson.OPT_SORT_KEYS)
        if significant == self._copied:
            return new_version
        try:
            self.storage.put(self.backup_key, orjson.dumps(value), content_type=JSON_TYPE)
        except GalleryError as err:
            log.warning("The copy %r of %r was not updated: %s", self.backup_key, self.key,
                        err.message)
        else:
            self._copied = significant
        return new_version


def parse_accounts(raw: bytes, where: str) -> dict[str, Any]:
    """A validated accounts document from ``raw`` (a backup or an export).

    Raises:
        BadRequest: ``raw`` is not an accounts document; ``where`` names it.
    """
    from gallery.accounts import _check_document

    try:
        return _check_document(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise BadRequest(f"{where} is not an accounts document ({err}).") from err


def read_backup(storage: Storage, keys: Keys) -> dict[str, Any] | None:
    """The copy kept in the bucket, or ``None`` when there is none or it is unusable.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    try:
        raw = storage.get(keys.users_backup)
    except ObjectNotFound:
        return None
    try:
        return parse_accounts(raw, keys.users_backup)
    except BadRequest:
        return None


def restore_advice(storage: Storage, keys: Keys) -> str:
    """How to restore a damaged ``users.json``: the bucket's copy if usable, else an export."""
    try:
        backup = read_backup(storage, keys)
    except GalleryError:
        backup = None
    if backup is not None:
        return (f"Restore the copy kept at every change ({len(backup['users'])} accounts): "
                f"`{RESTORE_BACKUP}`; or an export: `{RESTORE_FILE}`.")
    return (f"There is no usable copy in the bucket; restore an export made with "
            f"`flask --app app users export FILE`: `{RESTORE_FILE}`, or repair the JSON by hand.")


def current_is_readable(storage: Storage, keys: Keys) -> bool:
    """Whether ``users.json`` exists and is a valid accounts document.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    try:
        raw = storage.get(keys.users)
    except ObjectNotFound:
        return False
    try:
        parse_accounts(raw, keys.users)
    except BadRequest:
        return False
    return True


def restore(storage: Storage, keys: Keys, document: dict[str, Any]) -> int:
    """Replace ``users.json`` (and its copy) with ``document``; return its number of accounts.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    body = orjson.dumps(document)
    storage.put(keys.users, body, content_type=JSON_TYPE)
    storage.put(keys.users_backup, body, content_type=JSON_TYPE)
    return len(document["users"])


def export(storage: Storage, keys: Keys) -> bytes:
    """The accounts document as it is stored now, indented, for ``users export``.

    Raises:
        DocumentDamaged: ``users.json`` is damaged (restore it first).
        StorageUnavailable: the storage did not answer.
    """
    try:
        raw = storage.get(keys.users)
    except ObjectNotFound:
        document: dict[str, Any] = {"users": {}, "tokens": {}}
    else:
        try:
            document = parse_accounts(raw, keys.users)
        except BadRequest as err:
            raise DocumentDamaged(f"{err.message} {restore_advice(storage, keys)}") from err
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)
