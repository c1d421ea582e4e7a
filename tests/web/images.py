"""Small images the web tests need on top of the shared fixtures."""

from __future__ import annotations

import io

from PIL import Image


def distinct_png(n: int, size: tuple[int, int] = (48, 32)) -> bytes:
    """A small PNG whose bytes differ for every ``n`` (so it is never a duplicate)."""
    image = Image.new("RGB", size, ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    image.putpixel((n % size[0], (n // size[0]) % size[1]), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether an image's EXIF still carries a GPS block."""
    with Image.open(io.BytesIO(data)) as image:
        return 0x8825 in image.getexif()
