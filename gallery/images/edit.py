"""Editing an image's title, description and tags.

The catalog is written first, by compare-and-swap: once it holds the edit,
the edit is what the site shows, and the answer says so. ``meta.json`` is
brought up to it afterwards. An edit whose catalog write failed never touched
``meta.json``, so a later ``gallery reindex`` cannot bring a refused edit
back; an edit whose ``meta.json`` write failed leaves ``meta.json`` behind the
catalog, which ``gallery doctor`` reports and ``gallery cleanup`` repairs (the
edit counter ``rev`` tells which is newer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gallery.catalog import Change
from gallery.errors import BadRequest, GalleryError, NotFound
from gallery.images.domain import Domain, authorize
from gallery.images.record import ImageRecord, check_changes
from gallery.images.results import Actor

log = logging.getLogger(__name__)


def update(d: Domain, image_id: str, changes: Mapping[str, Any], *, actor: Actor) -> ImageRecord:
    """Change an image's title, description and/or tags (``tags`` replaces the list).

    Raises:
        NotFound: unknown or malformed id (or deleted meanwhile).
        Forbidden: the actor is neither the uploader nor an admin.
        BadRequest: an unknown field, a value that is not a string, too long, or
            tags that break the rules of :func:`~gallery.images.record.clean_tags`.
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer (the edit may have landed).
    """
    record = d.get(image_id)
    authorize(record, actor)
    try:
        texts = check_changes(changes)
    except ValueError as err:
        raise BadRequest(str(err)) from None
    if not texts:
        return record

    def change(current: ImageRecord) -> ImageRecord | None:
        authorize(current, actor)
        edited = current.with_changes(**texts)
        if edited == current:
            return None
        return edited.with_changes(rev=current.rev + 1)

    edited = d.catalog.apply([Change(record.key, image_id, change)]).get(image_id)
    if edited is None:
        raise NotFound("That image was deleted.")
    try:
        d.store.sync_meta(edited)
    except GalleryError as err:  # the edit stands; cleanup brings meta.json up to it
        log.warning("meta.json of %s is behind the catalog (cleanup repairs it): %s",
                    image_id, err)
    d.record(actor, "image.edit", image_id, fields=sorted(texts))
    return edited
