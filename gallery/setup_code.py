"""The one-time set-up code that guards the first-run set-up page.

While no account exists, whoever opens ``/setup`` could make themselves the
admin of a freshly deployed public site. So the page also asks for a code that
only the person who started the server can read: it is printed in the server's
log at start-up. The code is kept in the bucket (written create-only, so every
gunicorn worker and every machine agree on one code) and removed once the first
account exists. It never appears in an HTTP response.
"""

from __future__ import annotations

import hmac
import re
import secrets

from gallery.errors import ObjectNotFound, PreconditionFailed
from gallery.keys import Keys
from gallery.storage.base import Storage

#: Letters and digits that cannot be mistaken for one another when typed from a log.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 4, 4  # 16 characters, 80 bits
_STORED = re.compile(rf"[{ALPHABET}]{{{GROUPS * GROUP_LENGTH}}}")
_ATTEMPTS = 5


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))


def shown(code: str) -> str:
    """The code as printed: groups of four joined by dashes (``ABCD-EFGH-JKLM-NPQR``)."""
    return "-".join(code[i:i + GROUP_LENGTH] for i in range(0, len(code), GROUP_LENGTH))


def _normalized(typed: str) -> str:
    return re.sub(r"[\s-]", "", typed).upper() if isinstance(typed, str) else ""


def _stored(storage: Storage, keys: Keys) -> tuple[bool, str | None]:
    """``(whether the object exists, the code if it holds one)``."""
    try:
        raw = storage.get(keys.setup_code)
    except ObjectNotFound:
        return False, None
    text = raw.decode("ascii", "replace").strip()
    return True, text if _STORED.fullmatch(text) else None


def read(storage: Storage, keys: Keys) -> str | None:
    """The stored code, or ``None`` if there is none (or what is stored is not a code).

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    return _stored(storage, keys)[1]


def ensure(storage: Storage, keys: Keys) -> tuple[str, bool]:
    """The shared code: the stored one, or a new one stored create-only.

    Returns:
        ``(code, whether this call made it)``.

    Raises:
        StorageUnavailable: the storage did not answer.
        PreconditionFailed: the code kept appearing and disappearing.
    """
    for _ in range(_ATTEMPTS):
        present, existing = _stored(storage, keys)
        if existing is not None:
            return existing, False
        code = _new_code()
        try:
            if present:  # damaged: not a code
                storage.delete(keys.setup_code, missing_ok=True)
            storage.put(keys.setup_code, code.encode("ascii"), content_type="text/plain",
                        if_absent=True)
        except (PreconditionFailed, ObjectNotFound):
            continue  # another instance stored its code first: read that one
        return code, True
    raise PreconditionFailed(keys.setup_code, "Could not settle the set-up code; start again.")


def matches(expected: str | None, typed: str) -> bool:
    """Whether ``typed`` is the code (any case; spaces and dashes ignored), in constant time."""
    if not expected:
        return False
    return hmac.compare_digest(_normalized(typed).encode(), expected.encode())


def discard(storage: Storage, keys: Keys) -> None:
    """Remove the code (the first account exists). Nothing to remove is fine.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    storage.delete(keys.setup_code, missing_ok=True)
