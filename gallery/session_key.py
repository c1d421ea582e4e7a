"""The session signing key, generated once and kept in the bucket.

When ``GALLERY_SECRET_KEY`` is unset, the app calls :func:`ensure_secret_key`
at start-up. The first instance to start generates a key and writes it
create-only; any instance that loses that race reads the winner's key. So every
gunicorn worker, every machine and every restart sign sessions with the same key.
"""

from __future__ import annotations

import re
import secrets

from gallery.documents import DocumentDamaged
from gallery.errors import Conflict, ObjectNotFound, PreconditionFailed
from gallery.keys import Keys
from gallery.storage.base import Storage

#: Bytes of randomness in a generated key (64 URL-safe characters).
KEY_BYTES = 48
_ATTEMPTS = 5
_VALID = re.compile(r"[\x21-\x7e]{32,4096}")


def _read(storage: Storage, key: str) -> str | None:
    """The stored session key, or ``None`` if there is none yet.

    Raises:
        DocumentDamaged: the stored key is not a usable key.
    """
    try:
        raw = storage.get(key)
    except ObjectNotFound:
        return None
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not _VALID.fullmatch(text):
        raise DocumentDamaged(
            f"The stored session key {key!r} is not a usable key (32 or more printable "
            "characters); delete it to have a new one generated, or set GALLERY_SECRET_KEY."
        )
    return text


def ensure_secret_key(storage: Storage, keys: Keys) -> str:
    """The shared session key: the stored one, or a new one stored create-only.

    Raises:
        DocumentDamaged: the stored key is damaged (it is left as it is).
        StorageUnavailable: the storage did not answer.
        Conflict: the key kept appearing and disappearing (someone deleting it
            while instances start).
    """
    key = keys.secret
    for _ in range(_ATTEMPTS):
        existing = _read(storage, key)
        if existing is not None:
            return existing
        generated = secrets.token_urlsafe(KEY_BYTES)
        try:
            storage.put(key, generated.encode("ascii"), content_type="text/plain", if_absent=True)
        except PreconditionFailed:
            continue  # another instance stored its key first: read that one
        return generated
    raise Conflict(f"Could not settle the session key at {key!r}; try starting again.")
