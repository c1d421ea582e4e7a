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
* **album members** whose image is gone (a delete whose album update failed, or
  made by a process that knew nothing of albums). Taken out of their albums by
  compare-and-swap (:meth:`gallery.albums.Albums.prune`).
* **stale links**: share links revoked or expired more than 30 days ago, or
  whose album was deleted, and usage records left without their link. Removed
  (:meth:`gallery.albums.Links.stale`, :meth:`~gallery.albums.Links.remove`).
* **trash**: images kept in the trash longer than ``GALLERY_TRASH_DAYS``, and
  trash documents whose original is gone (a purge that stopped): deleted for
  good (:func:`gallery.images.trash.purge`). Trash documents of images that
  are in the catalog (a move to the trash or a restore that stopped half-way:
  the catalog wins): removed. Images in the trash are never "unindexed" and
  their album memberships are kept.
* **unknown** objects outside the gallery's own names. Listed, never touched
  (the bucket may be shared).

Nothing younger than the grace period (``GALLERY_CLEANUP_GRACE``) is touched:
an upload writes its objects before its index entry, so an upload in progress
looks like an orphan for a moment; an album member counts by its image's upload
time, a link by its creation. A dry run changes nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gallery.albums import Albums, Links, ShareLink
from gallery.albums.links import KEEP_CLOSED
from gallery.audit import CLI_ACTOR
from gallery.clock import format_timestamp, parse_timestamp
from gallery.errors import GalleryError
from gallery.images import trash
from gallery.images.record import ImageRecord
from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.images.store import Damaged, delete_order
from gallery.imaging import VARIANT_SIZES
from gallery.keys import Keys
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
        unindexed: ids of whole images missing from the catalog: put back.
        duplicates: ids of those that copy a picture the gallery has: removed instead.
        interrupted: ids of images whose delete began (a tombstone) but did not finish.
        dangling: ids in the index whose original is missing.
        regenerable: ``(id, missing names)`` of indexed images whose original
            exists but thumbnails (``sm.webp`` ...) or ``meta.json`` are missing.
        expired: sign-in counters with nothing left inside the lockout window.
        meta_behind: ids whose ``meta.json`` disagrees with the catalog (an edit that
            failed half-way): rewritten from the catalog.
        stale_shards: catalog shards whose count in the root is out of date, or
            whose split did not finish: corrected.
        album_members: ``(album id, image id)`` of album members whose image is gone.
        stale_links: ``(link id, why)`` of share links to remove (closed for 30 days,
            or their album deleted), and of usage records without their link.
        trash_expired: ids of images kept in the trash for the whole keep period.
        trash_incomplete: ids of images in the trash whose original is gone (a purge
            that stopped half-way): deleted for good.
        trash_stale: ids of images in the catalog that also have a trash document (a
            move or a restore that stopped half-way): the document is removed.
        young: keys and ids left alone because they are younger than ``grace``.
        unknown: objects under the prefix that are not the gallery's; left alone.
        removed: keys deleted, ``index:<id>`` for each index entry dropped and
            ``album:<album id>:<image id>`` for each member taken out of an album.
        regenerated: keys written again, and ``index:<id>`` for each entry put back.
        failed: ``(key or id, reason)`` of repairs that did not work.
    """

    dry_run: bool
    grace: int
    orphans: list[Found] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    regenerable: list[tuple[str, list[str]]] = field(default_factory=list)
    expired: list[Found] = field(default_factory=list)
    meta_behind: list[str] = field(default_factory=list)
    stale_shards: list[str] = field(default_factory=list)
    album_members: list[tuple[str, str]] = field(default_factory=list)
    stale_links: list[tuple[str, str]] = field(default_factory=list)
    trash_expired: list[str] = field(default_factory=list)
    trash_incomplete: list[str] = field(default_factory=list)
    trash_stale: list[str] = field(default_factory=list)
    young: list[str] = field(default_factory=list)
    unknown: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    temporary_files: int = 0

    @property
    def is_clean(self) -> bool:
        """Whether nothing needed repair and everything could be looked at (young and
        unknown objects do not count)."""
        return not (self.orphans or self.unindexed or self.interrupted or self.dangling
                    or self.regenerable or self.expired or self.meta_behind
                    or self.stale_shards or self.album_members or self.stale_links
                    or self.trash_expired or self.trash_incomplete or self.trash_stale
                    or self.failed)

    @property
    def albums_touched(self) -> list[str]:
        """The albums that list members whose image is gone, in order."""
        return list(dict.fromkeys(album_id for album_id, _ in self.album_members))

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "grace": self.grace,
            "is_clean": self.is_clean,
            "orphans": [found.to_json() for found in self.orphans],
            "unindexed": list(self.unindexed),
            "duplicates": list(self.duplicates),
            "meta_behind": list(self.meta_behind),
            "stale_shards": list(self.stale_shards),
            "interrupted": list(self.interrupted),
            "dangling": list(self.dangling),
            "regenerable": [{"id": i, "missing": list(m)} for i, m in self.regenerable],
            "expired": [found.to_json() for found in self.expired],
            "album_members": [{"album": a, "image": i} for a, i in self.album_members],
            "stale_links": [{"id": i, "why": why} for i, why in self.stale_links],
            "trash_expired": list(self.trash_expired),
            "trash_incomplete": list(self.trash_incomplete),
            "trash_stale": list(self.trash_stale),
            "young": list(self.young),
            "unknown": [found.to_json() for found in self.unknown],
            "removed": list(self.removed),
            "regenerated": list(self.regenerated),
            "failed": [{"what": what, "reason": reason} for what, reason in self.failed],
            "temporary_files": self.temporary_files,
        }

    def lines(self) -> list[str]:
        """The report as text for people, one line each."""
        out: list[str] = []
        if self.orphans:
            total = sum(found.size for found in self.orphans)
            out.append(f"Orphaned objects: {len(self.orphans)} ({human_size(total)})")
            out += [f"  {f.key}  {human_size(f.size)}  {_age(f.age)} old" for f in self.orphans]
        if self.unindexed:
            out.append(f"Whole images missing from the catalog (put back): {len(self.unindexed)}")
            out += [f"  {image_id}" for image_id in self.unindexed]
        if self.duplicates:
            out.append(f"Copies of pictures the gallery has (removed): {len(self.duplicates)}")
            out += [f"  {image_id}" for image_id in self.duplicates]
        if self.meta_behind:
            out.append(f"meta.json disagreeing with the catalog (rewritten): "
                       f"{len(self.meta_behind)}")
            out += [f"  {image_id}" for image_id in self.meta_behind]
        if self.stale_shards:
            out.append(f"Catalog shards with out-of-date counts (corrected): "
                       f"{len(self.stale_shards)}")
        if self.interrupted:
            out.append(f"Deletes that did not finish (finished now): {len(self.interrupted)}")
            out += [f"  {image_id}" for image_id in self.interrupted]
        if self.dangling:
            out.append(f"Catalog entries whose original is missing: {len(self.dangling)}")
            out += [f"  {image_id}" for image_id in self.dangling]
        if self.regenerable:
            out.append(f"Images missing thumbnails or meta.json: {len(self.regenerable)}")
            out += [f"  {image_id}: {', '.join(missing)}" for image_id, missing in self.regenerable]
        if self.expired:
            out.append(f"Expired sign-in counters: {len(self.expired)}")
        if self.album_members:
            albums = self.albums_touched
            out.append(f"Album members whose image is gone (taken out): "
                       f"{len(self.album_members)} in {len(albums)} "
                       f"album{'s' if len(albums) != 1 else ''}")
            out += [f"  album {album_id}: {image_id}" for album_id, image_id in self.album_members]
        if self.stale_links:
            out.append(f"Share links closed for good (removed): {len(self.stale_links)}")
            out += [f"  {link_id}: {why}" for link_id, why in self.stale_links]
        if self.trash_expired:
            out.append(f"Images kept in the trash for the whole keep period (deleted for good): "
                       f"{len(self.trash_expired)}")
            out += [f"  {image_id}" for image_id in self.trash_expired]
        if self.trash_incomplete:
            out.append(f"Images in the trash whose original is gone (deleted for good): "
                       f"{len(self.trash_incomplete)}")
            out += [f"  {image_id}" for image_id in self.trash_incomplete]
        if self.trash_stale:
            out.append(f"Trash documents of images still in the gallery (removed): "
                       f"{len(self.trash_stale)}")
            out += [f"  {image_id}" for image_id in self.trash_stale]
        if self.young:
            out.append(f"Left alone, younger than {self.grace} s: {len(self.young)}")
        if self.unknown:
            out.append(f"Objects the gallery does not know, left alone: {len(self.unknown)}")
            out += [f"  {found.key}" for found in self.unknown]
        if self.temporary_files:
            verb = "Temporary files left by interrupted writes"
            out.append(f"{verb} ({'to remove' if self.dry_run else 'removed'}): "
                       f"{self.temporary_files}")
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
        images: the gallery (its catalog, and the repairs it knows).
        grace: seconds within which nothing is touched.
        login_window: the sign-in lockout window; counters older than it are expired.
        now: the time the run takes as now.
        albums: the albums (``None``: they are not looked at).
        links: the share links (``None``: they are not looked at).
        actor: who the audit entries of images deleted for good name.
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        images: Images,
        *,
        grace: int,
        login_window: int,
        now: datetime,
        albums: Albums | None = None,
        links: Links | None = None,
        actor: str = CLI_ACTOR,
    ) -> None:
        self.storage = storage
        self.keys = keys
        self.images = images
        self.grace = grace
        self.login_window = login_window
        self.now = now
        self.cutoff = now - timedelta(seconds=grace)
        self.albums = albums
        self.links = links
        self.actor = Actor(actor, is_admin=True)
        #: the trash entries to delete for good, by id
        self._purge: dict[str, trash.TrashEntry] = {}
        #: the stale links found, by id (``None``: a usage record without its link)
        self._stale: dict[str, ShareLink | None] = {}

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
        self.images.catalog.forget()
        root, _ = self.images.catalog.read_root()  # before the listing: see _orphans
        view = self.images.view()
        records = {r.id: r for r in view.records()}
        self._survey_catalog(report, root)
        referenced = {e.name for e in root.shards} if root is not None else set()
        groups: dict[str, list[ObjectInfo]] = {}
        strays: list[ObjectInfo] = []
        usages: dict[str, ObjectInfo] = {}
        link_ids: set[str] = set()
        trash_docs: dict[str, ObjectInfo] = {}
        for info in self.storage.list(self.keys.prefix):
            if info.key.startswith(self.keys.images_prefix):
                image_id = self.keys.image_id_of(info.key)
                if image_id is None:
                    strays.append(info)
                else:
                    groups.setdefault(image_id, []).append(info)
            elif info.key.startswith(self.keys.throttle_prefix):
                self._throttle(report, info)
            elif info.key.startswith(self.keys.shards_prefix):
                name = self.keys.shard_name_of(info.key)
                if name is None:
                    report.unknown.append(self._found(info))
                elif name not in referenced:  # replaced by its split parts, or a lost attempt
                    self._orphan_if_old(report, info, strays)
            elif info.key.startswith(self.keys.search_packs_prefix):
                if self.keys.search_pack_name_of(info.key) is None:
                    report.unknown.append(self._found(info))
                # else derived, and kept up by the searches themselves
            elif info.key.startswith(self.keys.doctor_prefix):
                self._orphan_if_old(report, info, strays)
            elif info.key.startswith(self.keys.links_prefix):
                link_id = self.keys.link_id_of(info.key)
                usage_of = self._usage_of(info.key)
                if link_id is not None:
                    link_ids.add(link_id)
                elif usage_of is not None:
                    usages[usage_of] = info
                else:
                    report.unknown.append(self._found(info))
            elif info.key.startswith(self.keys.albums_prefix):
                if self.keys.album_id_of(info.key) is None:
                    report.unknown.append(self._found(info))
            elif info.key.startswith(self.keys.trash_prefix):
                trashed_id = self.keys.trash_id_of(info.key)
                if trashed_id is None:
                    report.unknown.append(self._found(info))
                else:
                    trash_docs[trashed_id] = info
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
            elif image_id in records:
                self._check_indexed(report, image_id, records[image_id], infos)
            elif image_id in trash_docs:
                continue  # in the trash: see _survey_trash
            elif any(info.updated > self.cutoff for info in infos):
                report.young += [info.key for info in infos]
            elif self.keys.original(image_id) in names and self.keys.meta(image_id) in names:
                report.unindexed.append(image_id)
            else:
                orphans[image_id] = infos
                report.orphans += [self._found(info) for info in infos]
        for image_id, record in records.items():
            if image_id not in groups:
                self._check_indexed(report, image_id, record, [])
        self._survey_meta(report, [records[i] for i in groups
                                   if i in records and i not in report.young])
        old_strays = [info for info in strays if info.updated <= self.cutoff]
        report.young += [info.key for info in strays if info.updated > self.cutoff]
        if old_strays:
            orphans[""] = old_strays
            report.orphans += [self._found(info) for info in old_strays
                               if info.key.startswith(self.keys.images_prefix)]
        self._survey_trash(report, trash_docs, records, groups)
        self._survey_albums(report)
        self._survey_links(report, link_ids, usages)
        return report, orphans

    def _survey_trash(self, report: CleanupReport, docs: dict[str, ObjectInfo],
                      records: dict[str, ImageRecord],
                      groups: dict[str, list[ObjectInfo]]) -> None:
        """Trash documents of listed images; images kept long enough, or whose original
        is gone."""
        days = self.images.trash_days
        for image_id, info in sorted(docs.items()):
            if info.updated > self.cutoff:
                report.young.append(info.key)
                continue
            if image_id in records:
                report.trash_stale.append(image_id)
                continue
            try:
                entry = self.images.trash_entry(image_id)
            except GalleryError as err:
                report.failed.append((info.key, err.message))
                continue
            if entry is None:
                continue  # purged or restored meanwhile
            names = {i.key for i in groups.get(image_id, [])}
            if self.keys.original(image_id) not in names:
                report.trash_incomplete.append(image_id)
            elif entry.expired(days, self.now):
                report.trash_expired.append(image_id)
            else:
                continue
            self._purge[image_id] = entry

    def _usage_of(self, key: str) -> str | None:
        """The link whose usage record ``key`` is, or ``None``."""
        if not key.endswith(".usage.json"):
            return None
        link_id = self.keys.link_id_of(key.removesuffix(".usage.json") + ".json")
        return link_id if link_id is not None and key == self.keys.link_usage(link_id) else None

    def _survey_albums(self, report: CleanupReport) -> None:
        """Album members whose image is gone (and was uploaded before the grace period)."""
        if self.albums is None:
            return
        try:
            found = self.albums.prune(dry_run=True,
                                      uploaded_before=format_timestamp(self.cutoff))
        except GalleryError as err:
            report.failed.append(("albums", f"{err.message} Run `gallery doctor`."))
            return
        report.album_members = [(album_id, image_id)
                                for album_id, ids in sorted(found.dangling.items())
                                for image_id in ids]

    def _survey_links(self, report: CleanupReport, link_ids: set[str],
                      usages: dict[str, ObjectInfo]) -> None:
        """Links closed for good or whose album is gone; usage records without a link."""
        if self.links is None:
            return
        try:
            stale = self.links.stale(self.now)
        except GalleryError as err:
            report.failed.append(("share links", f"{err.message} Run `gallery doctor`."))
            return
        for link in stale:
            if parse_timestamp(link.created_at) > self.cutoff:
                report.young.append(self.keys.link(link.id))
                continue
            closed_at = link.revoked_at or (link.expires_at if link.expired(self.now) else None)
            if closed_at is not None and parse_timestamp(closed_at) + KEEP_CLOSED <= self.now:
                why = (f"{'revoked' if link.revoked_at else 'expired'} on {closed_at[:10]}, "
                       f"over {KEEP_CLOSED.days} days ago")
            else:
                why = "its album was deleted"
            report.stale_links.append((link.id, why))
            self._stale[link.id] = link
        for link_id, info in sorted(usages.items()):
            if link_id in link_ids:
                continue
            if info.updated > self.cutoff:
                report.young.append(info.key)
            else:
                report.stale_links.append((link_id, "a usage record without its link"))
                self._stale[link_id] = None

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
        return (key in (keys.index, keys.users, keys.secret, keys.index_v1_backup,
                        keys.users_backup, keys.setup_code)
                or key.startswith((keys.audit_prefix, keys.hashes_prefix)))

    def _survey_catalog(self, report: CleanupReport, root: Any) -> None:
        """Shards whose count in the root is out of date, or whose split did not finish."""
        if root is None:
            return
        for entry in root.shards:
            loaded = self.images.catalog.load(entry, keep=False)
            if entry.count != len(loaded.shard.records) or loaded.shard.sealed is not None:
                report.stale_shards.append(entry.name)

    def _survey_meta(self, report: CleanupReport, records: list[ImageRecord]) -> None:
        """Images whose ``meta.json`` disagrees with the catalog."""
        if not records:
            return
        with ThreadPoolExecutor(max_workers=min(16, len(records))) as pool:
            behind = list(pool.map(self.images.meta_behind, records))
        report.meta_behind += [r.id for r, bad in zip(records, behind, strict=True) if bad]

    def _throttle(self, report: CleanupReport, info: ObjectInfo) -> None:
        quiet_for = timedelta(seconds=max(self.grace, self.login_window))
        if info.updated <= self.now - quiet_for:
            report.expired.append(self._found(info))

    def _check_indexed(self, report: CleanupReport, image_id: str, record: ImageRecord,
                       infos: list[ObjectInfo]) -> None:
        created = _parse_time(record.created_at)
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
        self._empty_trash(report)
        self._put_back(report)
        self._finish_deletes(report)
        self._drop_dangling(report)
        self._regenerate(report)
        self._sync_meta(report)
        self._fix_counts(report)
        self._remove_expired(report)
        self._prune_albums(report)
        self._remove_links(report)

    def _remove_orphans(self, report: CleanupReport, orphans: dict[str, list[ObjectInfo]]) -> None:
        self.images.catalog.forget()
        view = self.images.view()  # a reindex may have revived one
        for image_id, infos in orphans.items():
            if image_id and view.get(image_id) is not None:
                report.young += [info.key for info in infos]
                continue
            self._delete(report, _delete_order(infos, self.keys, image_id))

    def _empty_trash(self, report: CleanupReport) -> None:
        """Delete for good what the trash kept long enough (or lost the original of); take
        out the trash documents of images the catalog lists."""
        d = self.images.d
        if self._purge:
            listed = {image_id: [i.key for i in self.storage.list(self.keys.image_prefix(image_id))]
                      for image_id in self._purge}
            try:
                gone = trash.purge(d, list(self._purge.values()), actor=self.actor,
                                   reason="expired")
            except GalleryError as err:
                report.failed += [(image_id, err.message) for image_id in self._purge]
            else:
                for image_id in gone:
                    report.removed += [*delete_order(self.keys, image_id, listed[image_id]),
                                       self.keys.trash(image_id)]
        if report.trash_stale:
            self.images.catalog.forget()
            view = self.images.view()
            for image_id in report.trash_stale:
                if view.get(image_id) is not None:
                    self._delete(report, [self.keys.trash(image_id)])

    def _put_back(self, report: CleanupReport) -> None:
        """Return whole images to the catalog; copies of a picture it has are removed."""
        if not report.unindexed:
            return
        try:
            added, duplicates = self.images.adopt(report.unindexed)
        except GalleryError as err:
            report.failed += [(image_id, err.message) for image_id in report.unindexed]
            return
        report.regenerated += [f"index:{image_id}" for image_id in added]
        report.unindexed = [i for i in report.unindexed if i not in duplicates]
        report.duplicates += duplicates
        for image_id in duplicates:
            listed = [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
            self._delete(report, _delete_order_keys(listed, self.keys, image_id))

    def _finish_deletes(self, report: CleanupReport) -> None:
        """Finish deletes that were interrupted, as a delete does it."""
        self._finish(report, report.interrupted)

    def _finish(self, report: CleanupReport, image_ids: list[str]) -> None:
        """Take images out of the catalog, their hash claims and every object
        (:func:`gallery.images.delete.finish_delete`), and report what went."""
        if not image_ids:
            return
        view = self.images.view()
        records: list[ImageRecord] = []
        for image_id in image_ids:
            try:
                record = view.get(image_id) or self.images.d.store.read_meta(image_id)
            except (GalleryError, Damaged):
                record = None
            if record is not None:
                records.append(record)
        listed = {image_id: [info.key for info in self.storage.list(self.keys.image_prefix(image_id))]
                  for image_id in image_ids}
        try:
            dropped = self.images.finish_delete(records)
            for image_id in set(image_ids) - {r.id for r in records}:
                self.images.d.store.remove_objects(image_id)
        except GalleryError as err:
            report.failed += [(image_id, err.message) for image_id in image_ids]
            return
        report.removed += [f"index:{image_id}" for image_id in dropped]
        for image_id in image_ids:
            report.removed += delete_order(self.keys, image_id, listed[image_id])

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
        self._finish(report, gone)

    def _regenerate(self, report: CleanupReport) -> None:
        for image_id, missing in report.regenerable:
            try:
                if any(name.endswith(".webp") for name in missing):
                    made = self.images.restore_variants(image_id)
                    report.regenerated += [self.keys.variant(image_id, name) for name in made]
                if "meta.json" in missing and self.images.restore_meta(image_id):
                    report.regenerated.append(self.keys.meta(image_id))
            except GalleryError as err:
                report.failed.append((image_id, err.message))

    def _sync_meta(self, report: CleanupReport) -> None:
        for image_id in report.meta_behind:
            try:
                if self.images.sync_meta(image_id):
                    report.regenerated.append(self.keys.meta(image_id))
            except GalleryError as err:
                report.failed.append((image_id, err.message))

    def _fix_counts(self, report: CleanupReport) -> None:
        if not report.stale_shards:
            return
        try:
            self.images.catalog.rewrite(lambda lo, hi, records: None)
        except GalleryError as err:
            report.failed.append(("catalog", err.message))
            return
        report.regenerated += [f"shard:{name}" for name in report.stale_shards]

    def _remove_expired(self, report: CleanupReport) -> None:
        quiet_since = self.now - timedelta(seconds=max(self.grace, self.login_window))
        for found in report.expired:
            try:
                if self.storage.stat(found.key).updated > quiet_since:
                    continue  # a failure was counted meanwhile
            except GalleryError:
                continue
            self._delete(report, [found.key])


    def _prune_albums(self, report: CleanupReport) -> None:
        """Take the members whose image is gone out of their albums (found again, since
        the repairs above may have removed images)."""
        if self.albums is None or not report.album_members:
            return
        try:
            pruned = self.albums.prune(dry_run=False,
                                       uploaded_before=format_timestamp(self.cutoff))
        except GalleryError as err:
            report.failed.append(("albums", err.message))
            return
        report.removed += [f"album:{album_id}:{image_id}"
                           for album_id, ids in sorted(pruned.dangling.items())
                           for image_id in ids]

    def _remove_links(self, report: CleanupReport) -> None:
        if self.links is None:
            return
        for link_id, _ in report.stale_links:
            link = self._stale.get(link_id)
            try:
                if link is not None:
                    self.links.remove(link)
                    report.removed.append(self.keys.link(link_id))
                else:
                    self.storage.delete(self.keys.link_usage(link_id), missing_ok=True)
                    report.removed.append(self.keys.link_usage(link_id))
            except GalleryError as err:
                report.failed.append((self.keys.link(link_id), err.message))


def _delete_order(infos: list[ObjectInfo], keys: Keys, image_id: str) -> list[str]:
    return _delete_order_keys([info.key for info in infos], keys, image_id)


def _delete_order_keys(listed: list[str], keys: Keys, image_id: str) -> list[str]:
    """As a delete does it (:func:`gallery.images.store.delete_order`)."""
    return delete_order(keys, image_id, listed) if image_id else listed
