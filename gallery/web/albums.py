"""Album pages: the list of albums, one album's grid, and every form that changes albums.

Each change is a form POST with the page's CSRF token that works without
JavaScript (it answers with a redirect and a notice); ``static/albums.js``
sends the same forms with ``Accept: application/json`` and gets JSON back.
Who may see and change what is the domain's business (:mod:`gallery.albums.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required

from gallery.albums import access
from gallery.albums.download import archive_name, iter_album_zip
from gallery.albums.model import (
    MAX_ALBUM_DESCRIPTION,
    MAX_ALBUM_TITLE,
    SORT_LABELS,
    VISIBILITY_LABELS,
    Album,
    clean_ids,
    id_of,
)
from gallery.errors import BadRequest, NotFound
from gallery.images.results import Actor
from gallery.web.context import actor, require_actor, runtime, safe_next
from gallery.web.errors import wants_json
from gallery.web.meta import album_card
from gallery.web.params import json_body, whole_number

bp = Blueprint("albums", __name__)

#: How each visibility is named on badges (the form shows :data:`VISIBILITY_LABELS`).
VISIBILITY_NAMES = {name: label.partition(":")[0] for name, label in VISIBILITY_LABELS.items()}
#: Ways the select mode moves images in a custom order (besides ``before``/``after``).
DIRECTIONS = ("earlier", "later", "first", "last")
#: Fields the album form sends.
_TEXT_FIELDS = ("title", "description", "visibility", "sort")


# --- what templates show -------------------------------------------------------------------


def plural(n: int, word: str) -> str:
    """``1 image``, ``3 images``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _day(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp[:10])


def date_range(album: Album) -> dict[str, str] | None:
    """When the album's images were uploaded, as dates people read (``3 – 9 Jan 2026``),
    with the ISO dates for ``<time>``; ``None`` for an empty album."""
    found = album.uploaded_range
    if found is None:
        return None
    first, last = _day(found[0]), _day(found[1])

    def full(d: datetime) -> str:
        return f"{d.day} {d:%b %Y}"

    if first == last:
        text = full(first)
    elif (first.year, first.month) == (last.year, last.month):
        text = f"{first.day} – {full(last)}"
    elif first.year == last.year:
        text = f"{first.day} {first:%b} – {full(last)}"
    else:
        text = f"{full(first)} – {full(last)}"
    return {"start": found[0][:10], "end": found[1][:10], "text": text}


def cover_images(albums: list[Album]) -> dict[str, dict[str, Any]]:
    """The cover image (public dict) of each album that has one, by album id: one catalog look-up.

    Raises:
        DocumentDamaged, StorageUnavailable: the catalog cannot be read.
    """
    wanted: dict[str, str] = {}
    for album in albums:
        cover = album.cover_id
        if cover is not None:
            wanted[album.id] = next(k for k in album.items if id_of(k) == cover)
    if not wanted:
        return {}
    found = runtime().images.view().find(wanted.values())
    return {aid: found[id_of(key)].public() for aid, key in wanted.items() if id_of(key) in found}


@dataclass(frozen=True, slots=True)
class ImageAlbums:
    """The albums an image page shows: those holding the image (and whether the
    visitor may take it out of each), and those the visitor may add it to."""

    holding: list[tuple[Album, bool]]
    addable: list[Album]


@bp.app_template_global()
def albums_of_image(image_id: str) -> ImageAlbums:
    """The albums listing ``image_id`` that the visitor may find, and those they may add it to.

    An unlisted album is named only to those who manage it: its address is its secret.
    """
    rt = runtime()
    who = actor()
    every = rt.albums.all()
    holding = [(a, access.can_manage(a, who)) for a in every
               if a.has(image_id) and access.is_listed(a, who, public_gallery=rt.public)]
    addable = [a for a in every if access.can_manage(a, who) and not a.has(image_id)]
    return ImageAlbums(holding, addable)


@bp.app_template_global()
def albums_for_adding() -> list[Album]:
    """The albums the signed-in user may add images to (none for visitors)."""
    who = actor()
    return runtime().albums.managed_by(who) if who else []


for _name, _helper in (("album_dates", date_range), ("plural", plural)):
    bp.add_app_template_global(_helper, _name)
bp.add_app_template_global(VISIBILITY_NAMES, "visibility_names")


# --- small helpers --------------------------------------------------------------------------


def _back(default: str) -> str:
    """Where a form asked to go back to (a path on this site), else ``default``."""
    return safe_next(request.values.get("back"), default)


def _state(album: Album) -> dict[str, Any]:
    """What the album page's script needs to know of an album after a change."""
    return {
        "id": album.id, "title": album.title, "description": album.description,
        "visibility": album.visibility, "visibility_name": VISIBILITY_NAMES[album.visibility],
        "sort": album.sort, "cover": album.cover, "cover_id": album.cover_id,
        "image_count": album.count, "url": url_for("albums.album", album_id=album.id),
    }


def _done(message: str, back: str, body: dict[str, Any]) -> Response:
    """JSON for the page's script (and any JSON request), else a notice on the page the
    form came from."""
    if wants_json() or request.is_json:
        return jsonify(message=message, **body)
    flash(message, "info")
    return redirect(back)


# --- the list of albums ---------------------------------------------------------------------


def _index_page(values: dict[str, str] | None = None, error: str | None = None,
                status: int = 200, og: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime()
    who = actor()
    albums = rt.albums.listed(who)
    return render_template(
        "albums/index.html", albums=albums, covers=cover_images(albums),
        counts=runtime().albums.counts(albums),
        managed={a.id for a in albums if access.can_manage(a, who)},
        values=values or {"visibility": "private", "sort": "manual"}, error=error,
        sort_labels=SORT_LABELS, visibility_labels=VISIBILITY_LABELS,
        max_title=MAX_ALBUM_TITLE, max_description=MAX_ALBUM_DESCRIPTION, og=og,
    ), status


@bp.get("/albums")
def index():
    """The albums the visitor may find, newest first, and the "New album" form."""
    return _index_page()


@bp.post("/albums")
def create():
    """Make an album from the "New album" form, then show it.

    Raises:
        NotSignedIn: nobody is signed in.
    """
    who = require_actor()
    values = {name: request.form.get(name, "") for name in _TEXT_FIELDS}
    try:
        album = runtime().albums.create(
            title=values["title"], description=values["description"],
            visibility=values["visibility"] or "private", sort=values["sort"] or "manual",
            actor=who)
    except BadRequest as err:
        if wants_json():
            raise
        return _index_page(values, err.message, err.status)
    if wants_json():
        return jsonify(_state(album)), 201
    flash(f"Created the album “{album.title}”.", "info")
    return redirect(url_for("albums.album", album_id=album.id))


# --- one album ------------------------------------------------------------------------------


def _album_page(album: Album, number: int = 1, *, values: dict[str, str] | None = None,
                error: str | None = None, status: int = 200,
                canonical: str | None = None) -> tuple[str, int]:
    rt = runtime()
    who = actor()
    page = rt.albums.page(album, number, rt.settings["page_size"])
    manager = access.can_manage(album, who)
    cover = cover_images([album]).get(album.id)
    return render_template(
        "albums/album.html", album=album, page=page, manager=manager,
        selecting=manager and request.args.get("select") == "1",
        cover=cover, og=album_card(album, cover), feed_album=album, canonical=canonical,
        values=values or {"title": album.title, "description": album.description,
                          "visibility": album.visibility, "sort": album.sort},
        error=error, sort_labels=SORT_LABELS, visibility_labels=VISIBILITY_LABELS,
        max_title=MAX_ALBUM_TITLE, max_description=MAX_ALBUM_DESCRIPTION,
    ), status


@bp.get("/albums/<album_id>")
def album(album_id: str):
    """One album's grid, a page at a time.

    Raises:
        NotFound: unknown, not for this visitor, or no such page.
        BadRequest: ``?page`` is not a whole number.
    """
    found = runtime().albums.viewable(album_id, actor())
    number = whole_number(request.args, "page", 1, 1, 10**9, "The page number")
    return _album_page(found, number)


@bp.post("/albums/<album_id>/edit")
def edit(album_id: str):
    """Save what the album form sends: title, description, visibility, sort (each optional).

    Raises:
        NotSignedIn, NotFound, Forbidden.
        BadRequest: nothing to change (a refused value re-shows the form with the message).
    """
    who = require_actor()
    rt = runtime()
    changes: dict[str, Any] = {k: request.form[k] for k in _TEXT_FIELDS if k in request.form}
    if not changes:
        raise BadRequest("Send the title, description, visibility or sort to change.")
    try:
        album = rt.albums.update(album_id, changes, actor=who)
    except BadRequest as err:
        if wants_json():
            raise
        found = rt.albums.manageable(album_id, who)
        values = {"title": found.title, "description": found.description,
                  "visibility": found.visibility, "sort": found.sort, **changes}
        return _album_page(found, values=values, error=err.message, status=err.status)
    return _done("Saved.", url_for("albums.album", album_id=album_id), {"album": _state(album)})


@bp.post("/albums/<album_id>/cover")
def cover(album_id: str):
    """Make one of the album's images its cover: ``cover`` (empty: its first image again),
    or the one image ticked in select mode (``ids``).

    Raises:
        NotSignedIn, NotFound, Forbidden.
        BadRequest: not exactly one image, or one that is not in the album.
    """
    who = require_actor()
    if "cover" in request.form:
        chosen: str | None = request.form["cover"] or None
    else:
        ids = clean_ids(request.form.getlist("ids"))
        if len(ids) != 1:
            raise BadRequest("Select exactly one image to make it the cover.")
        chosen = ids[0]
    album = runtime().albums.update(album_id, {"cover": chosen}, actor=who)
    message = "The cover is the album's first image again." if chosen is None else "Cover changed."
    back = _back(url_for("albums.album", album_id=album_id))
    return _done(message, back, {"album": _state(album)})


@bp.post("/albums/images")
def change_images():
    """Add images to an album (``action=add``) or take them out (``action=remove``):
    the form of the gallery's select mode, the album page, the image page and the admin
    table (fields ``album``, ``action``, ``ids``, ``back``), or the same as a JSON object.

    Raises:
        NotSignedIn; NotFound: the album, or an image to add, is unknown; Forbidden;
        BadRequest: no album or no image chosen; TooLarge: more than 1000 images at once.
    """
    who = require_actor()
    if request.is_json:
        body = json_body()
        if not isinstance(body, dict):
            raise BadRequest('Send a JSON object such as {"album": id, "action": "add", "ids": [id]}.')
        album_id, action, ids = body.get("album"), body.get("action", "add"), body.get("ids")
    else:
        album_id = request.form.get("album")
        action = request.form.get("action", "add")
        ids = request.form.getlist("ids")
    if not album_id or not isinstance(album_id, str):
        raise BadRequest("Choose an album first.")
    if action not in ("add", "remove"):
        raise BadRequest("The action must be “add” or “remove”.")
    if not ids:
        raise BadRequest("Select at least one image first.")
    album, message = change_album(album_id, who, action, ids)
    back = _back(url_for("albums.album", album_id=album_id))
    return _done(message, back, {"album": _state(album)})


def change_album(album_id: str, who: Actor, action: str, ids: Any) -> tuple[Album, str]:
    """Add (``action="add"``) or remove images; the album after, and what to tell the user.

    Raises:
        NotFound, Forbidden, BadRequest, TooLarge: as :meth:`Albums.change_images`.
    """
    albums = runtime().albums
    before = albums.manageable(album_id, who)
    if action == "add":
        after = albums.change_images(album_id, actor=who, add=ids)
        wanted = clean_ids(ids)
        already = sum(1 for i in wanted if before.has(i))
        added = sum(1 for i in wanted if after.has(i) and not before.has(i))
        message = f"Added {plural(added, 'image')} to “{after.title}”."
        if already:
            message += f" {plural(already, 'image')} {'was' if already == 1 else 'were'} in it already."
        return after, message
    after = albums.change_images(album_id, actor=who, remove=ids)
    removed = sum(1 for i in clean_ids(ids) if before.has(i) and not after.has(i))
    message = f"Removed {plural(removed, 'image')} from “{after.title}”; they stay in the gallery."
    return after, message


def _target(moving: list[str], order: list[str], *, direction: str | None,
            before: str | None, after: str | None) -> str | None:
    """The image the moved ones go just before (``None``: the end), from a direction
    (``earlier``, ``later``, ``first``, ``last``) or a neighbour (``before``/``after``)."""
    chosen = set(moving)
    rest = [i for i in order if i not in chosen]
    if direction is None:
        if after is not None:
            at = rest.index(after) + 1
            return rest[at] if at < len(rest) else None
        return before
    positions = [n for n, i in enumerate(order) if i in chosen]
    if direction == "first" or (direction == "earlier" and not positions):
        return rest[0] if rest else None
    if direction == "earlier":
        prior = [i for i in order[:positions[0]] if i not in chosen]
        return prior[-1] if prior else (rest[0] if rest else None)
    if direction == "later" and positions:
        following = [i for i in order[positions[-1] + 1:] if i not in chosen]
        if following:
            at = rest.index(following[0]) + 1
            return rest[at] if at < len(rest) else None
    return None


@bp.post("/albums/<album_id>/order")
def order(album_id: str):
    """Move images within an album's custom order.

    JSON ``{"move": [ids], "before": id or null}`` (or ``"after": id``, or
    ``"direction": "earlier" | "later" | "first" | "last"``) with ``X-CSRFToken``;
    or the select mode's form (``ids`` and ``direction``). Answers JSON
    ``{"ids": [...]}`` (the album's new order), or goes back to the album.

    Raises:
        NotSignedIn, NotFound (the album, or an image not in it), Forbidden;
        BadRequest: the album is not in custom order, or the request is malformed;
        TooLarge: more than 1000 images at once.
    """
    who = require_actor()
    if request.is_json:
        body = json_body()
        if not isinstance(body, dict):
            raise BadRequest('Send a JSON object such as {"move": [id], "before": id}.')
        move, direction = body.get("move"), body.get("direction")
        before, after = body.get("before"), body.get("after")
    else:
        move, direction = request.form.getlist("ids"), request.form.get("direction")
        before, after = request.form.get("before") or None, request.form.get("after") or None
    moving = clean_ids(move, "move")
    if not moving:
        raise BadRequest("Select the images to move first.")
    if direction is not None and direction not in DIRECTIONS:
        raise BadRequest("“direction” must be “earlier”, “later”, “first” or “last”.")
    for name, value in (("before", before), ("after", after)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"“{name}” must be an image id of the album, or null.")
    albums = runtime().albums
    album = albums.manageable(album_id, who)
    if album.sort != "manual":
        raise BadRequest(f"The album is sorted by “{SORT_LABELS[album.sort]}”; choose "
                         f"“{SORT_LABELS['manual']}” to arrange its images by hand.")
    order_now = album.image_ids
    if any(not album.has(i) for i in moving):
        raise NotFound("That image is not in this album.")
    for neighbour in (before, after):
        if neighbour is not None and (not album.has(neighbour) or neighbour in moving):
            raise BadRequest("Move images next to another image of the album.")
    target = _target(moving, order_now, direction=direction, before=before, after=after)
    updated = albums.change_images(album_id, actor=who, move=moving, before=target)
    back = url_for("albums.album", album_id=album_id, select="1")
    return _done(f"Moved {plural(len(moving), 'image')}.", _back(back),
                 {"ids": updated.image_ids, "album": _state(updated)})


@bp.route("/albums/<album_id>/delete", methods=["GET", "POST"])
@login_required
def delete(album_id: str):
    """Ask, then delete the album (its images stay in the gallery).

    Raises:
        NotFound, Forbidden: see :meth:`Albums.manageable`.
    """
    who = require_actor()
    rt = runtime()
    found = rt.albums.manageable(album_id, who)
    if request.method == "POST":
        rt.links.revoke_album(album_id, actor=who)
        rt.albums.delete(album_id, actor=who)
        return _done(f"Deleted the album “{found.title}”; its images stay in the gallery.",
                     url_for("albums.index"), {"deleted": album_id})
    return render_template("albums/delete.html", album=found,
                           cover=cover_images([found]).get(found.id))


@bp.get("/albums/<album_id>/download")
def download(album_id: str):
    """The album's originals as one zip, streamed as it is made (its owner and admins)."""
    rt = runtime()
    found = rt.albums.manageable(album_id, require_actor())
    chunks = iter_album_zip(rt.storage, rt.keys, rt.albums.records(found))
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{archive_name(found.title)}"'
    return response
