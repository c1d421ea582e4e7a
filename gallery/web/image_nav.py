"""The steps of an image's page: the previous and next images, and the way back.

The order is the gallery's (newest first), or an album's when the page was reached
from one: ``?album=<id>``, or a way back that is an album's page. The way back is the
page the visitor came from, given as ``?from=<path>`` (or, without it, the ``Referer``
of a page of this site): only a path on this site is ever linked to. Both parameters
travel along the previous and next links, so stepping keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import request, url_for

from gallery.albums.model import Album
from gallery.errors import NotFound
from gallery.images.record import sort_key
from gallery.web.context import actor, runtime, safe_next

#: The longest ``from`` path followed (a longer one is dropped, not an error).
MAX_FROM = 2000


@dataclass(frozen=True, slots=True)
class Steps:
    """What the image page's navigation shows."""

    previous: str | None  #: the URL of the image before, ``None`` at the start
    next: str | None  #: the URL of the image after, ``None`` at the end
    position: int  #: from 1
    total: int
    back: str  #: where "back" leads: a path on this site
    back_text: str  #: what that link says
    album: Album | None  #: the album stepped through, ``None`` for the gallery


def came_from() -> str | None:
    """The page this one was reached from, as a path on this site, or ``None``.

    ``?from=`` when it names a path here; else the ``Referer`` when it is this site
    and not an image page itself (stepping from image to image keeps ``from``).
    """
    given = request.args.get("from")
    if given:
        path = safe_next(given[:MAX_FROM + 1], "")
        return path if path and len(path) <= MAX_FROM else None
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or parts.scheme not in ("http", "https"):
        return None
    if _local(parts.path).startswith("/images/"):
        return None
    path = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), "")
    return path if path and len(path) <= MAX_FROM else None


def _local(path: str) -> str:
    """``path`` without the query and without the app's root (``/albums/x`` under ``/g``)."""
    here = urlsplit(path).path
    root = request.script_root
    return here[len(root):] if root and here.startswith(root) else here


def _album_of(image_id: str, back: str | None) -> Album | None:
    """The album named by ``?album=``, else the one whose page ``back`` is, if the visitor
    may see it and it holds the image.

    Anything else (unknown, hidden from the visitor, malformed) is no album: the page
    then steps through the gallery, as it does without the parameter.
    """
    album_id = request.args.get("album")
    if not album_id and back:
        parts = _local(back).split("/")
        album_id = parts[2] if len(parts) == 3 and parts[1] == "albums" else None
    if not album_id:
        return None
    try:
        album = runtime().albums.viewable(album_id, actor())
    except NotFound:
        return None
    return album if album.has(image_id) else None


def steps(image: dict[str, Any]) -> Steps:
    """The navigation of ``image``'s page (see the module's description).

    Raises:
        NotFound: the image left the gallery meanwhile.
        DocumentDamaged, StorageUnavailable: the catalog or an album cannot be read.
    """
    rt = runtime()
    image_id = image["id"]
    back = came_from()
    album = _album_of(image_id, back)
    carried: dict[str, str] = {}
    if album is not None and request.args.get("album"):
        carried["album"] = album.id
    if back:
        carried["from"] = back

    def link(other: str | None) -> str | None:
        return url_for("pages.image", image_id=other, **carried) if other else None

    if album is not None:
        before, after, position = rt.albums.neighbours(album, image_id)
        total = len(rt.albums.records(album))
        text = _back_text(back) if back else album.title
        if back is None:
            page = (position - 1) // rt.settings["page_size"] + 1
            back = url_for("albums.album", album_id=album.id, **({"page": page} if page > 1 else {}))
        return Steps(link(before), link(after), position, total, back, text, album)
    around = rt.images.view().neighbours(sort_key(image["created_at"], image_id))
    if back is None:
        page = (around.position - 1) // rt.settings["page_size"] + 1
        back = url_for("pages.index", **({"page": page} if page > 1 else {}))
    return Steps(link(around.newer.id if around.newer else None),
                 link(around.older.id if around.older else None),
                 around.position, around.total, back, _back_text(back), None)


def _back_text(path: str) -> str:
    """What the way back is called: the gallery, a tag, an album, or a plain "Back"."""
    where = urlsplit(path)
    here = _local(path)
    if here == "/":
        asked = parse_qs(where.query)
        return "Search results" if asked.get("q") or asked.get("tag") else "Gallery"
    if here.startswith("/tags/"):
        return f"Tagged “{unquote(here[len('/tags/'):])}”"
    if here == "/albums":
        return "Albums"
    if here.startswith("/albums/"):
        try:
            return runtime().albums.viewable(here.split("/")[2], actor()).title
        except NotFound:
            return "Back"
    return "Back"
