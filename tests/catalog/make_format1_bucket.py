"""How ``format1_bucket/`` was made: a small gallery written by the release whose catalog
was the single ``index.json`` (format 1).

Run with that release's ``gallery`` package first on ``sys.path`` (for instance
``git archive ccc368b gallery | tar -x -C /tmp/old`` and ``PYTHONPATH=/tmp/old``)::

    python tests/catalog/make_format1_bucket.py tests/catalog/format1_bucket

It prints the API token it made; ``test_upgrade.py`` keeps it in ``TOKEN``.
"""

from __future__ import annotations

import io
import random
import sys
from datetime import UTC, datetime, timedelta

from gallery.service import Actor, GalleryService  # the release being recorded, not this one
from PIL import Image

from gallery.accounts import Accounts
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.local import FileStorage


def png(seed: int) -> bytes:
    rng = random.Random(f"format1-{seed}")
    pixels = bytes(rng.randrange(256) for _ in range(8 * 8 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (8, 8), pixels).save(out, "PNG")
    return out.getvalue()


def main(folder: str) -> None:
    moment = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)

    def clock() -> datetime:
        nonlocal moment
        moment += timedelta(minutes=7)
        return moment

    storage = FileStorage(folder)
    keys = Keys("")
    accounts = Accounts(storage, keys)
    accounts.create_user("ada", "correct horse battery", "admin")
    accounts.create_user("bob", "bob's own password", "uploader")
    token, _ = accounts.create_token("ada", label="scripts")
    service = GalleryService(storage, keys, limits=Limits(), clock=clock)
    ids = [service.upload(png(n), f"photo-{n}.png", uploaded_by="ada" if n % 3 else "bob").image["id"]
           for n in range(12)]
    service.update(ids[1], {"title": "Édité", "description": "Two lines\nof text"},
                   actor=Actor("ada", True))
    service.delete(ids[5], actor=Actor("ada", True))
    print(token)


if __name__ == "__main__":
    main(sys.argv[1])
