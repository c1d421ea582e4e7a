"""How images and albums are shown: the JSON of the API and the helpers templates use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask import current_app, has_request_context, request, url_for

from gallery.albums.model import Album, id_of
from gallery.catalog.search_index import ALL_CAMERAS, NO_CAMERAS, Cameras
from gallery.images.record import ImageRecord
from gallery.units import human_size

if TYPE_CHECKING:
    from gallery.images.service import Images

#: Fields of an index record that the API shows as they are.
_PUBLIC_FIELDS = (
    "id", "filename", "content_type", "size", "width", "height", "sha256",
    "created_at", "uploaded_by", "title", "description", "frames", "animated",
    "placeholder", "gps_removed", "taken_at", "camera", "tags",
)


#: Thumbnails an album's cover is shown with, best first.
_COVER_VARIANTS = ("md", "sm", "lg")


def site_url(endpoint: str, **values: Any) -> str:
    """The URL of ``endpoint``: absolute from ``GALLERY_BASE_URL`` when set, else root-relative.

    Never built from the request's ``Host`` header, which the client chooses.
    Works outside a request too (the command line prints share links).
    """
    base = current_app.extensions["gallery"].settings["base_url"]
    if not has_request_context():
        path = current_app.url_map.bind("localhost").build(endpoint, values)
        return base + path
    path = url_for(endpoint, **values)
    if not base:
        return path
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root):]
    return base + path


def image_urls(image: dict[str, Any]) -> dict[str, Any]:
    """The page, original and thumbnail URLs of an image (see :func:`site_url`)."""
    image_id = image["id"]
    return {
        "page": site_url("pages.image", image_id=image_id),
        "original": site_url("media.original", image_id=image_id),
        "thumbnails": {
            name: site_url("media.variant", image_id=image_id, variant=name)
            for name in image.get("variants", {})
        },
    }


def cover_url(record: ImageRecord) -> str:
    """The thumbnail an album shows for its cover image: the middle size where it exists."""
    for name in _COVER_VARIANTS:
        if record.variant(name) is not None:
            return site_url("media.variant", image_id=record.id, variant=name)
    return site_url("media.original", image_id=record.id)


def album_json(album: Album, cover: ImageRecord | None) -> dict[str, Any]:
    """The API's album JSON (see the README's API section).

    Args:
        album: the album.
        cover: the record of its cover image (``album.cover_id``), or ``None``
            when it has none or that image is gone.
    """
    uploaded = album.uploaded_range
    has_cover = cover is not None and cover.id == album.cover_id
    return {
        "id": album.id,
        "title": album.title,
        "description": album.description,
        "visibility": album.visibility,
        "sort": album.sort,
        "cover": cover.id if has_cover and cover is not None else None,
        "cover_chosen": album.cover is not None and album.cover == album.cover_id,
        "image_count": album.count,
        "owner": album.owner,
        "created_at": album.created_at,
        "updated_at": album.updated_at,
        "uploaded_range": {"first": uploaded[0], "last": uploaded[1]} if uploaded else None,
        "urls": {
            "page": site_url("albums.album", album_id=album.id),
            "cover": cover_url(cover) if has_cover and cover is not None else None,
        },
    }


def albums_json(albums: Sequence[Album], images: Images) -> list[dict[str, Any]]:
    """The JSON of several albums, their cover images read in one look-up of the catalog."""
    keys = []
    for album in albums:
        cover = album.cover_id
        key = next((k for k in album.items if id_of(k) == cover), None) if cover else None
        if key is not None:
            keys.append(key)
    covers = images.view().find(keys) if keys else {}
    return [album_json(a, covers.get(a.cover_id or "")) for a in albums]


def shows_details(image: dict[str, Any]) -> bool:
    """Whether the one asking may see the camera details and date taken of ``image``: its
    uploader and admins always, everybody else only where ``GALLERY_SHOW_DETAILS`` is on."""
    if current_app.extensions["gallery"].settings["show_details"]:
        return True
    if not has_request_context():
        return True  # the command line acts as an admin
    from flask_login import current_user

    return bool(current_user.is_authenticated and (
        current_user.is_admin or current_user.username == image.get("uploaded_by")))


def camera_scope() -> Cameras:
    """Whose camera words a search by the one asking may match: everyone's where
    ``GALLERY_SHOW_DETAILS`` is on or for admins, else only a user's own images
    (nobody's for visitors), as :func:`shows_details` decides what they see."""
    if current_app.extensions["gallery"].settings["show_details"] or not has_request_context():
        return ALL_CAMERAS
    from flask_login import current_user

    if not current_user.is_authenticated:
        return NO_CAMERAS
    return ALL_CAMERAS if current_user.is_admin else Cameras(False, current_user.username)


def image_json(image: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The API's image JSON (see the README's API section); camera details and the date
    taken are empty for those who may not see them (:func:`shows_details`)."""
    body = {field: image[field] for field in _PUBLIC_FIELDS if field in image}
    if not shows_details(image):
        body["camera"], body["taken_at"] = {}, None
    body["variants"] = {
        name: {"width": v["w"], "height": v["h"], "size": v["size"]}
        for name, v in image.get("variants", {}).items()
    }
    body["urls"] = image_urls(image)
    body.update(extra)
    return body


# --- What pages show: thumbnails, srcset, and the data the grid's lightbox reads ---

#: The grid's column width, as ``sizes`` for the browser (see ``.grid`` in
#: static/style.css): up to 700 px wide there are two columns, each about half
#: the screen; wider, three or more columns of 220-300 px.
GRID_SIZES = "(max-width: 700px) 50vw, 300px"

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_NEUTRAL = "#888888"


def label(image: dict[str, Any]) -> str:
    """What an image is called on pages: its title, else its filename."""
    return image.get("title") or image.get("filename") or "Image"


def placeholder(image: dict[str, Any]) -> str:
    """The image's average colour (``#rrggbb``) to show while it loads.

    Only a well-formed colour is returned, so the value is safe inside a
    ``style`` attribute whatever the record holds.
    """
    value = image.get("placeholder")
    if isinstance(value, str) and _COLOUR.fullmatch(value):
        return value.lower()
    return _NEUTRAL


def display_time(stamp: str) -> str:
    """An ISO 8601 UTC timestamp as ``2026-11-21 09:05 UTC``."""
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else ""


def variant_url(image: dict[str, Any], name: str) -> str:
    """The URL of thumbnail ``name``, or of the original when that thumbnail is missing."""
    if name in image.get("variants", {}):
        return url_for("media.variant", image_id=image["id"], variant=name)
    return url_for("media.original", image_id=image["id"])


def srcset(image: dict[str, Any]) -> str:
    """``srcset`` of the thumbnails, smallest first, each with its real width.

    Thumbnails of a small original can be the same width; only the first of
    equal widths is listed (a width given twice makes the whole list invalid).
    """
    entries: list[str] = []
    seen: set[int] = set()
    variants = image.get("variants", {})
    for name in sorted(variants, key=lambda n: variants[n].get("w", 0)):
        width = variants[name].get("w")
        if not isinstance(width, int) or width <= 0 or width in seen:
            continue
        seen.add(width)
        entries.append(f"{url_for('media.variant', image_id=image['id'], variant=name)} {width}w")
    return ", ".join(entries)


def tile_data(image: dict[str, Any]) -> dict[str, str]:
    """The ``data-*`` attributes of a grid tile: all the lightbox shows, without a request."""
    lg = image.get("variants", {}).get("lg") or image.get("variants", {}).get("sm") or {}
    return {
        "data-id": image["id"],
        "data-title": label(image),
        "data-lg": variant_url(image, "lg"),
        "data-lg-width": str(lg.get("w", image.get("width", ""))),
        "data-lg-height": str(lg.get("h", image.get("height", ""))),
        "data-original": url_for("media.original", image_id=image["id"]),
        "data-size": human_size(int(image.get("size", 0))),
        "data-dimensions": f"{image.get('width', '?')} × {image.get('height', '?')} px",
        "data-created": image.get("created_at", ""),
        "data-date": display_time(image.get("created_at", "")),
        "data-uploader": image.get("uploaded_by", ""),
        "data-placeholder": placeholder(image),
    }
