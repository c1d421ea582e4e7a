"""Running the gallery: figures, consistency repairs, health checks, export and import.

:class:`Operations` is built from the parts it works with (the storage, the
image domain, the accounts, the audit log and the settings) and is what the
``gallery`` commands and the admin pages call. No Flask here.

Reindex, cleanup, export and import record an audit entry (with the actor
given) once they succeeded; a dry run changes nothing, not even the log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gallery.accounts import Accounts
from gallery.albums import Albums, Links
from gallery.audit import AuditLog
from gallery.clock import utcnow
from gallery.errors import BadRequest
from gallery.images.results import Actor, ReindexReport
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.media_cache import MediaCache
from gallery.operations.cleanup import Cleanup, CleanupReport, Found
from gallery.operations.doctor import Check, run_checks
from gallery.operations.stats import CacheFigures, Stats, gather
from gallery.operations.transfer import (
    ExportReport,
    ImportReport,
    Progress,
    export_folder,
    export_zip_file,
    import_export,
    import_folder,
    is_export,
    iter_zip,
)
from gallery.site import SiteSettings
from gallery.storage.base import Storage

__all__ = ["Check", "CleanupReport", "ExportReport", "Found", "ImportReport", "Operations",
           "ReindexReport", "Stats", "Actor"]


class Operations:
    """Maintenance of one gallery.

    Args:
        storage: the bucket.
        keys: the gallery's keys.
        images: the image domain over it.
        accounts: the accounts.
        audit: where maintenance is recorded.
        settings: the settings (``cleanup_grace``, ``login_window`` ... are read).
        albums: the albums (``None``: built over ``images``).
        links: the share links (``None``: built over the albums).
        site: the site's settings (``None``: built over the albums).
        media_cache: the local copy of media from a bucket over the network (``None``:
            there is none, on ``file://`` and ``memory://`` or with the cache off).
    """

    def __init__(self, storage: Storage, keys: Keys, images: Images, accounts: Accounts,
                 audit: AuditLog, settings: Mapping[str, Any], *,
                 albums: Albums | None = None, links: Links | None = None,
                 site: SiteSettings | None = None,
                 media_cache: MediaCache | None = None) -> None:
        self.media_cache = media_cache
        if albums is None:
            albums = Albums(storage, keys, images,
                            public_gallery=settings.get("visibility") == "public", audit=audit)
        self.albums = albums
        self.links = links if links is not None else Links(storage, keys, albums, audit=audit)
        self.site = site if site is not None else SiteSettings(
            storage, keys, album_exists=albums.exists, audit=audit)
        self.storage = storage
        self.keys = keys
        self.images = images
        self.accounts = accounts
        self.audit = audit
        self.settings = settings

    def stats(self, *, now: datetime | None = None) -> Stats:
        """Counts, bytes by kind, uploads per day, the largest images, albums and share links
        by state, the latest audit entries.

        Raises:
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        rt = self
        figures = gather(rt.storage, rt.keys, rt.images, rt.audit, now or utcnow(),
                         rt.albums, rt.links)
        if rt.media_cache is None:
            return figures
        entries, size = rt.media_cache.usage()
        return replace(figures, cache=CacheFigures(str(rt.media_cache.folder), entries, size,
                                                   rt.media_cache.budget))

    def reindex(self, *, actor: str) -> ReindexReport:
        """Rebuild the catalog from the bucket alone (see :func:`gallery.images.repair.reindex`).

        Raises:
            Conflict: too many concurrent writers for too long.
            StorageUnavailable: the storage did not answer.
        """
        report = self.images.reindex()
        self.audit.record(
            actor, "gallery.reindex", "", added=len(report.added), dropped=len(report.dropped),
            total=report.total, repaired=report.repaired,
        )
        return report

    def cleanup(self, *, dry_run: bool, actor: str, now: datetime | None = None) -> CleanupReport:
        """Find objects and index entries that disagree, album members whose image is gone
        and share links closed for good, and repair them unless ``dry_run``.

        See :mod:`gallery.operations.cleanup`. Nothing younger than the
        ``cleanup_grace`` setting is touched; a dry run writes nothing at all.

        Raises:
            DocumentDamaged: the index cannot be read (run reindex first).
            StorageUnavailable: the storage did not answer.
        """
        rt = self
        run = Cleanup(rt.storage, rt.keys, rt.images, grace=rt.settings["cleanup_grace"],
                      login_window=rt.settings["login_window"], now=now or utcnow(),
                      albums=rt.albums, links=rt.links, actor=actor)
        report, orphans = run.survey(dry_run)
        # Files a crash left in the middle of a write (file backend), never younger than an hour.
        report.temporary_files = rt.storage.sweep_temporary(
            max(rt.settings["cleanup_grace"], 3600), dry_run=dry_run)
        if dry_run:
            return report
        run.repair(report, orphans)
        rt.audit.record(
            actor, "gallery.cleanup", "", removed=len(report.removed),
            regenerated=len(report.regenerated), failed=len(report.failed),
            album_members=len(report.album_members), links=len(report.stale_links),
            trash=len(report.trash_expired) + len(report.trash_incomplete),
        )
        return report

    def doctor(self) -> list[Check]:
        """Check settings, storage, libmagic, image codecs, the index, albums, links and the
        accounts.

        Never raises for a failed check: each failure is a :class:`Check` with
        ``ok=False``, a message and, where known, how to fix it.
        """
        return run_checks(self)

    def export_to(self, dest: str | os.PathLike[str], *, actor: str,
                  progress: Progress | None = None) -> ExportReport:
        """Export every original, the index, the albums and a manifest to a new folder or
        ``.zip`` file (share links, accounts and tokens are never exported).

        ``progress(done, total)`` is called after each image.

        Raises:
            BadRequest: ``dest`` exists already (a non-empty folder, or a file).
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        path = Path(dest).expanduser()
        if path.suffix.lower() == ".zip":
            report = export_zip_file(self, path, utcnow(), progress)
        else:
            report = export_folder(self, path, utcnow(), progress)
        self.audit.record(actor, "gallery.export", str(path), images=report.images,
                          missing=len(report.missing), albums=report.albums)
        return report

    def iter_export_zip(self, *, actor: str) -> Iterator[bytes]:
        """The export as a zip, streamed chunk by chunk in constant memory (for a download).

        The audit entry is written once the last chunk has been produced.

        Raises:
            DocumentDamaged: the index cannot be read (on the first chunk).
            StorageUnavailable: the storage did not answer (the zip stops there).
        """
        report = ExportReport("zip download")
        yield from iter_zip(self, utcnow(), report)
        self.audit.record(actor, "gallery.export", report.dest, images=report.images,
                          missing=len(report.missing), albums=report.albums)

    def import_from(self, source_dir: str | os.PathLike[str], *, username: str,
                    recursive: bool = False, actor: str,
                    progress: Progress | None = None) -> ImportReport:
        """Import an export (a folder with ``manifest.json``, or its ``.zip``) or a folder of images.

        An export is reproduced as it was (ids, texts, uploaders, times, albums); an
        uploader or album owner without an account here becomes ``username`` (when that
        is an account; otherwise such images and albums are rejected). Albums the
        gallery has already (same id) are left as they are. A plain folder's files are uploaded as
        ``username``, each through the same checks as a web upload; hidden
        files are skipped, sub-folders too unless ``recursive``. Files already
        in the gallery count as duplicates, so a re-run resumes.

        Raises:
            BadRequest: the source is neither, or ``username`` has no account.
            DocumentDamaged: the index cannot be read.
            StorageUnavailable: the storage did not answer (a re-run resumes).
        """
        rt = self
        path = Path(source_dir).expanduser()
        if not path.exists():
            raise BadRequest(f"{path} does not exist.")
        if is_export(path):
            fallback = rt.accounts.get(username) if username else None
            report = import_export(rt, path, progress,
                                   fallback.username if fallback is not None else None)
        elif path.is_dir():
            user = rt.accounts.get(username)
            if user is None:
                raise BadRequest(f"There is no user {username!r} to import as.")
            report = import_folder(rt, path, user.username, recursive, progress)
        else:
            raise BadRequest(f"{path} is neither a folder nor an exported .zip.")
        albums = {} if report.albums is None else {"albums": len(report.albums.imported)}
        rt.audit.record(actor, "gallery.import", str(path), imported=len(report.imported),
                        duplicates=len(report.duplicates), rejected=len(report.rejected),
                        **albums)
        return report
