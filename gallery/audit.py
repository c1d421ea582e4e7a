"""The audit log: who did what, one small object per entry.

Each entry is its own object under ``audit/`` (see :mod:`gallery.keys`), so
writers never contend for a shared document. The key starts with an inverted
timestamp, so a plain listing is newest first and :meth:`AuditLog.latest`
reads one short page however long the log grows.

An entry is written after its action succeeded. When that write fails the
action still stands: the failure is logged as an error and the caller carries
on (an audit gap is better than reporting a done action as failed, or undoing
it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson

from gallery.clock import format_timestamp, utcnow
from gallery.documents import JSON_TYPE
from gallery.errors import ObjectNotFound, StorageError
from gallery.keys import Keys
from gallery.storage.base import Storage

log = logging.getLogger(__name__)

#: The actor recorded for commands run from the command line.
CLI_ACTOR = "cli"

MAX_LATEST = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action.

    Attributes:
        at: when, ISO 8601 UTC (``2026-11-21T08:30:00.123Z``).
        actor: the username, or ``"cli"`` for the command line.
        action: a dotted verb such as ``image.delete`` or ``gallery.cleanup``.
        target: what it acted on (an image id, a username, a token id, or ``""``).
        details: small JSON-ready extras (counts, a role ...).
    """

    at: str
    actor: str
    action: str
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> AuditEntry:
        """Rebuild an entry read back from the bucket.

        Raises:
            ValueError: the value is not an audit entry.
        """
        if not isinstance(value, Mapping):
            raise ValueError("not an audit entry")
        texts = [value.get(name) for name in ("at", "actor", "action", "target")]
        if not all(isinstance(text, str) for text in texts):
            raise ValueError("not an audit entry")
        details = value.get("details", {})
        if not isinstance(details, dict):
            raise ValueError("bad audit details")
        return cls(*texts, details=details)  # type: ignore[arg-type]


class AuditLog:
    """Records actions and reads back the latest ones.

    Args:
        storage: the bucket.
        keys: builds the entries' keys.
        clock: the current time (tests pass a fixed one).
    """

    def __init__(
        self, storage: Storage, keys: Keys, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.storage = storage
        self.keys = keys
        self.clock = clock

    def record(self, actor: str, action: str, target: str = "", **details: Any) -> AuditEntry:
        """Record that ``actor`` did ``action`` on ``target``; call it once the action succeeded.

        Never raises a storage error: the action already happened, so a failed
        write is logged (at error level) and the entry is returned unsaved.

        Raises:
            TypeError: ``details`` holds something that is not JSON.
        """
        moment = self.clock()
        entry = AuditEntry(format_timestamp(moment), actor, action, target, dict(details))
        body = orjson.dumps(entry.to_json())
        try:
            self.storage.put(self.keys.audit(moment), body, content_type=JSON_TYPE,
                             if_absent=True)
        except StorageError as err:
            log.error("audit entry not saved (%s by %s on %r): %s", action, actor, target, err)
        return entry

    def latest(self, limit: int = 20) -> list[AuditEntry]:
        """The ``limit`` most recent entries (at most 1000), newest first.

        Reads one listing page and those entries only. Entries that cannot be
        read (damaged, or removed meanwhile) are skipped.

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        limit = max(1, min(MAX_LATEST, int(limit)))
        page = self.storage.list_page(self.keys.audit_prefix, page_size=limit)
        entries: list[AuditEntry] = []
        for info in page.items:
            try:
                entries.append(AuditEntry.from_json(orjson.loads(self.storage.get(info.key))))
            except ObjectNotFound:
                continue
            except (orjson.JSONDecodeError, ValueError) as err:
                log.warning("skipping damaged audit entry %s: %s", info.key, err)
        return entries
