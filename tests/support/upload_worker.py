"""A child process that uploads generated images through the gallery service.

Run as ``python -m tests.support.upload_worker URL PREFIX N SEED``: it opens the
storage URL with :func:`gallery.storage.open_storage`, builds a
:class:`~gallery.service.GalleryService` under ``PREFIX``, prints ``ready``,
waits for a line on stdin (so every worker starts at once), uploads ``N``
small PNG images whose bytes depend on ``SEED`` (distinct per worker), and
prints the id of each image it stored, one per line.

:func:`run_upload_workers` starts several against one bucket and returns the
ids each printed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


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
    from gallery.imaging import Limits
    from gallery.keys import Keys
    from gallery.service import GalleryService
    from gallery.storage import open_storage

    storage = open_storage(url, timeout=30)
    ids: list[str] = []
    try:
        service = GalleryService(storage, Keys(prefix), limits=Limits())
        print("ready", flush=True)
        sys.stdin.readline()
        for number in range(count):
            result = service.upload(generated_image(seed, number), f"w{seed}-{number}.png",
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
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.upload_worker", url, prefix, str(uploads),
             str(seed)],
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                _, err = child.communicate(timeout=timeout)
                raise RuntimeError(f"a worker did not start: {line!r} {err.strip()}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        printed: list[list[str]] = []
        for child in children:
            out, err = child.communicate(timeout=timeout)
            if child.returncode != 0:
                raise RuntimeError(f"a worker failed with status {child.returncode}: {err.strip()}")
            printed.append(out.split())
        return printed
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None and not stream.closed:
                    stream.close()


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
