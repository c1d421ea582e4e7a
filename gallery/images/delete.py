"""Deleting images: to the trash, or (``GALLERY_TRASH_DAYS=0``) for good.

With a keep period, a delete moves the images to the trash
(:mod:`gallery.images.trash`): nothing is removed until the trash is emptied
or the period is over. Without one, and when the trash is purged, a delete
for good is a tombstone first, then the catalog entry, then the objects.

:func:`finish_delete` is the one way a delete is carried out, for a delete
asked for now and for one ``gallery cleanup`` finds interrupted: the catalog
entries go (if still there), then the hash claims, then every object, the
original first and the tombstone last.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from gallery.catalog import Remove
from gallery.errors import GalleryError, NotFound
from gallery.images import trash
from gallery.images.domain import Domain, authorize, tell_deleted
from gallery.images.record import ImageRecord
from gallery.images.results import Actor
from gallery.images.store import Damaged, each
from gallery.keys import is_image_id

log = logging.getLogger(__name__)


def finish_delete(d: Domain, records: list[ImageRecord], *, actor: Actor | None = None) -> list[str]:
    """Carry out the delete of images whose tombstones are written.

    Returns:
        The ids this call took out of the catalog (the others were out already).

    Raises:
        Forbidden: ``actor`` (when given) may not delete one of them (checked on
            the catalog's own record; nothing is removed then).
        DocumentDamaged, StorageUnavailable: the delete stays pending; running
            it again (or ``gallery cleanup``) finishes it.
    """
    check = (lambda record: authorize(record, actor)) if actor is not None else None
    outcomes = d.catalog.apply([Remove(r.key, r.id, check) for r in records])
    removed = [r.id for r in records if outcomes.get(r.id) is not None]
    claims = {sha: r.id for r in records for sha in r.hashes}
    d.hashes.release(claims)
    each(d.store.remove_objects, [r.id for r in records])
    tell_deleted(d, [r.id for r in records])
    return removed


def _withdrawing_on_failure(d: Domain, records: list[ImageRecord], actor: Actor) -> list[str]:
    """:func:`finish_delete`; if it fails, the tombstones of images still in the catalog
    are taken back. An image whose catalog write landed although it reported an
    error keeps its tombstone, so cleanup finishes the delete rather than putting
    the image back."""
    try:
        return finish_delete(d, records, actor=actor)
    except BaseException:
        try:
            d.catalog.forget()
            view = d.catalog.view()
            d.store.unmark([r.id for r in records if view.get(r.id) is not None])
        except GalleryError:
            log.warning("could not withdraw the delete marks of %d image(s)", len(records))
        raise


def delete(d: Domain, image_id: str, *, actor: Actor) -> None:
    """Delete an image: to the trash while ``d.trash_days`` is above 0, else for good.
    An id no longer in the catalog whose objects are still there (a delete that was
    interrupted) is finished off, unless the image is in the trash.

    Raises:
        NotFound: unknown or malformed id, or an image in the trash already.
        Forbidden: the actor is neither the uploader nor an admin.
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer; deleting again finishes the job.
    """
    if not is_image_id(image_id):
        raise NotFound("There is no such image.")
    record = d.catalog.view().get(image_id)
    if record is not None and d.trash_days > 0:
        trash.move(d, [record], actor=actor)
        return
    if record is None:
        if trash.in_trash(d, image_id):
            raise NotFound("That image is in the trash already.")
        try:
            record = d.store.read_meta(image_id)
        except Damaged:
            record = None
        if record is None:
            raise NotFound("There is no such image.")
    authorize(record, actor)
    d.store.mark_deleted([image_id], actor.username, d.clock())
    try:
        _withdrawing_on_failure(d, [record], actor)
    finally:  # out of the catalog is deleted for everyone: recorded even if objects remain
        d.record(actor, "image.delete", image_id, title=record.name)


def delete_many(d: Domain, ids: Iterable[str], *, actor: Actor) -> list[str]:
    """Delete several images: their catalog entries in one write per shard, then their objects
    (or, while ``d.trash_days`` is above 0, move them to the trash).

    Permission is checked for every image before anything changes: one image
    the actor may not delete refuses the whole request.

    Returns:
        The ids deleted, in the order given; ids that are malformed or not in
        the catalog are left out.

    Raises:
        Forbidden: the actor may not delete one of the images.
        DocumentDamaged, StorageUnavailable: deleting again finishes the job.
    """
    view = d.catalog.view()
    records = [r for r in (view.get(i) for i in dict.fromkeys(ids) if is_image_id(i)) if r]
    for record in records:
        authorize(record, actor)
    if not records:
        return []
    if d.trash_days > 0:
        return trash.move(d, records, actor=actor)
    d.store.mark_deleted([r.id for r in records], actor.username, d.clock())
    removed = _withdrawing_on_failure(d, records, actor)
    if removed:
        gone = [r for r in records if r.id in set(removed)]
        d.record(actor, "images.delete", "", count=len(removed), ids=removed[:100],
                 titles=[r.name for r in gone[:100]])
    return [r.id for r in records if r.id in set(removed)]
