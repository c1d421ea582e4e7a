"""Albums: create, change, fill, order, list and delete them.

Each album is one JSON object, ``albums/<id>.json``, changed by
compare-and-swap (see :class:`~gallery.albums.shelf.Shelf`). Membership is the
album's own list, not derived from the images, so ``gallery reindex`` leaves it
as it is; an image deleted from the gallery is taken out of the albums that
list it (and ``gallery cleanup`` takes out any left behind).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gallery.albums import access
from gallery.albums.model import (
    MAX_ALBUM_IMAGES,
    Album,
    clean_description,
    clean_ids,
    clean_sort,
    clean_title,
    clean_visibility,
    id_of,
    moved,
)
from gallery.albums.shelf import Shelf
from gallery.audit import AuditLog
from gallery.clock import format_timestamp, is_timestamp, utcnow
from gallery.errors import BadRequest, Forbidden, GalleryError, NotFound, TooLarge
from gallery.images.record import ImageRecord
from gallery.images.results import Actor, Page
from gallery.images.service import Images
from gallery.keys import Keys, is_album_id, is_image_id, new_album_id
from gallery.storage.base import Storage

log = logging.getLogger(__name__)

MAX_LIMIT = 100
_BAD_CURSOR = "The cursor is not valid; start again without one."


@dataclass(frozen=True, slots=True)
class AlbumPage(Page):
    """One page of an album's images, in the album's order (``offset``: images before it)."""

    album: Album | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PruneReport:
    """Album members whose images are gone: ``{album id: [image ids]}``."""

    dangling: dict[str, list[str]]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.dangling.values())


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def _decode(cursor: str) -> str:
    try:
        if not isinstance(cursor, str) or len(cursor) > 200 or not cursor.isascii():
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(_BAD_CURSOR) from None


class Albums:
    """Every album over one bucket.

    Args:
        storage: the bucket.
        keys: builds the albums' keys.
        images: the gallery's images (albums list their catalog keys).
        public_gallery: whether visitors may browse without signing in.
        clock: the current time.
        audit: where changes are recorded (``None``: not recorded).
    """

    def __init__(self, storage: Storage, keys: Keys, images: Images, *, public_gallery: bool,
                 clock: Callable[[], datetime] = utcnow, audit: AuditLog | None = None) -> None:
        self.images = images
        self.public_gallery = public_gallery
        self._clock = clock
        self._audit = audit
        self.shelf: Shelf[Album] = Shelf(
            storage, keys.albums_prefix, name_of=keys.album_id_of, key_of=keys.album,
            parse=lambda value, name: Album.from_json(value, name), dump=Album.to_json)
        images.on_delete(self.forget_images)

    def _record(self, actor: Actor, action: str, target: str, **details: Any) -> None:
        if self._audit is not None:
            self._audit.record(actor.username, action, target, **details)

    # -- reading ----------------------------------------------------------------------

    def get(self, album_id: str, *, recent: bool = False) -> Album:
        """One album (``recent``: a copy checked within a few seconds will do).

        Raises:
            NotFound: unknown or malformed id.
            DocumentDamaged, StorageUnavailable.
        """
        found = self.shelf.get(album_id, recent=recent) if is_album_id(album_id) else None
        if found is None:
            raise NotFound("There is no such album.")
        return found[1]

    def exists(self, album_id: str) -> bool:
        """Whether ``album_id`` names an album.

        Raises:
            DocumentDamaged, StorageUnavailable.
        """
        return is_album_id(album_id) and self.shelf.get(album_id) is not None

    def viewable(self, album_id: str, viewer: Actor | None) -> Album:
        """The album if ``viewer`` may see it. Raises: NotFound (else)."""
        album = self.get(album_id)
        access.require_view(album, viewer, public_gallery=self.public_gallery)
        return album

    def manageable(self, album_id: str, actor: Actor) -> Album:
        """The album if ``actor`` may change it. Raises: NotFound, Forbidden."""
        album = self.get(album_id)
        access.require_manage(album, actor, public_gallery=self.public_gallery)
        return album

    def all(self) -> list[Album]:
        """Every album, newest first."""
        return sorted(self.shelf.values(), key=lambda a: a.sort_key, reverse=True)

    def listed(self, viewer: Actor | None) -> list[Album]:
        """The albums ``/albums`` shows ``viewer``, newest first."""
        return [a for a in self.all()
                if access.is_listed(a, viewer, public_gallery=self.public_gallery)]

    def managed_by(self, actor: Actor | None) -> list[Album]:
        """The albums ``actor`` may add images to (theirs; every album for an admin)."""
        return [a for a in self.all() if access.can_manage(a, actor)]

    def list_page(self, viewer: Actor | None, *, limit: int, cursor: str | None
                  ) -> tuple[list[Album], str | None]:
        """Listed albums after ``cursor``, newest first, and the cursor of the next page.

        Raises:
            BadRequest: the cursor is malformed.
        """
        limit = max(1, min(MAX_LIMIT, int(limit)))
        after = _decode(cursor) if cursor else None
        if after is not None:
            created_at, _, album_id = after.partition("|")
            if not is_timestamp(created_at) or not is_album_id(album_id):
                raise BadRequest(_BAD_CURSOR)
        albums = [a for a in self.listed(viewer) if after is None or a.sort_key < after]
        page = albums[:limit]
        more = len(albums) > limit
        return page, _encode(page[-1].sort_key) if more and page else None

    def containing(self, image_id: str, viewer: Actor | None) -> list[Album]:
        """The albums listing this image that ``viewer`` may see."""
        return [a for a in self.all() if a.has(image_id)
                and access.can_view(a, viewer, public_gallery=self.public_gallery)]

    def records(self, album: Album) -> list[ImageRecord]:
        """The album's images that still exist, in the album's order."""
        found = self.images.view().find(album.items)
        return album.ordered(found)

    def counts(self, albums: Iterable[Album]) -> dict[str, int]:
        """How many of each album's images are in the gallery now, by album id: its
        members in the trash are not counted (one look-up of the catalog for them all).

        Raises:
            DocumentDamaged: a shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        albums = list(albums)
        present = self.images.view().find(k for a in albums for k in a.items)
        return {a.id: a.count_in(present) for a in albums}

    def page(self, album: Album, number: int, per_page: int) -> AlbumPage:
        """Page ``number`` (from 1) of the album's images.

        Raises:
            NotFound: there is no such page (page 1 always exists).
        """
        per_page = max(1, min(1000, int(per_page)))
        records = self.records(album)
        pages = max(1, -(-len(records) // per_page))
        if not 1 <= number <= pages:
            raise NotFound(f"There is no page {number}; the album has {pages}.")
        start = (number - 1) * per_page
        shown = [r.public() for r in records[start:start + per_page]]
        return AlbumPage(shown, number, pages, len(records), album=album, offset=start)

    def images_after(self, album: Album, *, limit: int, cursor: str | None
                     ) -> tuple[list[ImageRecord], str | None]:
        """Up to ``limit`` of the album's images after ``cursor``, and the next cursor.

        A cursor names the last image shown and its position: the next page
        starts after that image, or at that position if it left the album.

        Raises:
            BadRequest: the cursor is malformed.
        """
        limit = max(1, min(MAX_LIMIT, int(limit)))
        records = self.records(album)
        start = 0
        if cursor:
            position, _, image_id = _decode(cursor).partition("|")
            if not position.isdigit() or not is_image_id(image_id):
                raise BadRequest(_BAD_CURSOR)
            start = next((i + 1 for i, r in enumerate(records) if r.id == image_id),
                         min(int(position), len(records)))
        page = records[start:start + limit]
        more = start + limit < len(records)
        last = start + len(page) - 1
        return page, _encode(f"{last}|{page[-1].id}") if more and page else None

    def neighbours(self, album: Album, image_id: str) -> tuple[str | None, str | None, int]:
        """The images before and after ``image_id`` in the album, and its position (from 1).

        Raises:
            NotFound: the image is not in the album.
        """
        ids = [r.id for r in self.records(album)]
        if image_id not in ids:
            raise NotFound("That image is not in this album.")
        at = ids.index(image_id)
        return (ids[at - 1] if at > 0 else None,
                ids[at + 1] if at + 1 < len(ids) else None, at + 1)

    # -- changing ---------------------------------------------------------------------

    def _now(self) -> str:
        return format_timestamp(self._clock())

    def _with_first(self, album: Album) -> Album:
        """The album with ``first`` set to the image it shows first now."""
        if not album.items:
            return replace(album, first=None)
        if album.sort == "manual":
            return replace(album, first=id_of(album.items[0]))
        if album.sort in ("uploaded_asc", "uploaded_desc"):
            pick = min if album.sort == "uploaded_asc" else max
            return replace(album, first=id_of(pick(album.items)))
        shown = self.records(album)
        return replace(album, first=shown[0].id if shown else None)

    def create(self, *, title: Any, description: Any = "", visibility: Any = "private",
               sort: Any = "manual", actor: Actor, owner: str | None = None) -> Album:
        """A new, empty album owned by ``owner`` (default: ``actor``).

        Only an admin (the command line is one) creates albums for someone else;
        the caller checks that ``owner`` is an account.

        Raises:
            BadRequest: a field is not valid.
            Forbidden: ``owner`` is someone else and the actor is not an admin.
        """
        owner = actor.username if owner is None else owner
        if owner != actor.username and not actor.is_admin:
            raise Forbidden("Only admins create albums for someone else.")
        now = self._now()
        album = Album(
            id=new_album_id(), title=clean_title(title),
            description=clean_description(description),
            visibility=clean_visibility(visibility), sort=clean_sort(sort),
            owner=owner, created_at=now, updated_at=now,
        )
        self.shelf.create(album.id, album)
        details = {} if owner == actor.username else {"owner": owner}
        self._record(actor, "album.create", album.id, title=album.title,
                     visibility=album.visibility, **details)
        return album

    def update(self, album_id: str, changes: Mapping[str, Any], *, actor: Actor) -> Album:
        """Change an album's title, description, visibility, cover or sort.

        Raises:
            NotFound, Forbidden: see :meth:`manageable`.
            BadRequest: an unknown field, or a value that is not valid (a cover
                that is not one of the album's images).
        """
        if not isinstance(changes, Mapping):
            raise BadRequest("Send a JSON object of the fields to change.")
        unknown = set(changes) - {"title", "description", "visibility", "cover", "sort"}
        if unknown:
            raise BadRequest("These fields cannot be changed: " + ", ".join(sorted(unknown))
                             + ". Change title, description, visibility, cover or sort.")
        fields: dict[str, Any] = {}
        if "title" in changes:
            fields["title"] = clean_title(changes["title"])
        if "description" in changes:
            fields["description"] = clean_description(changes["description"])
        if "visibility" in changes:
            fields["visibility"] = clean_visibility(changes["visibility"])
        if "sort" in changes:
            fields["sort"] = clean_sort(changes["sort"])
        cover = changes.get("cover")
        if "cover" in changes and cover is not None and not isinstance(cover, str):
            raise BadRequest("“cover” must be an image id of the album, or null.")
        self.manageable(album_id, actor)

        def change(album: Album) -> Album | None:
            access.require_manage(album, actor, public_gallery=self.public_gallery)
            if "cover" in changes and cover is not None and not album.has(cover):
                raise BadRequest("The cover must be one of the album's images.")
            new = dict(fields, cover=cover) if "cover" in changes else fields
            if all(getattr(album, k) == v for k, v in new.items()):
                return None
            return self._with_first(album.changed(self._clock(), **new))

        album = self.shelf.update(album_id, change)
        if album is None:
            raise NotFound("There is no such album.")
        self._record(actor, "album.update", album_id, fields=sorted(changes))
        return album

    def change_images(self, album_id: str, *, actor: Actor, add: Any = None,
                      remove: Any = None, move: Any = None, before: Any = None) -> Album:
        """Add images (at the end, in the order given), remove images, and move images
        (to just before image ``before``, or to the end).

        Raises:
            NotFound: the album, or an image to add, is unknown.
            Forbidden: the album is not the actor's to change.
            BadRequest: the lists are malformed.
            TooLarge: more than :data:`~gallery.albums.model.MAX_IDS_PER_CALL` ids,
                or the album would hold more than :data:`MAX_ALBUM_IMAGES`.
        """
        adding = clean_ids(add, "add")
        removing = set(clean_ids(remove, "remove"))
        moving = clean_ids(move, "move")
        if before is not None and not isinstance(before, str):
            raise BadRequest("“before” must be an image id of the album, or null.")
        self.manageable(album_id, actor)
        view = self.images.view()
        keys: list[str] = []
        for image_id in adding:
            record = view.get(image_id) if is_image_id(image_id) else None
            if record is None:
                raise NotFound(f"There is no image {image_id[:40]!r}.")
            keys.append(record.key)

        def change(album: Album) -> Album | None:
            access.require_manage(album, actor, public_gallery=self.public_gallery)
            items = [k for k in album.items if id_of(k) not in removing]
            present = {id_of(k) for k in items}
            items += [k for k in keys if id_of(k) not in present]
            if len(items) > MAX_ALBUM_IMAGES:
                raise TooLarge(f"An album holds at most {MAX_ALBUM_IMAGES:,} images.")
            if moving:
                items = list(moved(items, moving, before))
            if tuple(items) == album.items:
                return None
            return self._with_first(album.changed(self._clock(), items=tuple(items)))

        album = self.shelf.update(album_id, change)
        if album is None:
            raise NotFound("There is no such album.")
        for action, ids in (("album.add", adding), ("album.remove", sorted(removing)),
                            ("album.reorder", moving)):
            if ids:
                self._record(actor, action, album_id, count=len(ids), ids=ids[:100])
        return album

    def delete(self, album_id: str, *, actor: Actor) -> Album:
        """Delete an album (its images stay). Returns the album as it was.

        Raises: NotFound, Forbidden.
        """
        album = self.manageable(album_id, actor)
        self.shelf.delete(album_id)
        self._record(actor, "album.delete", album_id, title=album.title)
        return album

    def forget_images(self, image_ids: Iterable[str]) -> None:
        """Take deleted images out of every album that lists them.

        Called once images are deleted; a failure is logged, and ``gallery
        cleanup`` finishes the job.
        """
        gone = set(image_ids)
        if not gone:
            return
        try:
            for album in self.all():
                if gone.isdisjoint(album.image_ids):
                    continue
                self.shelf.update(album.id, lambda a: self._without(a, gone))
        except GalleryError as err:
            log.warning("deleted images are still listed in an album: %s", err.message)

    def _without(self, album: Album, gone: set[str]) -> Album | None:
        items = tuple(k for k in album.items if id_of(k) not in gone)
        if items == album.items:
            return None
        cover = None if album.cover in gone else album.cover
        return self._with_first(album.changed(self._clock(), items=items, cover=cover))

    def prune(self, *, dry_run: bool, uploaded_before: str | None = None) -> PruneReport:
        """Find (and unless ``dry_run``, remove) members whose images are gone (images in
        the trash are not gone: they keep their place in their albums).

        Args:
            uploaded_before: a timestamp; members whose image was uploaded at or after it
                (the time in the member's key) are left alone, since another instance may
                have just uploaded that image and added it while the catalog was read here.

        Raises:
            DocumentDamaged: an album (or the catalog) cannot be read.
            Conflict, StorageUnavailable.
        """
        view = self.images.view()
        in_trash = self.images.trash_ids()  # members in the trash come back with a restore
        dangling: dict[str, list[str]] = {}
        for album in self.all():
            found = view.find(album.items)
            missing = [id_of(k) for k in album.items if id_of(k) not in found
                       and id_of(k) not in in_trash
                       and (uploaded_before is None or k.partition("|")[0] < uploaded_before)]
            if missing:
                dangling[album.id] = missing
        if not dry_run:
            for album_id, missing in dangling.items():
                self.shelf.update(album_id, lambda a, m=set(missing): self._without(a, m))
        return PruneReport(dangling)
