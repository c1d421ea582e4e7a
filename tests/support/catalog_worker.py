"""A child process that works on a shared gallery: uploads, edits and deletes.

Run as ``python -m tests.support.catalog_worker URL PREFIX N SEED MAX_RECORDS``:
it opens the storage URL, builds the image domain under ``PREFIX`` with shards
of at most ``MAX_RECORDS`` records (small, so that concurrent writers split
them), prints ``ready``, waits for a line on stdin, then uploads ``N``
generated images in batches of three, retitles each, and deletes every third.
It prints ``kept ID TITLE`` for each image it leaves and ``gone ID`` for each it
deleted.
"""

from __future__ import annotations

import sys

from tests.support.upload_worker import generated_image


def work(url: str, prefix: str, count: int, seed: int, max_records: int) -> None:
    from gallery.images.results import Actor
    from gallery.images.service import Images
    from gallery.imaging import Limits
    from gallery.keys import Keys
    from gallery.storage import open_storage

    storage = open_storage(url, timeout=30)
    actor = Actor(f"worker{seed}", is_admin=False)
    try:
        images = Images(storage, Keys(prefix), limits=Limits(), max_records=max_records)
        images.view()  # opening the bucket (and upgrading it, if it is of an earlier release)
        print("ready", flush=True)
        sys.stdin.readline()
        ids: list[str] = []

        def note(tag: object, verdict: object) -> None:
            if getattr(verdict, "duplicate", True):
                raise RuntimeError(f"upload {tag} of worker {seed} failed: {verdict}")
            ids.append(verdict.image["id"])  # type: ignore[attr-defined]

        with images.batch(note, size=3) as batch:
            for number in range(count):
                batch.upload(number, generated_image(seed, number), f"w{seed}-{number}.png",
                             uploaded_by=actor.username)
        for number, image_id in enumerate(ids):
            title = f"worker {seed} image {number}"
            images.update(image_id, {"title": title}, actor=actor)
            if number % 3 == 2:
                images.delete(image_id, actor=actor)
                print("gone", image_id, flush=True)
            else:
                print("kept", image_id, title.replace(" ", "_"), flush=True)
    finally:
        storage.close()


def main(argv: list[str]) -> int:
    url, prefix, count, seed, max_records = argv
    work(url, prefix, int(count), int(seed), int(max_records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
