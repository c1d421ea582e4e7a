"""The trash: deleted images kept for ``GALLERY_TRASH_DAYS`` days, then removed for good.

Moving an image to the trash writes its **trash document**,
``trash/<id>.json`` (the whole record, ``trashed_at`` and ``trashed_by``),
then takes the record out of the catalog and its hashes out of the hash
buckets: listings, search, albums, counts, feeds and duplicate detection no
longer see it, and its media answers ``404``. Its objects (original,
thumbnails, ``meta.json``) stay where they are.

**Restoring** claims its hashes again (a picture uploaded again meanwhile is a
``409``), puts the record back in the catalog as it was (same ``created_at``,
so it returns to its place; albums never forgot it), then deletes the trash
document.

**Purging** (deleting for good: "Empty trash", "Delete for good", or the keep
period over) removes the objects, the original first, then the trash
document, and tells the delete listeners (albums forget the image).

An image both in the catalog and in the trash is a move or a restore that
stopped half-way: the catalog wins (the image stays listed) and ``gallery
cleanup`` removes the trash document once it is older than the grace period;
``gallery reindex`` never brings back an image that has a trash document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from gallery.catalog import Add, CatalogView, Remove
from gallery.clock import format_timestamp, parse_timestamp
from gallery.documents import JSON_TYPE, DocumentDamaged
from gallery.errors import Conflict, GalleryError, Gone, NotFound, ObjectNotFound
from gallery.images.domain import Domain, authorize, tell_deleted, tell_trashed
from gallery.images.record import ImageRecord
from gallery.images.results import Actor
from gallery.images.store import Damaged, each, read_many
from gallery.keys import is_image_id

log = logging.getLogger(__name__)

FORMAT = 1
#: Ids and titles one audit entry of a bulk change names at most.
AUDIT_NAMES = 100


@dataclass(frozen=True, slots=True)
class TrashEntry:
    """One image in the trash.

    Attributes:
        record: the image's record as it was in the catalog.
        trashed_at: when it was moved to the trash (a stored timestamp).
        trashed_by: who moved it there.
    """

    record: ImageRecord
    trashed_at: str
    trashed_by: str

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def bytes(self) -> int:
        """What its objects take: the original and the thumbnails."""
        return self.record.size + sum(v.size for v in self.record.variants)

    def purge_at(self, days: int) -> datetime:
        """When the keep period of ``days`` days is over."""
        return parse_timestamp(self.trashed_at) + timedelta(days=days)

    def expired(self, days: int, now: datetime) -> bool:
        """Whether it has been kept ``days`` days (``0``: always)."""
        return days <= 0 or self.purge_at(days) <= now

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "record": self.record.to_json(),
                "trashed_at": self.trashed_at, "trashed_by": self.trashed_by}

    @classmethod
    def from_json(cls, value: Any, image_id: str) -> TrashEntry:
        """Raises: ValueError: not the trash document of ``image_id``."""
        if not isinstance(value, Mapping) or value.get("format") != FORMAT:
            raise ValueError("not a trash document")
        record = ImageRecord.from_json(value.get("record"), image_id)
        trashed_at, trashed_by = value.get("trashed_at"), value.get("trashed_by")
        parse_timestamp(trashed_at)
        if not isinstance(trashed_by, str):
            raise ValueError("trashed_by is not a name")
        return cls(record, trashed_at, trashed_by)


def _names(entries: Iterable[ImageRecord]) -> dict[str, Any]:
    """The ids and titles a bulk audit entry names."""
    records = list(entries)
    return {"count": len(records), "ids": [r.id for r in records[:AUDIT_NAMES]],
            "titles": [r.name for r in records[:AUDIT_NAMES]]}


# -- reading --------------------------------------------------------------------------------


def read_entry(d: Domain, image_id: str) -> TrashEntry | None:
    """The trash document of an image (``None``: it is not in the trash).

    Raises:
        DocumentDamaged: the document is there but cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    if not is_image_id(image_id):
        return None
    key = d.keys.trash(image_id)
    try:
        raw = d.storage.get(key)
    except ObjectNotFound:
        return None
    try:
        return TrashEntry.from_json(orjson.loads(raw), image_id)
    except (orjson.JSONDecodeError, ValueError) as err:
        raise DocumentDamaged(f"The trash document {key!r} is damaged ({err}); it was left "
                              "untouched.") from err


def trashed_ids(d: Domain) -> set[str]:
    """The ids of every image in the trash: one listing of ``trash/``.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    found = (d.keys.trash_id_of(info.key) for info in d.storage.list(d.keys.trash_prefix))
    return {image_id for image_id in found if image_id is not None}


def in_trash(d: Domain, image_id: str) -> bool:
    """Whether an image has a trash document. Raises: StorageUnavailable."""
    return is_image_id(image_id) and d.storage.exists(d.keys.trash(image_id))


def entries(d: Domain, *, actor: Actor | None = None) -> list[TrashEntry]:
    """The images in the trash, the most recently deleted first; those ``actor`` may
    restore when given (their own; an admin's: everyone's). Damaged documents are
    logged and left out.

    Raises:
        StorageUnavailable: the storage did not answer.
    """

    def read(image_id: str) -> TrashEntry | None:
        try:
            return read_entry(d, image_id)
        except DocumentDamaged as err:
            log.warning("%s", err.message)
            return None

    found = [e for e in read_many(read, sorted(trashed_ids(d))).values() if e is not None]
    if actor is not None and not actor.is_admin:
        found = [e for e in found if e.record.uploaded_by == actor.username]
    return sorted(found, key=lambda e: (e.trashed_at, e.id), reverse=True)


def get(d: Domain, image_id: str, *, actor: Actor) -> TrashEntry:
    """One image in the trash that ``actor`` may restore or delete for good.

    Raises:
        NotFound: it is not in the trash, or belongs to someone else (so as not to
            tell others what is there).
        DocumentDamaged, StorageUnavailable.
    """
    entry = read_entry(d, image_id)
    if entry is None or not (actor.is_admin or actor.username == entry.record.uploaded_by):
        raise NotFound("There is no such image in the trash.")
    return entry


# -- moving to the trash ----------------------------------------------------------------------


def move(d: Domain, records: list[ImageRecord], *, actor: Actor) -> list[str]:
    """Move images of the catalog to the trash: trash documents first, then the catalog
    entries (one write per shard), then the hash claims.

    Returns:
        The ids this call took out of the catalog, in the order given.

    Raises:
        Forbidden: the actor may not delete one of them (nothing changes).
        DocumentDamaged, StorageUnavailable: nothing was moved (the trash documents
            written are taken back where the image is still in the catalog).
    """
    for record in records:
        authorize(record, actor)
    if not records:
        return []
    stamp = format_timestamp(d.clock())
    bodies = {r.id: orjson.dumps(TrashEntry(r, stamp, actor.username).to_json())
              for r in records}
    each(lambda image_id: d.storage.put(d.keys.trash(image_id), bodies[image_id],
                                        content_type=JSON_TYPE), list(bodies))
    try:
        outcomes = d.catalog.apply(
            [Remove(r.key, r.id, lambda current: authorize(current, actor)) for r in records])
    except BaseException:
        _withdraw(d, [r.id for r in records])
        raise
    moved = [r for r in records if outcomes.get(r.id) is not None]
    try:
        d.hashes.release({sha: r.id for r in moved for sha in r.hashes})
    except GalleryError as err:  # uploads take over claims of images in the trash
        log.warning("could not release the hashes of %d image(s) in the trash: %s",
                    len(moved), err.message)
    tell_trashed(d, [r.id for r in moved])
    if len(moved) == 1:
        d.record(actor, "image.trash", moved[0].id, title=moved[0].name)
    elif moved:
        d.record(actor, "images.trash", "", **_names(moved))
    return [r.id for r in moved]


def _withdraw(d: Domain, image_ids: list[str]) -> None:
    """After a failed catalog write: take back the trash documents of images still listed."""
    try:
        d.catalog.forget()
        view = d.catalog.view()
        listed = [i for i in image_ids if view.get(i) is not None]
        each(lambda image_id: d.storage.delete(d.keys.trash(image_id), missing_ok=True), listed)
    except GalleryError:
        log.warning("could not take back the trash documents of %d image(s); cleanup will",
                    len(image_ids))


# -- restoring --------------------------------------------------------------------------------


def claim_is_stale(d: Domain, view: CatalogView, holder: str) -> bool:
    """Whether a hash claim held by ``holder`` may be taken over: the image is not in the
    catalog and is either gone (no ``meta.json``) or in the trash.

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    if view.get(holder) is not None:
        return False
    try:
        if d.store.read_meta(holder) is None:
            return True
    except Damaged:
        return True
    return in_trash(d, holder)


def restore(d: Domain, image_id: str, *, actor: Actor) -> ImageRecord:
    """Put an image of the trash back in the catalog, where it was, then delete its trash
    document.

    Returns:
        The record as the catalog holds it.

    Raises:
        NotFound: it is not in the trash (or is someone else's).
        Gone: its original is gone: it cannot come back.
        Conflict: the same picture was uploaded again while it was in the trash.
        DocumentDamaged, StorageUnavailable: nothing was restored; try again.
    """
    entry = get(d, image_id, actor=actor)
    record = entry.record
    d.catalog.forget()
    view = d.catalog.view()
    current = view.get(image_id)
    if current is not None:  # a move or restore that stopped half-way: the catalog wins
        _drop_document(d, image_id)
        return current
    if not d.store.has_original(image_id):
        raise Gone(f"The original of “{record.name}” is gone; it cannot be restored.")
    claims = {sha: image_id for sha in record.hashes}
    taken = d.hashes.claim(claims)
    stale = {sha: holder for sha, holder in taken.items() if claim_is_stale(d, view, holder)}
    if stale:
        taken = {s: h for s, h in taken.items() if s not in stale} | d.hashes.claim(
            {sha: image_id for sha in stale}, stale=stale)
    if taken:
        _release(d, {sha: image_id for sha in claims if sha not in taken})
        holder = view.get(next(iter(taken.values())))
        copy = f" as “{holder.name}” ({holder.id})" if holder is not None else ""
        raise Conflict(f"The same picture was uploaded again{copy} while “{record.name}” was "
                       "in the trash; delete that copy first, or delete this one for good.")
    try:
        outcome = d.catalog.apply([Add(record)]).get(image_id)
    except BaseException:
        d.catalog.forget()
        try:
            if d.catalog.view().get(image_id) is None:
                _release(d, claims)
        except GalleryError:
            pass
        raise
    if outcome == "taken":
        _release(d, claims)
        raise Conflict(f"The id {image_id} is taken by a different image.")
    _drop_document(d, image_id)
    d.record(actor, "image.restore", image_id, title=record.name)
    return record


def restore_many(d: Domain, image_ids: Iterable[str], *, actor: Actor
                 ) -> tuple[list[ImageRecord], list[tuple[str, str]]]:
    """Restore several images, each on its own.

    Returns:
        The records restored, and ``(id, why)`` for each that could not be (not in
        the trash, its original gone, the picture uploaded again).

    Raises:
        DocumentDamaged, StorageUnavailable: the storage failed (those restored stay so).
    """
    restored: list[ImageRecord] = []
    refused: list[tuple[str, str]] = []
    for image_id in dict.fromkeys(image_ids):
        try:
            restored.append(restore(d, image_id, actor=actor))
        except (NotFound, Gone, Conflict) as err:
            refused.append((image_id, err.message))
    return restored, refused


def _drop_document(d: Domain, image_id: str) -> None:
    try:
        d.storage.delete(d.keys.trash(image_id), missing_ok=True)
    except GalleryError as err:  # the catalog wins: cleanup removes it later
        log.warning("could not remove the trash document of %s: %s", image_id, err.message)


def _release(d: Domain, claims: Mapping[str, str]) -> None:
    try:
        d.hashes.release(claims)
    except GalleryError as err:
        log.warning("could not release %d hash claim(s): %s", len(claims), err.message)


# -- deleting for good ------------------------------------------------------------------------


def purge(d: Domain, found: list[TrashEntry], *, actor: Actor, reason: str) -> list[str]:
    """Delete images of the trash for good: every object (the original first), then the
    trash document; then the albums forget them. An image that is in the catalog again
    (restored meanwhile) is left alone.

    Args:
        reason: what the audit entry says: ``deleted``, ``emptied`` or ``expired``.

    Returns:
        The ids removed.

    Raises:
        DocumentDamaged, StorageUnavailable: purging again (or ``gallery cleanup``)
            finishes it.
    """
    if not found:
        return []
    d.catalog.forget()
    view = d.catalog.view()
    gone = [e for e in found if view.get(e.id) is None]
    if not gone:
        return []
    ids = [e.id for e in gone]
    each(d.store.remove_objects, ids)
    _release(d, {sha: e.id for e in gone for sha in e.record.hashes})
    each(lambda image_id: d.storage.delete(d.keys.trash(image_id), missing_ok=True), ids)
    tell_deleted(d, ids)
    if len(gone) == 1:
        d.record(actor, "image.purge", gone[0].id, title=gone[0].record.name, reason=reason)
    else:
        d.record(actor, "images.purge", "", reason=reason, **_names(e.record for e in gone))
    return ids


def purge_ids(d: Domain, image_ids: Iterable[str], *, actor: Actor) -> list[str]:
    """Delete images of the trash for good, by id ("Delete for good").

    Raises:
        NotFound: one of them is not in the trash, or not the actor's (nothing is removed).
        DocumentDamaged, StorageUnavailable.
    """
    found = [get(d, image_id, actor=actor) for image_id in dict.fromkeys(image_ids)]
    return purge(d, found, actor=actor, reason="deleted")


def empty(d: Domain, *, actor: Actor, older_than: int | None = None) -> list[str]:
    """Delete for good every image of the trash the actor may (an admin: all), or only
    those moved there at least ``older_than`` days ago.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    found = entries(d, actor=actor)
    if older_than is not None:
        cutoff = d.clock() - timedelta(days=max(0, older_than))
        found = [e for e in found if parse_timestamp(e.trashed_at) <= cutoff]
    return purge(d, found, actor=actor, reason="emptied")


def expired(d: Domain, now: datetime | None = None) -> list[TrashEntry]:
    """The images kept longer than ``GALLERY_TRASH_DAYS``. Raises: StorageUnavailable."""
    moment = now or d.clock()
    return [e for e in entries(d) if e.expired(d.trash_days, moment)]


def purge_expired(d: Domain, *, actor: Actor, now: datetime | None = None) -> list[str]:
    """Delete for good what was kept long enough (called by cleanup and the trash page).

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    return purge(d, expired(d, now), actor=actor, reason="expired")


__all__ = ["TrashEntry", "claim_is_stale", "empty", "entries", "expired", "get", "in_trash",
           "move", "purge", "purge_expired", "purge_ids", "read_entry", "restore",
           "restore_many", "trashed_ids"]
