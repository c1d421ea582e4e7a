"""The session signing key, generated once and kept in the bucket.

When ``GALLERY_SECRET_KEY`` is unset, :class:`SharedSecretKey` fetches the key
on the first request that needs it (never at start-up, so a gallery starts and
answers 503 while its storage is away). The first instance to need a key
generates one and writes it create-only; any instance that loses that race
reads the winner's key. So every gunicorn worker, every machine and every
restart sign sessions with the same key.

Once read, the key is kept for the life of the process. Backends reached over
the network also keep a copy in a private file in the temporary folder
(``gallery-<uid>/session-key-<digest>``, mode 0600, in a folder of mode 0700),
used only while the bucket does not answer: a worker restarted during an
outage still recognises the sessions it signed before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from pathlib import Path

from gallery.documents import DocumentDamaged
from gallery.errors import Conflict, ObjectNotFound, PreconditionFailed, StorageUnavailable
from gallery.keys import Keys
from gallery.storage.base import Storage

#: Bytes of randomness in a generated key (64 URL-safe characters).
KEY_BYTES = 48
_ATTEMPTS = 5
_VALID = re.compile(r"[\x21-\x7e]{32,4096}")

log = logging.getLogger(__name__)


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


def cache_folder() -> Path:
    """This user's private folder for the key's local copy, in the temporary folder."""
    return Path(tempfile.gettempdir()) / f"gallery-{os.geteuid()}"


class SharedSecretKey:
    """The session key: the setting, else the bucket's, fetched on first use and kept.

    Args:
        configured: ``GALLERY_SECRET_KEY`` (empty when unset).
        storage: the bucket.
        keys: builds the key's object name.
        cache: the private folder for a local copy, or ``None`` for none
            (local and in-memory backends need none).
    """

    def __init__(self, configured: str, storage: Storage, keys: Keys, cache: Path | None) -> None:
        self._value = configured or None
        self._storage = storage
        self._keys = keys
        self._cache = cache
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        """Whether the key is at hand without asking the storage."""
        return self._value is not None

    def get(self) -> str:
        """The key; the first call (per process) asks the storage.

        Raises:
            StorageUnavailable: the storage did not answer and no local copy exists.
            DocumentDamaged: the stored key is damaged.
            Conflict: the stored key kept appearing and disappearing.
        """
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._fetch()
            return self._value

    def _fetch(self) -> str:
        try:
            value = ensure_secret_key(self._storage, self._keys)
        except StorageUnavailable:
            copy = self._read_copy()
            if copy is None:
                raise
            log.warning("The storage did not answer; signing sessions with the local copy "
                        "of its session key.")
            return copy
        self._write_copy(value)
        return value

    def _copy_path(self) -> Path | None:
        if self._cache is None:
            return None
        where = f"{self._storage.describe()}\n{self._keys.secret}".encode()
        return self._cache / f"session-key-{hashlib.sha256(where).hexdigest()[:32]}"

    def _read_copy(self) -> str | None:
        """The local copy, if it is ours, private and a usable key."""
        path = self._copy_path()
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            private = stat.S_ISREG(info.st_mode) and info.st_mode & 0o077 == 0
            if info.st_uid != os.geteuid() or not private:
                return None  # not written by us: never trust it
            text = f.read(8192).decode("ascii", "replace").strip()
        return text if _VALID.fullmatch(text) else None

    def _write_copy(self, value: str) -> None:
        """Keep a private local copy; failing to is not an error (it is only a spare)."""
        path = self._copy_path()
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            folder = os.lstat(path.parent)
            if folder.st_uid != os.geteuid() or not stat.S_ISDIR(folder.st_mode) \
                    or folder.st_mode & 0o077:
                return
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(value.encode("ascii"))
            os.replace(tmp, path)
        except OSError as err:
            log.info("Could not keep a local copy of the session key: %s", err)
