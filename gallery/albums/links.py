"""Share links: an unguessable address that opens one album to whoever holds it.

Each link is one object, ``links/<id>.json``, where ``id`` is a hash of the
token in its address: a visitor's token is hashed to find the link, so a link's
id (shown in lists and the API) tells nothing of its token. A link is never
changed except to be revoked; how often it was opened is kept beside it, in
``links/<id>.usage.json``, written best effort.

Every request under a link reads the link again once a few seconds have passed
(:data:`~gallery.albums.shelf.RECHECK_SECONDS`), so a revoke or an expiry
closes it on every instance within seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from gallery.accounts import DEFAULT_PASSWORD_METHOD
from gallery.albums.model import (
    MAX_LINK_LABEL,
    MAX_LINK_PASSWORD,
    Album,
    ShareLink,
    Usage,
    link_id_of,
    new_token,
    parse_expiry,
)
from gallery.albums.service import Albums
from gallery.albums.shelf import Shelf
from gallery.audit import AuditLog
from gallery.clock import format_timestamp, parse_timestamp, utcnow
from gallery.documents import JsonDocument
from gallery.errors import BadRequest, GalleryError, Gone, NotFound
from gallery.images.results import Actor
from gallery.keys import Keys, is_link_id
from gallery.storage.base import Storage
from gallery.throttle import LoginThrottle

log = logging.getLogger(__name__)

#: Revoked and expired links are kept this long (they answer "closed"), then cleanup
#: removes them.
KEEP_CLOSED = timedelta(days=30)
#: What the throttle counts wrong link passwords under (no username looks like this).
THROTTLE_PREFIX = "(link) "


@dataclass(frozen=True, slots=True)
class Opened:
    """A link that opens, and its album."""

    link: ShareLink
    album: Album


class Links:
    """Every share link over one bucket.

    Args:
        storage: the bucket.
        keys: builds the links' keys.
        albums: the albums links open.
        throttle: counts wrong passwords (as wrong sign-ins are counted).
        clock: the current time.
        audit: where changes are recorded.
        password_method: how passwords are hashed (Werkzeug's; as accounts).
    """

    def __init__(self, storage: Storage, keys: Keys, albums: Albums, *,
                 throttle: LoginThrottle | None = None, clock: Callable[[], datetime] = utcnow,
                 audit: AuditLog | None = None,
                 password_method: str = DEFAULT_PASSWORD_METHOD) -> None:
        self.storage = storage
        self.keys = keys
        self.albums = albums
        self.throttle = throttle
        self._clock = clock
        self._audit = audit
        self._password_method = password_method
        self.shelf: Shelf[ShareLink] = Shelf(
            storage, keys.links_prefix, name_of=keys.link_id_of, key_of=keys.link,
            parse=lambda value, name: ShareLink.from_json(value, name), dump=ShareLink.to_json)

    def now(self) -> datetime:
        return self._clock()

    # -- making and ending links ------------------------------------------------------

    def create(self, album_id: str, *, actor: Actor, password: Any = None,
               expires_at: Any = None, allow_download: Any = False, show_details: Any = False,
               label: Any = "") -> ShareLink:
        """A new link to an album the actor manages.

        Raises:
            NotFound, Forbidden: the album is unknown, or not the actor's.
            BadRequest: a field is not valid (an expiry in the past...).
        """
        if password is not None and not isinstance(password, str):
            raise BadRequest("The password must be text.")
        if password is not None and len(password) > MAX_LINK_PASSWORD:
            raise BadRequest(f"The password is longer than {MAX_LINK_PASSWORD} characters.")
        for name, flag in (("allow_download", allow_download), ("show_details", show_details)):
            if not isinstance(flag, bool):
                raise BadRequest(f"“{name}” must be true or false.")
        if label is None:
            label = ""
        if not isinstance(label, str) or len(label.strip()) > MAX_LINK_LABEL:
            raise BadRequest(f"The label must be text of at most {MAX_LINK_LABEL} characters.")
        now = self._clock()
        expiry = parse_expiry(expires_at, now)
        album = self.albums.manageable(album_id, actor)
        token = new_token()
        link_id = link_id_of(token)
        assert link_id is not None
        link = ShareLink(
            id=link_id, token=token, album=album.id, created_by=actor.username,
            created_at=format_timestamp(now), label=" ".join(label.split()),
            password_hash=(generate_password_hash(password, method=self._password_method)
                           if password else None),
            expires_at=expiry, allow_download=allow_download, show_details=show_details,
        )
        self.shelf.create(link.id, link)
        if self._audit is not None:
            self._audit.record(actor.username, "link.create", link.id, album=album.id,
                               password=link.has_password, expires_at=expiry,
                               allow_download=allow_download, show_details=show_details)
        return link

    def revoke(self, link_id: str, *, actor: Actor) -> ShareLink:
        """Close a link for good (it answers "revoked" from then on, everywhere).

        Raises:
            NotFound: unknown link, or its album is not one the actor may see.
            Forbidden: the album is not the actor's.
        """
        link = self.get(link_id)
        try:
            self.albums.manageable(link.album, actor)
        except NotFound:
            if not actor.is_admin:  # the album is gone: only admins tidy its links
                raise NotFound("There is no such link.") from None
        stamp = format_timestamp(self._clock())

        def change(current: ShareLink) -> ShareLink | None:
            if current.revoked_at is not None:
                return None
            return replace(current, revoked_at=stamp, revoked_by=actor.username)

        revoked = self.shelf.update(link_id, change)
        if revoked is None:
            raise NotFound("There is no such link.")
        if self._audit is not None and revoked.revoked_at == stamp:
            self._audit.record(actor.username, "link.revoke", link_id, album=link.album)
        return revoked

    def revoke_album(self, album_id: str, *, actor: Actor) -> int:
        """Revoke every open link of an album (it is being deleted)."""
        closed = 0
        for link in self.for_album(album_id):
            if link.revoked_at is None:
                try:
                    self.revoke(link.id, actor=actor)
                    closed += 1
                except GalleryError as err:
                    log.warning("could not revoke link %s: %s", link.id, err.message)
        return closed

    # -- reading ------------------------------------------------------------------------

    def get(self, link_id: str) -> ShareLink:
        """Raises: NotFound: unknown or malformed id."""
        found = self.shelf.get(link_id) if is_link_id(link_id) else None
        if found is None:
            raise NotFound("There is no such link.")
        return found[1]

    def all(self) -> list[ShareLink]:
        """Every link, newest first."""
        return sorted(self.shelf.values(), key=lambda k: (k.created_at, k.id), reverse=True)

    def for_album(self, album_id: str) -> list[ShareLink]:
        return [k for k in self.all() if k.album == album_id]

    def managed(self, album_id: str, actor: Actor) -> list[ShareLink]:
        """The links of an album the actor manages. Raises: NotFound, Forbidden."""
        self.albums.manageable(album_id, actor)
        return self.for_album(album_id)

    def open(self, token: str) -> Opened:
        """The link a token opens, and its album, as of a few seconds ago at most.

        Raises:
            NotFound: no link has this token.
            Gone: the link was revoked, has expired, or its album was deleted.
            DocumentDamaged, StorageUnavailable.
        """
        link_id = link_id_of(token)
        found = self.shelf.get(link_id, recent=True) if link_id else None
        if found is None or found[1].token != token:
            raise NotFound("There is no such link.")
        link = found[1]
        why = link.closed(self._clock())
        if why is not None:
            raise Gone(f"This link was {why}. Ask whoever shared it for a new one.")
        try:
            album = self.albums.get(link.album, recent=True)
        except NotFound:
            raise Gone("The album this link opened was deleted.") from None
        return Opened(link, album)

    # -- passwords --------------------------------------------------------------------

    def check_password(self, link: ShareLink, password: str, address: str | None) -> bool:
        """Whether ``password`` opens the link; wrong guesses are throttled as sign-ins are.

        Raises:
            TooManyAttempts: too many wrong passwords for this link lately.
        """
        if link.password_hash is None:
            return True
        attempt = (self.throttle.reserve(THROTTLE_PREFIX + link.id, address)
                   if self.throttle is not None else None)
        if not isinstance(password, str) or len(password) > MAX_LINK_PASSWORD:
            return False
        if not check_password_hash(link.password_hash, password):
            return False
        if attempt is not None and self.throttle is not None:
            self.throttle.succeeded(attempt)
        return True

    # -- how it is used -------------------------------------------------------------------

    def _usage_doc(self, link_id: str) -> JsonDocument[Usage]:
        return JsonDocument(self.storage, self.keys.link_usage(link_id), empty=Usage,
                            check=Usage.from_json, max_attempts=10)

    def usage(self, link_id: str) -> Usage:
        try:
            return self._usage_doc(link_id).load().value
        except GalleryError:
            return Usage()

    def usages(self, links: list[ShareLink]) -> dict[str, Usage]:
        """The usage of each link (unknown usage is shown as none)."""
        from gallery.images.store import read_many

        found = read_many(self.usage, [k.id for k in links])
        return {k.id: found.get(k.id) or Usage() for k in links}

    def note_view(self, link: ShareLink) -> None:
        """Count one opening of the link's page (best effort: never fails the page)."""
        stamp = format_timestamp(self._clock())
        raw_doc = JsonDocument(self.storage, self.keys.link_usage(link.id), empty=dict,
                               check=_usage_dict, max_attempts=10)

        def count(value: dict[str, Any]) -> None:
            value["views"] = int(value.get("views", 0)) + 1
            value["last_used_at"] = stamp

        try:
            raw_doc.update(count)
        except GalleryError as err:
            log.info("the use of link %s was not counted: %s", link.id, err.message)

    # -- maintenance ----------------------------------------------------------------------

    def stale(self, now: datetime | None = None) -> list[ShareLink]:
        """Links cleanup removes: closed for :data:`KEEP_CLOSED`, or whose album is gone."""
        now = now or self._clock()
        albums = {a.id for a in self.albums.all()}
        out = []
        for link in self.all():
            closed_at = link.revoked_at or (link.expires_at if link.expired(now) else None)
            if link.album not in albums or (
                    closed_at is not None and parse_timestamp(closed_at) + KEEP_CLOSED <= now):
                out.append(link)
        return out

    def remove(self, link: ShareLink) -> None:
        """Delete a link and its usage for good."""
        self.shelf.delete(link.id)
        self.storage.delete(self.keys.link_usage(link.id), missing_ok=True)


def _usage_dict(value: Any) -> dict[str, Any]:
    Usage.from_json(value)
    return value


def link_json(link: ShareLink, url: str, usage: Usage | None = None) -> dict[str, Any]:
    """A link as the API shows it (never its password hash)."""
    body = {
        "id": link.id, "url": url, "album": link.album, "label": link.label,
        "expires_at": link.expires_at, "allow_download": link.allow_download,
        "show_details": link.show_details, "has_password": link.has_password,
        "created_by": link.created_by, "created_at": link.created_at,
        "revoked_at": link.revoked_at,
    }
    if usage is not None:
        body["views"] = usage.views
        body["last_used_at"] = usage.last_used_at
    return body

