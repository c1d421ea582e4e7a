"""How images and albums are shown: the JSON of the API and the helpers templates use."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, has_request_context, request, url_for

from gallery.albums.model import Album
from gallery.catalog.search_index import ALL_CAMERAS, NO_CAMERAS, Cameras
from gallery.images.record import ImageRecord, parse_taken_at
from gallery.images.titles import is_camera_name, shown_title
from gallery.units import human_size
from gallery.web.people import account_name, person_name

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


def album_json(album: Album, cover: ImageRecord | None, count: int | None = None
               ) -> dict[str, Any]:
    """The API's album JSON (see the README's API section).

    Args:
        album: the album.
        cover: the record of its cover image (``album.cover_id``), or ``None``
            when it has none or that image is gone.
        count: how many of its images are in the gallery (members in the trash are
            not); ``None``: all of them.
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
        "image_count": album.count if count is None else count,
        "owner": account_name(album.owner),
        "owner_name": person_name(album.owner) or None,
        "created_at": album.created_at,
        "updated_at": album.updated_at,
        "uploaded_range": {"first": uploaded[0], "last": uploaded[1]} if uploaded else None,
        "urls": {
            "page": site_url("albums.album", album_id=album.id),
            "cover": cover_url(cover) if has_cover and cover is not None else None,
        },
    }


def albums_json(albums: Sequence[Album], images: Images) -> list[dict[str, Any]]:
    """The JSON of several albums, their images (covers and counts) read in one look-up
    of the catalog."""
    present = images.view().find(k for a in albums for k in a.items)
    return [album_json(a, present.get(a.cover_id or ""), a.count_in(present)) for a in albums]


def visitors_see_details() -> bool:
    """Whether everybody sees camera details and dates taken: the site's setting (admin
    pages), else ``GALLERY_SHOW_DETAILS``."""
    rt = current_app.extensions["gallery"]
    chosen = rt.site.current().show_details
    return bool(rt.settings["show_details"]) if chosen is None else chosen


def shows_details(image: dict[str, Any]) -> bool:
    """Whether the one asking may see the camera details and date taken of ``image``: its
    uploader and admins always, everybody else only where :func:`visitors_see_details`."""
    if visitors_see_details():
        return True
    if not has_request_context():
        return True  # the command line acts as an admin
    from flask_login import current_user

    return bool(current_user.is_authenticated and (
        current_user.is_admin or current_user.username == image.get("uploaded_by")))


def camera_scope() -> Cameras:
    """Whose camera words a search by the one asking may match: everyone's where
    visitors see details (:func:`visitors_see_details`) or for admins, else only a user's
    own images (nobody's for visitors), as :func:`shows_details` decides what they see."""
    if not has_request_context() or visitors_see_details():
        return ALL_CAMERAS
    from flask_login import current_user

    if not current_user.is_authenticated:
        return NO_CAMERAS
    return ALL_CAMERAS if current_user.is_admin else Cameras(False, current_user.username)


def image_json(image: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The API's image JSON (see the README's API section); camera details and the date
    taken are empty for those who may not see them (:func:`shows_details`), and
    ``uploaded_by`` (a username) is null for visitors (see :mod:`gallery.web.people`)."""
    body = {field: image[field] for field in _PUBLIC_FIELDS if field in image}
    if not shows_details(image):
        body["camera"], body["taken_at"] = {}, None
    body["variants"] = {
        name: {"width": v["w"], "height": v["h"], "size": v["size"]}
        for name, v in image.get("variants", {}).items()
    }
    body["uploaded_by"] = account_name(image.get("uploaded_by"))
    body["uploaded_by_name"] = person_name(image.get("uploaded_by")) or None
    body["urls"] = image_urls(image)
    body.update(extra)
    return body


# --- What pages show: thumbnails, srcset, and the data the grid's lightbox reads ---

#: ``sizes`` of cards about 220-300 px wide, two to a row on phones (the album list);
#: grid tiles have their own (:func:`tile_sizes`).
GRID_SIZES = "(max-width: 700px) 50vw, 300px"

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_NEUTRAL = "#888888"


def label(image: dict[str, Any], details: bool | None = None) -> str:
    """What an image is called on pages: its title; for a camera's file name
    (``DSCN0040``) the date taken where the one asking may see it (``details``, by
    default :func:`shows_details`); else its file name (see gallery/images/titles.py)."""
    title, filename, taken = image.get("title"), image.get("filename"), image.get("taken_at")
    if taken and (not title or is_camera_name(title)):
        may_see = shows_details(image) if details is None else details
        return shown_title(title, filename, taken, may_see_taken=may_see) or "Image"
    return shown_title(title, filename, None, may_see_taken=False) or "Image"


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


def display_taken(stamp: str | None) -> str:
    """A date taken as the camera's clock showed it, with its offset where known:
    ``2023-04-01 14:05 +09:00`` (never converted, never called UTC)."""
    if not stamp:
        return ""
    return f"{stamp[:16].replace('T', ' ')}{' ' + stamp[19:] if stamp[19:] else ''}"


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
        "data-uploader": person_name(image.get("uploaded_by")),
        "data-placeholder": placeholder(image),
        **zoom_data(image, url_for("media.original", image_id=image["id"])),
        **about_data(image, shows_details(image)),
    }


#: Originals a browser shows in an ``<img>``: the lightbox zooms into these (HEIC, say, it
#: cannot, so zooming stops at the large thumbnail).
BROWSER_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})


def zoom_data(image: dict[str, Any], original: str | None) -> dict[str, str]:
    """The ``data-full*`` attributes of a tile: the original the lightbox swaps in when
    zoomed past the large thumbnail, and its size; the URL is empty where the visitor may
    not see the original (``original`` is ``None``) or a browser cannot show it."""
    shown = original if original and image.get("content_type") in BROWSER_TYPES else ""
    return {
        "data-full": shown or "",
        "data-full-width": str(image.get("width", "")),
        "data-full-height": str(image.get("height", "")),
    }


def taken_text(stamp: str) -> str:
    """When a photo was taken as the camera said it: ``2026-07-14 18:02 +02:00``."""
    return stamp[:16].replace("T", " ") + (f" {stamp[19:]}" if stamp[19:] else "")


def about_data(image: dict[str, Any], details: bool) -> dict[str, str]:
    """The description of a tile's image and, where ``details`` may be shown, when it was
    taken and with what camera (empty otherwise: the lightbox then leaves them out)."""
    from gallery.web.share_view import camera_text  # share_view builds on this module

    taken = image.get("taken_at") if details else None
    taken = taken if isinstance(taken, str) and taken else ""
    return {
        "data-description": str(image.get("description") or ""),
        "data-taken": taken,
        "data-taken-text": taken_text(taken) if taken else "",
        "data-camera": (camera_text(image.get("camera")) or "") if details else "",
    }


# --- The grid's layout: each tile's shape, the thumbnail it needs, month headings ---

#: The layouts of a grid: ``justified`` rows that keep every photo's shape, or ``squares``.
GRID_LAYOUTS = ("justified", "squares")

#: The English month names of the headings of a grid sorted by date taken.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
#: The heading of the photos whose date taken is unknown (they sort by upload time).
UNKNOWN_DATE = ("unknown", "Date unknown")


def default_grid_layout() -> str:
    """The layout (one of :data:`GRID_LAYOUTS`) a grid starts in for a visitor who has not
    chosen one; static/grid.js keeps a visitor's own choice in their browser.

    This is the one place a site-wide default chosen by an admin plugs in (the grid's
    ``data-layout-default``); until the site settings hold one, justified rows.
    """
    return GRID_LAYOUTS[0]


class GalleryTiles:
    """What the tile macro (templates/grid.html) asks of a page, with the gallery's own
    URLs; share pages hand it their :class:`~gallery.web.share_view.LinkView` instead."""

    def page(self, image: dict[str, Any]) -> str:
        return url_for("pages.image", image_id=image["id"])

    def thumb(self, image: dict[str, Any], name: str = "sm") -> str:
        return variant_url(image, name)

    def size_of(self, image: dict[str, Any], name: str) -> tuple[int, int]:
        """The size of what :meth:`thumb` serves: the thumbnail, else the original."""
        found = image.get("variants", {}).get(name)
        if found:
            return int(found.get("w") or 1), int(found.get("h") or 1)
        return int(image.get("width") or 1), int(image.get("height") or 1)

    def srcset(self, image: dict[str, Any]) -> str:
        return srcset(image)

    def tile(self, image: dict[str, Any]) -> dict[str, str]:
        return tile_data(image)

    def label(self, image: dict[str, Any]) -> str:
        return label(image)


def tile_ratio(size: Sequence[int]) -> str:
    """A tile's aspect ratio (width / height) for its ``--ar`` style: the shape justified
    rows keep. Bounded to 1:20 .. 20:1, so no value can make a tile vanish."""
    width, height = (max(1, int(n)) for n in size)
    return f"{min(20.0, max(0.05, width / height)):.4f}"


def tile_sizes(size: Sequence[int]) -> str:
    """``sizes`` of a tile's thumbnail: the width the tile is drawn at, not the screen's.

    An estimate from the row heights of static/grid.css (about a fifth of the screen, at
    most 280 px) times the photo's aspect ratio; static/grid.js sets the exact width
    once it has laid the rows out. (Not ``auto``: browsers load every image at once when
    scripts are off, and then read ``auto`` as the whole screen's width.)
    """
    ratio = float(tile_ratio(size))
    return f"(max-width: 1300px) {min(100, math.ceil(ratio * 21))}vw, {min(1600, math.ceil(ratio * 280))}px"


@dataclass(frozen=True, slots=True)
class TileGroup:
    """A run of a grid's tiles under one heading.

    Attributes:
        month: ``"2024-03"``, ``"unknown"`` (no date taken), or None: no heading.
        heading: what the heading says (``"March 2024"``, ``"Date unknown"``).
        images: the images of the run, in the page's order.
    """

    month: str | None
    heading: str
    images: list[dict[str, Any]] = field(default_factory=list)


def month_of(image: dict[str, Any]) -> tuple[str, str]:
    """``(key, heading)`` of the month a photo was taken in, as its camera wrote it
    (``("2024-03", "March 2024")``), or :data:`UNKNOWN_DATE`."""
    moment = parse_taken_at(image.get("taken_at"))
    if moment is None:
        return UNKNOWN_DATE
    return f"{moment.year:04d}-{moment.month:02d}", f"{MONTHS[moment.month - 1]} {moment.year}"


def dates_shown() -> bool:
    """Whether the one asking may see when every photo was taken: everybody where
    ``GALLERY_SHOW_DETAILS`` is on, else admins (see :func:`shows_details`)."""
    return shows_details({})


def tile_groups(images: Sequence[dict[str, Any]], by_month: bool,
                shown: bool | None = None) -> list[TileGroup]:
    """A page's tiles as runs under month headings, or one run without a heading.

    ``by_month``: the page is sorted by date taken. The months appear only to those who
    may see the dates (``shown``, :func:`dates_shown` when None). A run is consecutive
    images of one month, so photos without a date (sorted by upload time among the
    others) may make more than one "Date unknown" run.
    """
    if not by_month or not (dates_shown() if shown is None else shown):
        return [TileGroup(None, "", list(images))]
    groups: list[TileGroup] = []
    for image in images:
        key, heading = month_of(image)
        if groups and groups[-1].month == key:
            groups[-1].images.append(image)
        else:
            groups.append(TileGroup(key, heading, [image]))
    return groups
