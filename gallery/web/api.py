"""The JSON API under ``/api/v1``: session cookie with ``X-CSRFToken``, or a Bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from gallery.albums.links import link_json
from gallery.albums.model import Album, ShareLink, Usage, clean_ids
from gallery.errors import BadRequest, NotFound
from gallery.images.results import Actor
from gallery.images.search import parse_search
from gallery.web.context import actor, require_actor, require_admin, runtime
from gallery.web.params import MAX_JSON_BYTES, json_body, whole_number
from gallery.web.upload import accept, asked_time, batch_fields
from gallery.web.views import albums_json, camera_scope, image_json, site_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/images")
def create_image() -> tuple[Response, int]:
    require_actor()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Send the image as a multipart form field named “file”.")
    if len(request.files.getlist("file")) > 1:
        raise BadRequest("Send one image per request.")
    fields = batch_fields(request.form)  # refused before the file is read
    result = accept(upload, fields, asked_time(request.form))
    body = image_json(result.image, duplicate=result.duplicate)
    response = jsonify(body)
    response.headers["Location"] = body["urls"]["page"]
    return response, 200 if result.duplicate else 201


@bp.get("/images")
def list_images() -> Response:
    rt = runtime()
    """Images newest first, or what ``q`` and ``tag`` find, by upload or taken time (``sort``).

    Raises:
        BadRequest: a bad ``limit``, ``q``, ``tag``, ``sort``, or a ``cursor`` that is
            malformed or came from another query.
    """
    rt = runtime()
    limit = whole_number(request.args, "limit", min(rt.settings["page_size"], 100), 1, 100)
    query = parse_search(request.args)
    images, cursor = rt.images.search(query, limit=limit,
                                      cursor=request.args.get("cursor") or None,
                                      cameras=camera_scope())
    return jsonify(images=[image_json(i) for i in images], next_cursor=cursor)


@bp.get("/images/<image_id>")
def get_image(image_id: str) -> Response:
    return jsonify(image_json(runtime().images.get(image_id)))


@bp.patch("/images/<image_id>")
def update_image(image_id: str) -> Response:
    who = require_actor()
    changes = json_body()
    if not isinstance(changes, dict):
        raise BadRequest("Send a JSON object, e.g. {\"title\": \"...\"}.")
    return jsonify(image_json(runtime().images.update(image_id, changes, actor=who)))


@bp.delete("/images/<image_id>")
def delete_image(image_id: str) -> tuple[str, int]:
    """Delete an image: to the trash (while ``GALLERY_TRASH_DAYS`` is above 0), else for good.

    ``?undo=1`` (the image page's dialog, signed in by its session cookie): the next
    page shows "Moved to the trash" with its Undo, as after the confirmation page.
    """
    who = require_actor()
    images = runtime().images
    record = images.get(image_id) if images.trash_days else None
    images.delete(image_id, actor=who)
    if record is not None and request.args.get("undo") == "1" \
            and "Authorization" not in request.headers:
        from gallery.web.trash import offer_undo

        offer_undo([record])
    return "", 204


# --- the trash ---------------------------------------------------------------------------------


def _trash_json(entry: dict[str, Any]) -> dict[str, Any]:
    """One image of the trash as the API shows it (see the README's API section)."""
    return {"id": entry["id"], "title": entry["title"], "trashed_at": entry["trashed_at"],
            "trashed_by": entry["trashed_by"], "purge_at": entry["purge_at"],
            "bytes": entry["bytes"], "image": image_json(entry["image"]),
            "urls": {"thumbnail": site_url("trash.thumbnail", image_id=entry["id"],
                                           variant="sm") if entry["thumbnail"] else None}}


@bp.get("/trash")
def list_trash() -> Response:
    """The images in the trash the caller may restore (an admin's: everyone's), the most
    recently deleted first."""
    from gallery.web.trash import describe

    who = require_actor()
    rt = runtime()
    entries = describe(rt.images.trash(actor=who))
    return jsonify(images=[_trash_json(e) for e in entries], trash_days=rt.images.trash_days)


@bp.post("/trash/<image_id>/restore")
def restore_image(image_id: str) -> Response:
    """Put an image of the trash back where it was: ``200`` and its JSON.

    Raises:
        NotFound: it is not in the trash (or is someone else's). Conflict: the same
            picture was uploaded again meanwhile. Gone: its original is lost.
    """
    who = require_actor()
    return jsonify(image_json(runtime().images.restore(image_id, actor=who)))


@bp.delete("/trash/<image_id>")
def purge_image(image_id: str) -> tuple[str, int]:
    """Delete an image of the trash for good: ``204``. Raises: NotFound."""
    who = require_actor()
    runtime().images.purge([image_id], actor=who)
    return "", 204


# --- albums ----------------------------------------------------------------------------------

#: Fields ``POST /albums`` takes, and those ``POST /albums/<id>/links`` takes.
_NEW_ALBUM_FIELDS = ("title", "description", "visibility", "sort")
_NEW_LINK_FIELDS = ("password", "expires_at", "allow_download", "show_details", "label")
#: Fields of ``POST /albums/<id>/images``.
_MEMBER_FIELDS = ("add", "remove", "move", "before")
#: Largest body of ``POST /albums/<id>/images``: room for three lists of
#: :data:`MAX_IDS_PER_CALL` ids and more, so that too many ids get their own 413.
MAX_MEMBERS_BODY = 2 * 1024 * 1024


def _json_object(fields: tuple[str, ...], example: str, max_bytes: int = MAX_JSON_BYTES
                 ) -> dict[str, Any]:
    """The body as a JSON object holding only ``fields``.

    Raises:
        BadRequest: not JSON, not an object, or a field not in ``fields``.
    """
    body = json_body(max_bytes)
    if not isinstance(body, dict):
        raise BadRequest(f"Send a JSON object, e.g. {example}.")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequest("Unknown fields: " + ", ".join(unknown)[:200] + ". This call takes "
                         + ", ".join(fields) + ".")
    return body


def _album_response(album: Album, status: int = 200) -> tuple[Response, int]:
    return jsonify(albums_json([album], runtime().images)[0]), status


def _page_size() -> int:
    """The ``limit`` argument: 1 to 100, by default the gallery's page size (at most 100).

    Raises:
        BadRequest: anything but a whole number from 1 to 100.
    """
    default = min(runtime().settings["page_size"], 100)
    return whole_number(request.args, "limit", default, 1, 100)


@bp.post("/albums")
def create_album() -> tuple[Response, int]:
    """A new album owned by the signed-in user; ``visibility`` is ``private`` unless given.

    Raises:
        NotSignedIn: nobody is signed in.
        BadRequest: no title, an unknown field, or a value that is not valid.
    """
    who = require_actor()
    body = _json_object(_NEW_ALBUM_FIELDS, '{"title": "Summer", "visibility": "unlisted"}')
    if "title" not in body:
        raise BadRequest("Give the album a title, e.g. {\"title\": \"Summer\"}.")
    album = runtime().albums.create(
        title=body["title"], description=body.get("description", ""),
        visibility=body.get("visibility", "private"), sort=body.get("sort", "manual"),
        actor=who)
    response, status = _album_response(album, 201)
    response.headers["Location"] = site_url("api.get_album", album_id=album.id)
    return response, status


@bp.get("/albums")
def list_albums() -> Response:
    """The albums ``/albums`` lists for the visitor, newest first.

    Raises:
        BadRequest: a bad ``limit`` or ``cursor``.
    """
    albums, cursor = runtime().albums.list_page(actor(), limit=_page_size(),
                                                cursor=request.args.get("cursor") or None)
    return jsonify(albums=albums_json(albums, runtime().images), next_cursor=cursor)


@bp.get("/albums/<album_id>")
def get_album(album_id: str) -> tuple[Response, int]:
    """One album, to whoever may see it.

    Raises:
        NotFound: unknown, or not for this visitor.
    """
    return _album_response(runtime().albums.viewable(album_id, actor()))


@bp.patch("/albums/<album_id>")
def update_album(album_id: str) -> tuple[Response, int]:
    """Change the title, description, visibility, cover or sort.

    Raises:
        NotSignedIn, NotFound, Forbidden: see :meth:`Albums.manageable`.
        BadRequest: not a JSON object, an unknown field or a bad value.
    """
    who = require_actor()
    changes = json_body()
    if not isinstance(changes, dict):
        raise BadRequest("Send a JSON object of the fields to change, e.g. {\"title\": \"...\"}.")
    return _album_response(runtime().albums.update(album_id, changes, actor=who))


@bp.delete("/albums/<album_id>")
def delete_album(album_id: str) -> tuple[str, int]:
    """Delete an album and revoke its share links; its images stay in the gallery.

    Raises:
        NotSignedIn, NotFound, Forbidden: see :meth:`Albums.manageable`.
    """
    who = require_actor()
    rt = runtime()
    rt.albums.manageable(album_id, who)
    rt.links.revoke_album(album_id, actor=who)
    rt.albums.delete(album_id, actor=who)
    return "", 204


def _check_move(album: Album, body: dict[str, Any]) -> None:
    """Refuse a ``move`` that cannot be done as asked (the domain would quietly do less).

    Raises:
        BadRequest: ``before`` without ``move``; a moved image, or ``before``,
            that is not in the album once ``add`` and ``remove`` are done.
        TooLarge: too many ids.
    """
    moving = clean_ids(body.get("move"), "move")
    before = body.get("before")
    if before is not None and not isinstance(before, str):
        raise BadRequest("“before” must be an image id of the album, or null (the end).")
    if not moving:
        if before is not None:
            raise BadRequest("“before” says where the images of “move” go; send “move” too.")
        return
    removing = set(clean_ids(body.get("remove"), "remove"))
    after = {i for i in album.image_ids if i not in removing} | set(clean_ids(body.get("add"),
                                                                              "add"))
    strangers = [i for i in moving if i not in after]
    if strangers:
        raise BadRequest("Only the album's images can be moved; not in it: "
                         + ", ".join(s[:40] for s in strangers[:5])
                         + (" ..." if len(strangers) > 5 else "") + ".")
    if before is not None and (before not in after or before in moving):
        raise BadRequest("“before” must be an image of the album that is not being moved, "
                         "or null (the end).")


@bp.post("/albums/<album_id>/images")
def change_album_images(album_id: str) -> tuple[Response, int]:
    """Add, remove and reorder the album's images.

    Raises:
        NotSignedIn, Forbidden: see :meth:`Albums.manageable`.
        NotFound: the album, or an image to add, is unknown.
        BadRequest: malformed lists, or a move that cannot be done.
        TooLarge: more than ``MAX_IDS_PER_CALL`` ids in a list, or a full album.
    """
    who = require_actor()
    body = _json_object(_MEMBER_FIELDS, '{"add": ["<image id>"], "remove": []}',
                        max_bytes=MAX_MEMBERS_BODY)
    if not any(name in body for name in ("add", "remove", "move")):
        raise BadRequest("Send “add”, “remove” or “move”: lists of image ids.")
    rt = runtime()
    album = rt.albums.manageable(album_id, who)
    _check_move(album, body)
    changed = rt.albums.change_images(album_id, actor=who, add=body.get("add"),
                                      remove=body.get("remove"), move=body.get("move"),
                                      before=body.get("before"))
    return _album_response(changed)


@bp.get("/albums/<album_id>/images")
def list_album_images(album_id: str) -> Response:
    """The album's images in its order, a page at a time.

    Raises:
        NotFound: unknown album, or not for this visitor.
        BadRequest: a bad ``limit`` or ``cursor``.
    """
    rt = runtime()
    album = rt.albums.viewable(album_id, actor())
    records, cursor = rt.albums.images_after(album, limit=_page_size(),
                                             cursor=request.args.get("cursor") or None)
    return jsonify(images=[image_json(r.public()) for r in records], next_cursor=cursor)


# --- share links -----------------------------------------------------------------------------


def _link_body(link: ShareLink, usage: Usage) -> dict[str, Any]:
    """A link's JSON with its state (``open``, ``revoked`` or ``expired``)."""
    body = link_json(link, site_url("share.page", token=link.token), usage)
    body["state"] = link.closed(runtime().links.now()) or "open"
    return body


def _links_response(links: list[ShareLink]) -> Response:
    usages = runtime().links.usages(links)
    return jsonify(links=[_link_body(k, usages[k.id]) for k in links])


def _managed_link(link_id: str, who: Actor) -> ShareLink:
    """A link whose album ``who`` manages (an admin: any link, its album gone or not).

    Raises:
        NotFound: unknown link, or an album ``who`` may not see.
        Forbidden: the album is not theirs.
    """
    rt = runtime()
    link = rt.links.get(link_id)
    try:
        rt.albums.manageable(link.album, who)
    except NotFound:
        if not who.is_admin:
            raise NotFound("There is no such link.") from None
    return link


@bp.post("/albums/<album_id>/links")
def create_link(album_id: str) -> tuple[Response, int]:
    """A new share link; its ``url`` holds the token (also shown again in the lists).

    Raises:
        NotSignedIn, NotFound, Forbidden: see :meth:`Albums.manageable`.
        BadRequest: an unknown field or a bad value (an expiry in the past ...).
    """
    who = require_actor()
    body = _json_object(_NEW_LINK_FIELDS, '{"allow_download": false, "show_details": false}')
    link = runtime().links.create(
        album_id, actor=who, password=body.get("password"), expires_at=body.get("expires_at"),
        allow_download=body.get("allow_download", False),
        show_details=body.get("show_details", False), label=body.get("label", ""))
    response = jsonify(_link_body(link, Usage()))
    response.headers["Location"] = site_url("api.get_link", link_id=link.id)
    return response, 201


@bp.get("/albums/<album_id>/links")
def list_album_links(album_id: str) -> Response:
    """The album's links (revoked and expired ones too, until cleanup removes them).

    Raises:
        NotSignedIn, NotFound, Forbidden: see :meth:`Albums.manageable`.
    """
    who = require_actor()
    return _links_response(runtime().links.managed(album_id, who))


@bp.get("/links")
def list_links() -> Response:
    """Every share link of the gallery, newest first.

    Raises:
        NotSignedIn, Forbidden: not an admin.
    """
    require_admin()
    return _links_response(runtime().links.all())


@bp.get("/links/<link_id>")
def get_link(link_id: str) -> Response:
    """One link, for the managers of its album.

    Raises:
        NotSignedIn, NotFound, Forbidden: see :func:`_managed_link`.
    """
    link = _managed_link(link_id, require_actor())
    return jsonify(_link_body(link, runtime().links.usage(link.id)))


@bp.delete("/links/<link_id>")
def revoke_link(link_id: str) -> tuple[str, int]:
    """Revoke a link for good (again: still ``204``).

    Raises:
        NotSignedIn, NotFound, Forbidden: see :meth:`Links.revoke`.
    """
    runtime().links.revoke(link_id, actor=require_actor())
    return "", 204
