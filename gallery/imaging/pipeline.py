"""The two entry points the upload service calls: a new upload, or thumbnails again."""

from __future__ import annotations

import hashlib
from io import BytesIO

from PIL import Image

from gallery.errors import DamagedImage
from gallery.imaging.containers import Malformed
from gallery.imaging.exif import read_details
from gallery.imaging.model import (
    ALLOWED_TYPES,
    DEFAULT_LIMITS,
    EXTENSIONS,
    VARIANT_SIZES,
    Limits,
    ProcessedImage,
    Variant,
)
from gallery.imaging.privacy import Cleaned, remove_location
from gallery.imaging.thumbnails import build_variants
from gallery.imaging.validate import LABELS, decode

_LARGEST = max(VARIANT_SIZES.values())


def process_upload(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ProcessedImage:
    """Validate an upload, remove location data, read its camera details, and make
    its thumbnails.

    The image is decoded once: a JPEG at the DCT scale the largest thumbnail needs,
    a HEIC or AVIF as its primary picture, everything else in full, every frame
    of an animation included.

    Raises:
        TooLarge: over a limit (bytes, pixels, frames).
        UnsupportedType: not a JPEG, PNG, GIF, WebP, HEIC or AVIF by content.
        DamagedImage: cannot be decoded completely.
    """
    decoded = decode(data, limits, draft_to=_LARGEST)
    cleaned = _remove_location(decoded.format, data, decoded.width, decoded.height)
    details = read_details(decoded.format, cleaned.data)
    variants, placeholder = build_variants(decoded)
    width, height = decoded.upright_size
    upload_sha256 = hashlib.sha256(data).hexdigest()
    sha256 = upload_sha256 if cleaned.data is data else hashlib.sha256(cleaned.data).hexdigest()
    return ProcessedImage(
        format=decoded.format,
        content_type=ALLOWED_TYPES[decoded.format],
        extension=EXTENSIONS[decoded.format],
        data=cleaned.data,
        width=width,
        height=height,
        frames=decoded.frames,
        animated=decoded.frames > 1,
        upload_sha256=upload_sha256,
        sha256=sha256,
        gps_removed=cleaned.gps_removed,
        placeholder=placeholder,
        variants=variants,
        trailing_data_removed=cleaned.trailing_data_removed,
        camera=details.camera,
        taken_at=details.taken_at,
    )


def make_variants(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Variant, ...]:
    """Thumbnails of a stored original, validated exactly like a new upload.

    Raises:
        TooLarge: over a limit (bytes, pixels, frames).
        UnsupportedType: not a JPEG, PNG, GIF, WebP, HEIC or AVIF by content.
        DamagedImage: cannot be decoded completely.
    """
    variants, _placeholder = build_variants(decode(data, limits, draft_to=_LARGEST))
    return variants


def _remove_location(image_format: str, data: bytes, width: int, height: int) -> Cleaned:
    """Remove location data, then make sure the result is still the same image."""
    label = LABELS[image_format]
    try:
        cleaned = remove_location(image_format, data)
        if cleaned.data is not data:
            with Image.open(BytesIO(cleaned.data), formats=[image_format]) as im:
                same = im.size == (width, height)
            if not same:
                raise Malformed("size changed")
    except Exception as err:  # the edit is ours; a failure here must not pass silently
        raise DamagedImage(
            f"That {label} image has metadata we could not safely remove."
        ) from err
    return cleaned
