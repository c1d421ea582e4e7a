"""Cursors of the image listing: an opaque token for "after this image"."""

from __future__ import annotations

import base64
import binascii

from gallery.clock import is_timestamp
from gallery.errors import BadRequest
from gallery.images.record import sort_key
from gallery.keys import is_image_id

_BAD = "The cursor is not valid; start again without one."


def encode_cursor(created_at: str, image_id: str) -> str:
    """An opaque cursor pointing just after the image with this time and id."""
    raw = f"{created_at}|{image_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The catalog key (see :func:`~gallery.images.record.sort_key`) a cursor points after.

    Raises:
        BadRequest: the cursor was not made by :func:`encode_cursor`.
    """
    try:
        if not isinstance(cursor, str) or len(cursor) > 200 or not cursor.isascii():
            raise ValueError(_BAD)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        created_at, image_id = raw.split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(_BAD) from None
    if not is_timestamp(created_at) or not is_image_id(image_id):
        raise BadRequest(_BAD)
    return sort_key(created_at, image_id)
