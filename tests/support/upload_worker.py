"""A child process that uploads generated images through the image domain.

Run as ``python -m tests.support.upload_worker URL PREFIX N SEED``: it opens the
storage URL with :func:`gallery.storage.open_storage`, builds a
:class:`~gallery.images.service.Images` under ``PREFIX``, prints ``ready``,
waits for a line on stdin (so every worker starts at once), uploads ``N``
small PNG images whose bytes depend on ``SEED`` (distinct per worker), and
prints the id of each image it stored, one per line.

:func:`run_upload_workers` starts several against one bucket and returns the
ids each printed.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from collections.abc import Mapping

from tests.support.processes import run_together


def generated_image(seed: int, number: int, size: int = 16) -> bytes:
    """A small PNG of random pixels, distinct for every ``(seed, number)``."""
    from PIL import Image

    rng = random.Random(f"upload-worker-{seed}-{number}")
    pixels = bytes(rng.randrange(256) for _ in range(size * size * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", (size, size), pixels).save(buffer, "PNG")
    return buffer.getvalue()


def upload(url: str, prefix: str, count: int, seed: int) -> list[str]:
    """Upload ``count`` generated images; return the ids, as they are printed."""
    from gallery.images.service import Images
    from gallery.imaging import Limits
    from gallery.keys import Keys
    from gallery.storage import open_storage

    storage = open_storage(url, timeout=30)
    ids: list[str] = []
    try:
        images = Images(storage, Keys(prefix), limits=Limits())
        print("ready", flush=True)
        sys.stdin.readline()
        for number in range(count):
            result = images.upload(generated_image(seed, number), f"w{seed}-{number}.png",
                                    uploaded_by=f"worker{seed}")
            if result.duplicate:
                raise RuntimeError(f"image {number} of worker {seed} was taken for a duplicate")
            ids.append(result.image["id"])
            print(result.image["id"], flush=True)
    finally:
        storage.close()
    return ids


def run_upload_workers(
    url: str,
    prefix: str,
    *,
    processes: int,
    uploads: int,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> list[list[str]]:
    """Start ``processes`` workers together; return the ids each one printed.

    Raises:
        RuntimeError: a worker failed, or did not start or finish in time.
    """
    outputs = run_together(
        "tests.support.upload_worker",
        [[url, prefix, str(uploads), str(seed)] for seed in range(processes)],
        env=env, timeout=timeout,
    )
    return [out.split() for out in outputs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("url", help="storage URL, as GALLERY_STORAGE takes it")
    parser.add_argument("prefix", help="key prefix ('' for none; else ending with '/')")
    parser.add_argument("count", type=int, help="how many images to upload")
    parser.add_argument("seed", type=int, help="makes this worker's images distinct")
    args = parser.parse_args(argv)
    upload(args.url, args.prefix, args.count, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
