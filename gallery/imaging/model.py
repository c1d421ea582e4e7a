"""The shapes the image pipeline hands to the upload service, and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALLOWED_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}
"""Pillow format name -> the content type the original is served with.

``HEIF`` is a HEIF file whose picture is HEVC-coded, which is what ``image/heic``
names (the phones' format, whatever the file is called)."""

EXTENSIONS: dict[str, str] = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp",
                              "HEIF": "heic", "AVIF": "avif"}
"""Pillow format name -> file extension used in object names."""

ACCEPTED_TYPES: tuple[str, ...] = (*ALLOWED_TYPES.values(), "image/heif", "image/heic-sequence",
                                   "image/heif-sequence", "image/avif-sequence")
"""Every content type a browser may give a file the gallery accepts (what a file
picker's ``accept`` and an upload script's precheck should let through)."""

ACCEPTED_EXTENSIONS: tuple[str, ...] = (*EXTENSIONS.values(), "jpeg", "heif", "hif", "heics",
                                        "heifs", "avifs")
"""Every file name extension of the formats the gallery accepts."""

CONTAINED = frozenset({"HEIF", "AVIF"})
"""Formats in a HEIF container (ISO base media file format), read by :mod:`gallery.imaging.heif`."""

ALLOWED_LABEL = "JPEG, PNG, GIF, WebP, HEIC/HEIF, AVIF"
"""How the allowed types are named in messages shown to people."""

VARIANT_SIZES: dict[str, int] = {"lg": 1600, "md": 800, "sm": 400}
"""Variant name -> longest side in pixels, largest first.

``sm`` fills a grid tile on an ordinary screen, ``md`` the same tile on a high-density
one (phones, laptops with 2x displays), ``lg`` the single-image view and the lightbox.
"""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one upload may cost to check and decode.

    ``max_total_pixels`` bounds the work of decoding an animation: the canvas size
    times the number of frames. ``max_scans`` bounds the passes a JPEG makes over
    its picture (real progressive JPEGs have about ten; each scan costs a walk over
    every block). ``max_memory`` bounds what decoding and making the thumbnails
    holds at once, from the size and the mode Pillow decodes to (bytes per pixel),
    before anything is decoded.
    """

    max_bytes: int = 25_000_000
    max_pixels: int = 50_000_000
    max_frames: int = 500
    max_total_pixels: int = 600_000_000
    max_scans: int = 100
    max_memory: int = 300_000_000


#: The default limits (the settings' defaults); immutable, so shared.
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Variant:
    """One thumbnail: WebP without metadata, upright, never larger than the original."""

    name: str
    data: bytes
    width: int
    height: int
    content_type: str = "image/webp"


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """An accepted upload: the bytes to store as the original, its facts and its thumbnails.

    ``data`` equals the upload byte for byte unless location data was removed
    (``gps_removed``) or bytes after the end of the image were dropped
    (``trailing_data_removed``: also a motion photo's video inside a HEIC);
    ``sha256`` always describes ``data``. ``camera`` and ``taken_at`` are what
    its EXIF says (see :mod:`gallery.imaging.exif`).
    """

    format: str
    content_type: str
    extension: str
    data: bytes
    width: int
    height: int
    frames: int
    animated: bool
    upload_sha256: str
    sha256: str
    gps_removed: bool
    placeholder: str
    variants: tuple[Variant, ...]
    trailing_data_removed: bool = False
    camera: dict[str, Any] = field(default_factory=dict)
    taken_at: str | None = None
