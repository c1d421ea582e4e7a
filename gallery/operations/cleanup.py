"""Consistency between the index and the objects: find what is off, and repair it.

What is looked for, in one listing of the prefix and one read of the index:

* **orphans**: objects under ``images/`` that belong to no index entry and
  are not a whole image (an upload that stopped before its ``meta.json``), or
  duplicate a picture the index has. Removed, the original first and
  ``meta.json`` last, as a delete does.
* **unindexed** images: an original and a ``meta.json`` but no index entry and
  no tombstone, so nobody deleted them (an upload that stopped just before its
  index write, or an index that lost entries). Put back into the index, never
  removed.
* **interrupted** deletes: images with a tombstone (``deleted.json``, written
  before a delete touches anything). The delete is finished: the index entry
  goes if it is still there, then every object, the tombstone last.
* **dangling** index entries, whose original is missing. Removed from the
  index by compare-and-swap, with whatever objects they still have.
* **regenerable** entries whose original exists but a thumbnail or
  ``meta.json`` is missing. Thumbnails are made again from the original by the
  upload pipeline; ``meta.json`` is rewritten from the index record.
* **expired** sign-in counters, whose every failure is older than the lockout
  window. Removed.
* **unknown** objects outside the gallery's own names. Listed, never touched
  (the bucket may be shared).

Nothing younger than the grace period (``GALLERY_CLEANUP_GRACE``) is touched:
an upload writes its objects before its index entry, so an upload in progress
looks like an orphan for a moment. A dry run changes nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gallery.clock import parse_timestamp
from gallery.documents import Unchanged
from gallery.errors import GalleryError
from gallery.imaging import VARIANT_SIZES
from gallery.index import IndexValue
from gallery.keys import Keys
from gallery.service import GalleryService, delete_order
from gallery.storage.base import ObjectInfo, Storage
from gallery.units import human_size

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Found:
    """An object cleanup looked at: its key, size in bytes and age in seconds."""

    key: str
    size: int
    age: float

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "age": round(self.age, 1)}


@dataclass(slots=True)
class CleanupReport:
    """What cleanup found and, unless it was a dry run, what it changed.

    Attributes:
        dry_run: nothing was changed.
        grace: the grace period used, in seconds.
        orphans: objects under ``images/`` of no index entry, old enough to remove.
        unindexed: ids of whole images missing from the index: put back.
        interrupted: ids of images whose delete began (a tombstone) but did not finish.
        dangling: ids in the index whose original is missing.
        regenerable: ``(id, missing names)`` of indexed images whose original
            exists but thumbnails (``sm.webp`` ...) or ``meta.json`` are missing.
        expired: sign-in counters with nothing left inside the lockout window.
        young: keys and ids left alone because they are younger than ``grace``.
        unknown: objects under the prefix that are not the gallery's; left alone.
        removed: keys deleted, and ``index:<id>`` for each index entry dropped.
        regenerated: keys written again, and ``index:<id>`` for each entry put back.
        failed: ``(key or id, reason)`` of repairs that did not work.
    """

    dry_run: bool
    grace: int
    orphans: list[Found] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    regenerable: list[tuple[str, list[str]]] = field(default_factory=list)
    expired: list[Found] = field(default_factory=list)
    young: list[str] = field(default_factory=list)
    unknown: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        """Whether nothing needed repair (young and unknown objects do not count)."""
        return not (self.orphans or self.unindexed or self.interrupted or self.dangling
                    or self.regenerable or self.expired)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "grace": self.grace,
            "is_clean": self.is_clean,
            "orphans": [found.to_json() for found in self.orphans],
            "unindexed": list(self.unindexed),
            "interrupted": list(self.interrupted),
            "dangling": list(self.dangling),
            "regenerable": [{"id": i, "missing": list(m)} for i, m in self.regenerable],
            "expired": [found.to_json() for found in self.expired],
            "young": list(self.young),
            "unknown": [found.to_json() for found in self.unknown],
            "removed": list(self.removed),
            "regenerated": list(self.regenerated),
            "failed": [{"what": what, "reason": reason} for what, reason in self.failed],
        }

    def lines(self) -> list[str]:
        """The report as text for people, one line each."""
        out: list[str] = []
        if self.orphans:
            total = sum(found.size for found in self.orphans)
            out.append(f"Orphaned objects: {len(self.orphans)} ({human_size(total)})")
            out += [f"  {f.key}  {human_size(f.size)}  {_age(f.age)} old" for f in self.orphans]
        if self.unindexed:
            out.append(f"Whole images missing from the index (put back): {len(self.unindexed)}")
            out += [f"  {image_id}" for image_id in self.unindexed]
        if self.interrupted:
            out.append(f"Deletes that did not finish (finished now): {len(self.interrupted)}")
            out += [f"  {image_id}" for image_id in self.interrupted]
        if self.dangling:
            out.append(f"Index entries whose original is missing: {len(self.dangling)}")
            out += [f"  {image_id}" for image_id in self.dangling]
        if self.regenerable:
            out.append(f"Images missing thumbnails or meta.json: {len(self.regenerable)}")
            out += [f"  {image_id}: {', '.join(missing)}" for image_id, missing in self.regenerable]
        if self.expired:
            out.append(f"Expired sign-in counters: {len(self.expired)}")
        if self.young:
            out.append(f"Left alone, younger than {self.grace} s: {len(self.young)}")
        if self.unknown:
            out.append(f"Objects the gallery does not know, left alone: {len(self.unknown)}")
            out += [f"  {found.key}" for found in self.unknown]
        if self.is_clean:
            out.append("Everything is consistent.")
        if self.dry_run:
            if not self.is_clean:
                out.append("Dry run: nothing was changed. Run without --dry-run to repair.")
        else:
            out.append(f"Removed {len(self.removed)}, regenerated {len(self.regenerated)}.")
        for what, reason in self.failed:
            out.append(f"Failed: {what}: {reason}")
        return out


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def _parse_time(stamp: Any) -> datetime | None:
    try:
        return parse_timestamp(stamp)
    except ValueError:
        return None


class Cleanup:
    """One cleanup run over a bucket.

    Args:
        storage: the bucket.
        keys: the gallery's keys.
        service: the gallery (its index, and the repairs it knows).
        grace: seconds within which nothing is touched.
        login_window: the sign-in lockout window; counters older than it are expired.
        now: the time the run takes as now.
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        service: GalleryService,
        *,
        grace: int,
        login_window: int,
        now: datetime,
    ) -> None:
        self.storage = storage
        self.keys = keys
        self.service = service
        self.grace = grace
        self.login_window = login_window
        self.now = now
        self.cutoff = now - timedelta(seconds=grace)

    def _age(self, info: ObjectInfo) -> float:
        return (self.now - info.updated).total_seconds()

    def _found(self, info: ObjectInfo) -> Found:
        return Found(info.key, info.size, self._age(info))

    # -- finding ----------------------------------------------------------------

    def survey(self, dry_run: bool) -> tuple[CleanupReport, dict[str, list[ObjectInfo]]]:
        """Look without changing anything.

        Returns:
            The report so far, and the orphaned objects by image id (``""`` for
            objects under ``images/`` that have no image id at all).
        """
        report = CleanupReport(dry_run=dry_run, grace=self.grace)
        self.service.index.forget()
        snapshot = self.service.index.snapshot()  # before the listing: see _orphans
        groups: dict[str, list[ObjectInfo]] = {}
        strays: list[ObjectInfo] = []
        for info in self.storage.list(self.keys.prefix):
            if info.key.startswith(self.keys.images_prefix):
                image_id = self.keys.image_id_of(info.key)
                if image_id is None:
                    strays.append(info)
                else:
                    groups.setdefault(image_id, []).append(info)
            elif info.key.startswith(self.keys.throttle_prefix):
                self._throttle(report, info)
            elif info.key.startswith(self.keys.doctor_prefix):
                self._orphan_if_old(report, info, strays)
            elif not self._known(info.key):
                report.unknown.append(self._found(info))

        orphans: dict[str, list[ObjectInfo]] = {}
        for image_id, infos in groups.items():
            names = {info.key: info for info in infos}
            tombstone = names.get(self.keys.tombstone(image_id))
            if tombstone is not None:  # a delete began: only ever finished
                if tombstone.updated <= self.cutoff:
                    report.interrupted.append(image_id)
                else:
                    report.young.append(image_id)
            elif image_id in snapshot.images:
                self._check_indexed(report, image_id, snapshot.images[image_id], infos)
            elif any(info.updated > self.cutoff for info in infos):
                report.young += [info.key for info in infos]
            elif self.keys.original(image_id) in names and self.keys.meta(image_id) in names:
                report.unindexed.append(image_id)
            else:
                orphans[image_id] = infos
                report.orphans += [self._found(info) for info in infos]
        for image_id, record in snapshot.images.items():
            if image_id not in groups:
                self._check_indexed(report, image_id, record, [])
        old_strays = [info for info in strays if info.updated <= self.cutoff]
        report.young += [info.key for info in strays if info.updated > self.cutoff]
        if old_strays:
            orphans[""] = old_strays
            report.orphans += [self._found(info) for info in old_strays
                               if info.key.startswith(self.keys.images_prefix)]
        return report, orphans

    def _orphan_if_old(self, report: CleanupReport, info: ObjectInfo,
                       strays: list[ObjectInfo]) -> None:
        """A probe ``doctor`` left behind (it was interrupted)."""
        if info.updated <= self.cutoff:
            strays.append(info)
            report.orphans.append(self._found(info))
        else:
            report.young.append(info.key)

    def _known(self, key: str) -> bool:
        keys = self.keys
        return key in (keys.index, keys.users, keys.secret) or key.startswith(keys.audit_prefix)

    def _throttle(self, report: CleanupReport, info: ObjectInfo) -> None:
        quiet_for = timedelta(seconds=max(self.grace, self.login_window))
        if info.updated <= self.now - quiet_for:
            report.expired.append(self._found(info))

    def _check_indexed(self, report: CleanupReport, image_id: str, record: dict[str, Any],
                       infos: list[ObjectInfo]) -> None:
        created = _parse_time(record.get("created_at", ""))
        if created is None or created > self.cutoff:
            report.young.append(image_id)
            return
        names = {info.key: info for info in infos}
        if self.keys.original(image_id) not in names:
            report.dangling.append(image_id)
            return
        missing = [f"{name}.webp" for name in VARIANT_SIZES
                   if self.keys.variant(image_id, name) not in names]
        if self.keys.meta(image_id) not in names:
            missing.append("meta.json")
        if missing:
            report.regenerable.append((image_id, missing))

    # -- repairing --------------------------------------------------------------

    def repair(self, report: CleanupReport, orphans: dict[str, list[ObjectInfo]]) -> None:
        """Carry out what :meth:`survey` found; failures go to ``report.failed``."""
        self._remove_orphans(report, orphans)
        self._put_back(report)
        self._finish_deletes(report)
        self._drop_dangling(report)
        self._regenerate(report)
        self._remove_expired(report)

    def _remove_orphans(self, report: CleanupReport, orphans: dict[str, list[ObjectInfo]]) -> None:
        self.service.index.forget()
        indexed = self.service.index.snapshot().images  # a reindex may have revived one
        for image_id, infos in orphans.items():
            if image_id and image_id in indexed:
                report.young += [info.key for info in infos]
                continue
            self._delete(report, _delete_order(infos, self.keys, image_id))

    def _put_back(self, report: CleanupReport) -> None:
        """Return whole images to the index; copies of a picture it has are removed."""
        if not report.unindexed:
            return
        try:
            added, duplicates = self.service.adopt(report.unindexed)
        except GalleryError as err:
            report.failed += [(image_id, err.message) for image_id in report.unindexed]
            return
        report.regenerated += [f"index:{image_id}" for image_id in added]
        for image_id in duplicates:
            listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
            self._delete(report, _delete_order_keys(listed, self.keys, image_id))

    def _finish_deletes(self, report: CleanupReport) -> None:
        """Finish deletes that were interrupted: the index entry, then the objects."""
        if not report.interrupted:
            return
        pending = set(report.interrupted)

        def drop(value: IndexValue) -> Any:
            dropped = [i for i in report.interrupted if value["images"].pop(i, None) is not None]
            return dropped if dropped else Unchanged(dropped)

        try:
            dropped = self.service.index.update(drop)
        except GalleryError as err:
            report.failed += [(image_id, err.message) for image_id in sorted(pending)]
            return
        report.removed += [f"index:{image_id}" for image_id in dropped]
        for image_id in report.interrupted:
            listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
            self._delete(report, _delete_order_keys(listed, self.keys, image_id))

    def _delete(self, report: CleanupReport, keys: Iterable[str]) -> None:
        for key in keys:
            try:
                self.storage.delete(key, missing_ok=True)
            except GalleryError as err:
                report.failed.append((key, err.message))
                return  # keep the order: meta.json must outlive the original
            report.removed.append(key)

    def _drop_dangling(self, report: CleanupReport) -> None:
        gone = []
        for image_id in report.dangling:
            try:
                if not self.storage.exists(self.keys.original(image_id)):
                    gone.append(image_id)
            except GalleryError as err:
                report.failed.append((image_id, err.message))
        if not gone:
            return

        def drop(value: IndexValue) -> list[str]:
            return [i for i in gone if value["images"].pop(i, None) is not None]

        try:
            dropped = self.service.index.update(drop)
        except GalleryError as err:
            report.failed += [(image_id, err.message) for image_id in gone]
            return
        for image_id in dropped:
            report.removed.append(f"index:{image_id}")
            listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
            self._delete(report, _delete_order_keys(listed, self.keys, image_id))

    def _regenerate(self, report: CleanupReport) -> None:
        for image_id, missing in report.regenerable:
            try:
                if any(name.endswith(".webp") for name in missing):
                    made = self.service.restore_variants(image_id)
                    report.regenerated += [self.keys.variant(image_id, name) for name in made]
                if "meta.json" in missing and self.service.restore_meta(image_id):
                    report.regenerated.append(self.keys.meta(image_id))
            except GalleryError as err:
                report.failed.append((image_id, err.message))

    def _remove_expired(self, report: CleanupReport) -> None:
        quiet_since = self.now - timedelta(seconds=max(self.grace, self.login_window))
        for found in report.expired:
            try:
                if self.storage.stat(found.key).updated > quiet_since:
                    continue  # a failure was counted meanwhile
            except GalleryError:
                continue
            self._delete(report, [found.key])


def _delete_order(infos: list[ObjectInfo], keys: Keys, image_id: str) -> list[str]:
    return _delete_order_keys([info.key for info in infos], keys, image_id)


def _delete_order_keys(listed: list[str], keys: Keys, image_id: str) -> list[str]:
    """As a delete does it (:func:`gallery.service.delete_order`)."""
    return delete_order(keys, image_id, listed) if image_id else listed
