"""Adding tags to many images at once, or taking them off (the admin table, the grid's
selection).

Everything is checked before anything is written: the tags against the rules
of tags, every image against who may change it and against the most tags an
image may have. Then the catalog is changed by compare-and-swap, one write per
shard the images fall in, and each changed image's ``meta.json`` is brought up
to it, as a single edit does (see :mod:`gallery.images.edit`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gallery.catalog import Change
from gallery.errors import BadRequest, GalleryError
from gallery.images.domain import Domain, authorize
from gallery.images.record import MAX_TAGS, ImageRecord, clean_tag, tag_key
from gallery.images.results import Actor
from gallery.keys import is_image_id

log = logging.getLogger(__name__)

#: Most images one change may name (as many as the admin table selects at once).
MAX_IMAGES = 1000
#: What separates the tags typed into one field.
SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class TagsChanged:
    """What a change of many images' tags did.

    Attributes:
        tags: the tags added or removed, as cleaned.
        changed: the ids of the images whose tags changed.
        unchanged: how many already had (or already lacked) every one of them.
        missing: how many of the images named are no longer in the gallery.
    """

    tags: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    missing: int


def parse_tags(value: str | Sequence[str]) -> tuple[str, ...]:
    """Tags typed into one field, separated by commas (or a list of tags), cleaned and
    each kept once (in any case).

    Raises:
        BadRequest: no tag, more than :data:`MAX_TAGS`, or one that breaks the rules of
            tags (:func:`~gallery.images.record.clean_tag`), with a message saying which.
    """
    parts = value.split(SEPARATOR) if isinstance(value, str) else list(value)
    if len(parts) > MAX_TAGS * 4:
        raise BadRequest(f"Give at most {MAX_TAGS} tags at once.")
    tags: dict[str, str] = {}
    for part in parts:
        if isinstance(part, str) and not part.strip():
            continue
        try:
            tag = clean_tag(part)
        except ValueError as err:
            raise BadRequest(f"{err} Nothing was changed.") from None
        tags.setdefault(tag_key(tag), tag)
    if not tags:
        raise BadRequest("Type at least one tag (separate tags with commas).")
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"Give at most {MAX_TAGS} tags at once; {len(tags)} were given.")
    return tuple(tags.values())


def _ids(ids: Iterable[object]) -> list[str]:
    """The ids named, each once, in order.

    Raises:
        BadRequest: none, too many, or something that is not an image id.
    """
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise BadRequest("Select at least one image first.")
    if len(unique) > MAX_IMAGES:
        raise BadRequest(f"Select at most {MAX_IMAGES} images at once.")
    if not all(isinstance(i, str) and is_image_id(i) for i in unique):
        raise BadRequest("The selection contains something that is not an image id.")
    return [str(i) for i in unique]


def _with(record: ImageRecord, add: Sequence[str], remove: Sequence[str]) -> tuple[str, ...]:
    """The tags ``record`` would have with ``add`` added and ``remove`` taken off."""
    gone = {tag_key(t) for t in remove}
    kept = [t for t in record.tags if tag_key(t) not in gone]
    have = {tag_key(t) for t in kept}
    kept += [t for t in add if tag_key(t) not in have]
    return tuple(kept)


def _too_many(record: ImageRecord, count: int) -> BadRequest:
    return BadRequest(f"“{record.name}” would have {count} tags; an image may have at most "
                      f"{MAX_TAGS}. Nothing was changed.")


def change_tags(d: Domain, ids: Iterable[object], *, add: Sequence[str] = (),
                remove: Sequence[str] = (), actor: Actor) -> TagsChanged:
    """Add the tags ``add`` to every image of ``ids`` and take ``remove`` off them.

    ``add`` and ``remove`` are tags as :func:`parse_tags` gives them. An image
    that already has (or lacks) them is left as it is.

    Raises:
        BadRequest: no image, too many, a malformed id, no tag, or an image that
            would have more than :data:`MAX_TAGS` tags (nothing is changed).
        Forbidden: an image the actor may not change (neither its uploader nor an
            admin) is among them (nothing is changed).
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer (some images may be changed).
    """
    wanted = _ids(ids)
    if not add and not remove:
        raise BadRequest("Type at least one tag (separate tags with commas).")
    view = d.catalog.view()
    records = [r for r in (view.get(i) for i in wanted) if r is not None]
    for record in records:
        authorize(record, actor)
        tags = _with(record, add, remove)
        if len(tags) > MAX_TAGS:
            raise _too_many(record, len(tags))

    def change(current: ImageRecord) -> ImageRecord | None:
        authorize(current, actor)
        tags = _with(current, add, remove)
        if tags == current.tags:
            return None
        if len(tags) > MAX_TAGS:  # tagged meanwhile by someone else
            raise _too_many(current, len(tags))
        return current.with_changes(tags=tags, rev=current.rev + 1)

    before = {r.id: r.tags for r in records}
    outcomes = d.catalog.apply([Change(r.key, r.id, change) for r in records])
    changed: list[str] = []
    for image_id in before:
        edited = outcomes.get(image_id)
        if not isinstance(edited, ImageRecord) or edited.tags == before[image_id]:
            continue
        changed.append(image_id)
        try:
            d.store.sync_meta(edited)
        except GalleryError as err:  # the edit stands; cleanup brings meta.json up to it
            log.warning("meta.json of %s is behind the catalog (cleanup repairs it): %s",
                        image_id, err)
    present = sum(1 for i in before if isinstance(outcomes.get(i), ImageRecord))
    if changed:
        d.record(actor, "images.tag", "", count=len(changed), ids=changed[:100],
                 added=list(add), removed=list(remove))
    return TagsChanged(tags=tuple(add or remove), changed=tuple(changed),
                       unchanged=present - len(changed), missing=len(wanted) - present)
