"""How pages under a share link show its album: every URL under the link, only the
details the link shows, and the Open Graph tags of link previews."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import url_for

from gallery.albums.links import Opened
from gallery.albums.model import ShareLink
from gallery.errors import NotFound
from gallery.units import human_size
from gallery.web.context import runtime
from gallery.web.meta import PREVIEW_VARIANTS, card, has_base_url, picture_of
from gallery.web.views import about_data, display_time, label, placeholder, site_url, zoom_data

#: What link-preview cards show for a link with a password: nothing of the album.
NEUTRAL_TITLE = "A shared album"


@dataclass(frozen=True, slots=True)
class LinkView:
    """URLs and facts of images as a link's pages show them: every URL under the link."""

    link: ShareLink

    @property
    def token(self) -> str:
        return self.link.token

    def page(self, image: dict[str, Any]) -> str:
        return url_for("share.image", token=self.token, image_id=image["id"])

    def thumb(self, image: dict[str, Any], name: str = "sm") -> str:
        """Thumbnail ``name`` (or the nearest one the image has) under the link."""
        variants = image.get("variants", {})
        order = (name, *(v for v in PREVIEW_VARIANTS if v != name))
        found = next((v for v in order if v in variants), None)
        if found is None and self.link.allow_download:
            return url_for("share.original", token=self.token, image_id=image["id"])
        return url_for("share.variant", token=self.token, image_id=image["id"],
                       variant=found or name)

    def label(self, image: dict[str, Any]) -> str:
        """What the image is called under the link (a date taken only where it shows details)."""
        return label(image, self.link.show_details)

    def size_of(self, image: dict[str, Any], name: str) -> tuple[int, int]:
        variants = image.get("variants", {})
        order = (name, *(v for v in PREVIEW_VARIANTS if v != name))
        found = next((variants[v] for v in order if v in variants), None)
        if found is None:
            return int(image.get("width") or 1), int(image.get("height") or 1)
        return int(found.get("w") or 1), int(found.get("h") or 1)

    def srcset(self, image: dict[str, Any]) -> str:
        """``srcset`` of the thumbnails under the link, smallest first (distinct widths)."""
        variants = image.get("variants", {})
        entries, seen = [], set()
        for name in sorted(variants, key=lambda n: variants[n].get("w", 0)):
            width = variants[name].get("w")
            if not isinstance(width, int) or width <= 0 or width in seen:
                continue
            seen.add(width)
            url = url_for("share.variant", token=self.token, image_id=image["id"], variant=name)
            entries.append(f"{url} {width}w")
        return ", ".join(entries)

    def original(self, image: dict[str, Any], download: bool = False) -> str | None:
        """The original under the link, only where the link allows downloads."""
        if not self.link.allow_download:
            return None
        if download:
            return url_for("share.original", token=self.token, image_id=image["id"], download=1)
        return url_for("share.original", token=self.token, image_id=image["id"])

    def tile(self, image: dict[str, Any]) -> dict[str, str]:
        """The ``data-*`` attributes the grid's lightbox reads; dates only with details."""
        details = self.link.show_details
        width, height = self.size_of(image, "lg")
        return {
            "data-id": image["id"],
            "data-title": label(image, self.link.show_details),
            "data-lg": self.thumb(image, "lg"),
            "data-lg-width": str(width),
            "data-lg-height": str(height),
            "data-original": self.original(image) or "",
            "data-size": human_size(int(image.get("size", 0))),
            "data-dimensions": f"{image.get('width', '?')} × {image.get('height', '?')} px",
            "data-created": image.get("created_at", "") if details else "",
            "data-date": display_time(image.get("created_at", "")) if details else "",
            "data-uploader": "",
            "data-placeholder": placeholder(image),
            **zoom_data(image, self.original(image)),
            **about_data(image, details),
        }

    def taken(self, image: dict[str, Any]) -> str | None:
        """When the photo was taken, where known and the link shows details."""
        stamp = image.get("taken_at") if self.link.show_details else None
        return stamp if isinstance(stamp, str) and stamp else None

    def taken_text(self, image: dict[str, Any]) -> str | None:
        """The date taken as the camera wrote it (``2019-08-01 20:15 +02:00``, or without
        an offset when it wrote none: the camera's own clock, not UTC)."""
        stamp = self.taken(image)
        if stamp is None:
            return None
        offset = stamp[19:]
        return stamp[:16].replace("T", " ") + (f" {offset}" if offset else "")

    def camera(self, image: dict[str, Any]) -> str | None:
        """The camera and its settings in one line, where known and the link shows details."""
        if not self.link.show_details:
            return None
        return camera_text(image.get("camera"))


def camera_text(camera: Any) -> str | None:
    """``{"make", "model", "lens", "focal_length", "f_number", "exposure_time", "iso"}``
    as one line (``Canon EOS R6 · RF 35mm · 35 mm · f/1.8 · 1/250 s · ISO 400``)."""
    if not isinstance(camera, dict):
        return None
    parts: list[str] = []
    make, model = camera.get("make"), camera.get("model")
    body = " ".join(str(v) for v in (make, model) if isinstance(v, str) and v)
    if isinstance(make, str) and isinstance(model, str) and model.startswith(make):
        body = model
    for text in (body, camera.get("lens")):
        if isinstance(text, str) and text:
            parts.append(text)
    focal, aperture = camera.get("focal_length"), camera.get("f_number")
    exposure, iso = camera.get("exposure_time"), camera.get("iso")
    if _number(focal):
        parts.append(f"{focal:g} mm")
    if _number(aperture):
        parts.append(f"f/{aperture:g}")
    if _number(exposure):
        parts.append(f"1/{round(1 / exposure)} s" if 0 < exposure < 1 else f"{exposure:g} s")
    elif isinstance(exposure, str) and exposure:
        parts.append(f"{exposure} s")
    if _number(iso):
        parts.append(f"ISO {iso:g}")
    return " · ".join(parts) or None


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def open_graph(opened: Opened, url: str, *, title: str, description: str,
                picture: dict[str, Any] | None = None) -> dict[str, str]:
    """The Open Graph tags of a page under the link (:func:`gallery.web.meta.card`).

    A link with a password shows a neutral title and no picture. Absolute URLs
    (``og:url``, ``og:image``) need ``GALLERY_BASE_URL`` and are left out without it.
    ``og:image`` is a thumbnail under the link itself, so a preview fetcher loads it
    without signing in, in a private gallery too.
    """
    absolute = has_base_url()
    if opened.link.has_password:
        return card(title=NEUTRAL_TITLE,
                    description="Open the link and type its password to see the photos.",
                    url=url if absolute else None)
    shown = None
    if picture is not None and absolute:
        token = opened.link.token
        shown = picture_of(picture, lambda name: site_url(
            "share.variant", token=token, image_id=picture["id"], variant=name), opened.link.show_details)
    return card(title=title, description=description, url=url if absolute else None,
                picture=shown)


def photos(count: int) -> str:
    """``1 photo``, ``3 photos``."""
    return f"{count} photo{'' if count == 1 else 's'}"


def cover_of(opened: Opened, shown: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The album's cover image (public form) if it still exists, else the first one shown.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    cover_id = opened.album.cover_id
    if cover_id is None:
        return None
    for image in shown:
        if image["id"] == cover_id:
            return image
    try:
        return runtime().images.get(cover_id)
    except NotFound:
        return shown[0] if shown else None


def date_span(opened: Opened, records: list[Any]) -> tuple[str, str, str] | None:
    """``(what, first, last)`` of the album's dates: taken where known, else uploaded."""
    if not opened.link.show_details or not records:
        return None
    taken = [t for t in (getattr(r, "taken_at", None) for r in records) if isinstance(t, str) and t]
    if taken:
        return "Taken", min(taken), max(taken)
    uploaded = [r.created_at for r in records]
    return "Uploaded", min(uploaded), max(uploaded)


def wait_text(seconds: int) -> str:
    """A wait as people say it: ``1 second``, ``40 seconds``, ``15 minutes``."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
