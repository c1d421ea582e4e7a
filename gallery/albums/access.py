"""Who may see, find and change an album.

The gallery's own setting is the ceiling: in a private gallery nobody who is
not signed in sees any album (only a share link opens one to them). Within
that, an album's visibility decides:

============  ===================================  ======================================
visibility    who may view it                      whose ``/albums`` lists it
============  ===================================  ======================================
public        everyone who may see the gallery     the same
unlisted      everyone with its address            its owner and admins
private       signed-in users                      signed-in users
============  ===================================  ======================================

Only its owner and admins change an album (and its links).
"""

from __future__ import annotations

from gallery.albums.model import Album
from gallery.errors import Forbidden, NotFound
from gallery.images.results import Actor


def can_view(album: Album, viewer: Actor | None, *, public_gallery: bool) -> bool:
    if viewer is not None:
        return True
    return public_gallery and album.visibility in ("public", "unlisted")


def is_listed(album: Album, viewer: Actor | None, *, public_gallery: bool) -> bool:
    if album.visibility == "unlisted":
        return can_manage(album, viewer)
    return can_view(album, viewer, public_gallery=public_gallery)


def can_manage(album: Album, actor: Actor | None) -> bool:
    return actor is not None and (actor.is_admin or actor.username == album.owner)


def require_view(album: Album, viewer: Actor | None, *, public_gallery: bool) -> None:
    """Raises: NotFound: the viewer may not see the album (it does not exist for them)."""
    if not can_view(album, viewer, public_gallery=public_gallery):
        raise NotFound("There is no such album.")


def require_manage(album: Album, actor: Actor, *, public_gallery: bool) -> None:
    """Raises:
        NotFound: the actor may not even see the album.
        Forbidden: they see it but it is not theirs to change.
    """
    require_view(album, actor, public_gallery=public_gallery)
    if not can_manage(album, actor):
        raise Forbidden("Only the album's owner, or an admin, may change it.")
