"""The image pipeline: validate every upload as hostile, strip location data, make thumbnails.

Pure functions over bytes, no Flask: ``process_upload`` for a new upload and
``make_variants`` to regenerate thumbnails from a stored original.
"""

from gallery.imaging.model import (
    ALLOWED_TYPES,
    VARIANT_SIZES,
    Limits,
    ProcessedImage,
    Variant,
)
from gallery.imaging.pipeline import make_variants, process_upload

__all__ = [
    "ALLOWED_TYPES",
    "VARIANT_SIZES",
    "Limits",
    "ProcessedImage",
    "Variant",
    "make_variants",
    "process_upload",
]
