"""Reading the gallery: one image, a page, the listing, and where media is."""

from __future__ import annotations

from typing import BinaryIO

from gallery.catalog import decode_cursor, encode_cursor
from gallery.clock import parse_timestamp
from gallery.errors import NotFound, ObjectNotFound
from gallery.images.domain import Domain
from gallery.images.record import ImageRecord
from gallery.images.results import Media, Page

MAX_LIMIT = 100


def list_images(d: Domain, *, limit: int, cursor: str | None = None
                ) -> tuple[list[ImageRecord], str | None]:
    """Up to ``limit`` (clamped to 1..100) images, newest first, after ``cursor``.

    A cursor stays valid while images are added or deleted.

    Raises:
        BadRequest: the cursor is malformed.
        DocumentDamaged, StorageUnavailable.
    """
    limit = max(1, min(MAX_LIMIT, int(limit)))
    after = decode_cursor(cursor) if cursor else None
    records, more = d.catalog.view().older_than(after, limit)
    last = records[-1] if records and more else None
    return records, encode_cursor(last.created_at, last.id) if last else None


def page(d: Domain, number: int, per_page: int) -> tuple[list[ImageRecord], int, int]:
    """Page ``number`` (from 1): ``(records, pages, total)``.

    Raises:
        NotFound: there is no such page (page 1 always exists).
        DocumentDamaged, StorageUnavailable.
    """
    per_page = max(1, min(1000, int(per_page)))
    view = d.catalog.view()
    total = view.total
    pages = max(1, -(-total // per_page))
    if not 1 <= number <= pages:
        raise NotFound(f"There is no page {number}; the gallery has {pages}.")
    return view.newest((number - 1) * per_page, per_page), pages, total


def page_of(d: Domain, number: int, per_page: int) -> Page:
    records, pages, total = page(d, number, per_page)
    return Page([r.public() for r in records], number, pages, total)


def media(d: Domain, image_id: str, variant: str | None = None) -> Media:
    """Where the original (or a thumbnail) of an image is stored.

    The record comes from a catalog checked in the last two seconds (see
    :meth:`Domain.get`): media requests cost no storage call in the steady
    state, and an image deleted on another instance is served at most that
    much longer.

    Raises:
        NotFound: unknown id or variant.
        DocumentDamaged, StorageUnavailable.
    """
    record = d.get(image_id, recent=True)
    uploaded = parse_timestamp(record.created_at)
    if variant is None:
        return Media(d.keys.original(image_id), record.content_type, record.size,
                     f'"{record.sha256}"', record.filename, uploaded)
    found = record.variant(variant) if isinstance(variant, str) else None
    if found is None:
        raise NotFound("That image has no such thumbnail.")
    return Media(d.keys.variant(image_id, variant), "image/webp", found.size,
                 f'"{found.sha256}"', f"{record.filename.rsplit('.', 1)[0]}-{variant}.webp",
                 uploaded)


def local_path(d: Domain, media: Media) -> str | None:
    """A file holding exactly the media's bytes, on backends that have one.

    Raises:
        NotFound: the object is gone (deleted meanwhile).
    """
    try:
        return d.store.local_path(media.key)
    except ObjectNotFound:
        raise NotFound("That image is gone.") from None


def open_media(d: Domain, media: Media) -> BinaryIO:
    """A stream of the media's bytes; the caller closes it.

    Raises:
        NotFound: the object is gone (deleted meanwhile).
        StorageUnavailable: the storage did not answer.
    """
    try:
        return d.store.open(media.key)
    except ObjectNotFound:
        raise NotFound("That image is gone.") from None
