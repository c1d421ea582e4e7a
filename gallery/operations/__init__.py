"""Running the gallery: figures, consistency repairs, health checks, export and import.

:class:`Operations` sits over a :class:`~gallery.runtime.Runtime` and is what
the ``gallery`` commands and the admin pages call. No Flask here.

Every operation that changes the bucket records an audit entry (with the
actor given) once it succeeded; a dry run changes nothing, not even the log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gallery.operations.cleanup import Cleanup, CleanupReport, Found
from gallery.operations.doctor import Check, run_checks
from gallery.operations.stats import Stats, gather
from gallery.service import ReindexReport

if TYPE_CHECKING:
    from gallery.runtime import Runtime

__all__ = ["Check", "CleanupReport", "Found", "Operations", "Stats"]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Operations:
    """Maintenance of one gallery.

    Args:
        runtime: the storage, settings and services to work with.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def stats(self, *, now: datetime | None = None) -> Stats:
        """Counts, bytes by kind, uploads per day, the largest images, the latest audit entries.

        Raises:
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        rt = self.runtime
        return gather(rt.storage, rt.keys, rt.service, rt.audit, now or utcnow())

    def reindex(self, *, actor: str) -> ReindexReport:
        """Rebuild ``index.json`` from the bucket alone (see ``GalleryService.reindex``).

        Raises:
            Conflict: too many concurrent writers for too long.
            StorageUnavailable: the storage did not answer.
        """
        report = self.runtime.service.reindex()
        self.runtime.audit.record(
            actor, "gallery.reindex", "", added=len(report.added), dropped=len(report.dropped),
            total=report.total, repaired=report.repaired,
        )
        return report

    def cleanup(self, *, dry_run: bool, actor: str, now: datetime | None = None) -> CleanupReport:
        """Find objects and index entries that disagree, and repair them unless ``dry_run``.

        See :mod:`gallery.operations.cleanup`. Nothing younger than the
        ``cleanup_grace`` setting is touched; a dry run writes nothing at all.

        Raises:
            DocumentDamaged: the index cannot be read (run reindex first).
            StorageUnavailable: the storage did not answer.
        """
        rt = self.runtime
        run = Cleanup(rt.storage, rt.keys, rt.service, grace=rt.settings["cleanup_grace"],
                      login_window=rt.settings["login_window"], now=now or utcnow())
        report, orphans = run.survey(dry_run)
        if dry_run:
            return report
        run.repair(report, orphans)
        rt.audit.record(
            actor, "gallery.cleanup", "", removed=len(report.removed),
            regenerated=len(report.regenerated), failed=len(report.failed),
        )
        return report

    def doctor(self) -> list[Check]:
        """Check settings, storage, libmagic, image codecs, the index and the accounts.

        Never raises for a failed check: each failure is a :class:`Check` with
        ``ok=False``, a message and, where known, how to fix it.
        """
        return run_checks(self.runtime)
