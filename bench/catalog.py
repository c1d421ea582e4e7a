"""What the catalog costs as the gallery grows: 1k, 10k and 100k images.

For each backend (memory, file, and Google Cloud Storage as fake-gcs-server
on loopback) and each size, a catalog of N realistic records is seeded (shards
and hash buckets written directly), then measured through the image domain:

* one upload (a small PNG): time, storage requests and bytes written, of which
  how many went to the catalog (``index.json``, shards, hash buckets);
* one batch of 50 uploads;
* the first grid page of 48 in a fresh process (cold) and again (warm);
* an import of IMPORT_FILES images into the gallery against into an empty one;
* searches (words, a tag, the order by date taken) in a fresh process (cold:
  the API's first search reads shards until its page is full; the grid's first
  numbered page, with its total, reads every shard) and again (warm: the median
  of several).

Every figure is printed with its ratio against the 1k (or empty) baseline of
the same run. Then a worker process serving the 100k gallery over HTTP (the
app's WSGI entry, on the file backend) walks grid and API pages, opens 300
image pages and filters the admin table, and reports its peak resident memory
and the filter's time. Prints tables; asserts nothing.

Run: ``python bench/catalog.py`` (``--sizes 1000,10000 --backends memory,file`` for less).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gallery.catalog.model import bucket_of
from gallery.clock import format_timestamp
from gallery.images.record import ImageRecord, Variant
from gallery.images.search import Search
from gallery.images.service import Images
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage.base import Storage
from tests.support.counting import CountingStorage

KEYS = Keys("")
UPLOADS = 7
TAGS = ["family", "holiday", "beach", "mountains", "cat", "dog", "party", "work", "garden",
        "winter", "summer", "paris", "london", "birthday", "food"]
#: The searches timed: (q, tag, sort).
SEARCHES = [("beach", "", "uploaded"), ("img canon", "", "taken"), ("", "paris", "uploaded"),
            ("", "", "taken"), ("snow z6", "winter", "taken")]
BATCH = 50


def realistic_record(rng: random.Random, moment: datetime) -> ImageRecord:
    """A record shaped like those uploads write (about 700 bytes of JSON)."""
    def digest() -> str:
        return hashlib.sha256(rng.randbytes(16)).hexdigest()

    width, height = rng.choice([(4032, 3024), (3024, 4032), (6000, 4000), (1920, 1080)])
    stem = f"IMG_{rng.randrange(10000):04d}"
    return ImageRecord(
        id=rng.randbytes(16).hex(), filename=f"{stem}.jpg", content_type="image/jpeg",
        format="JPEG", size=rng.randrange(1_000_000, 9_000_000), width=width, height=height,
        sha256=digest(), created_at=format_timestamp(moment), uploaded_by=rng.choice(
            ["ada", "grace", "linus"]), title=f"{stem} {rng.choice(['beach', 'city', 'snow'])}",
        placeholder=f"#{rng.randrange(1 << 24):06x}",
        tags=tuple(rng.sample(TAGS, rng.randrange(0, 4))),
        taken_at=(f"{rng.randrange(2005, 2026)}-{rng.randrange(1, 13):02d}-"
                  f"{rng.randrange(1, 29):02d}T12:00:00" if rng.random() < 0.7 else None),
        camera={"make": rng.choice(["Canon", "Nikon", "Apple"]),
                "model": rng.choice(["EOS R5", "Z6", "iPhone 15"])} if rng.random() < 0.7 else {},
        variants=tuple(Variant(name, side, side * 3 // 4, rng.randrange(20_000, 200_000), digest())
                       for name, side in (("lg", 1600), ("md", 800), ("sm", 400))),
    )


def seed(storage: Storage, count: int) -> None:
    """Write a catalog of ``count`` records (shards, root, hash buckets) straight in."""
    rng = random.Random(count)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    records = [realistic_record(rng, start + timedelta(minutes=n)) for n in range(count)]
    images = Images(storage, KEYS, limits=Limits())
    images.catalog.replace_all(records, over=None, extra={})
    by_bucket: dict[str, dict[str, str]] = {}
    for record in records:
        by_bucket.setdefault(bucket_of(record.sha256), {})[record.sha256] = record.id
    images.d.hashes.rebuild(lambda bucket, current: by_bucket.get(bucket, {}))


def png(n: int) -> bytes:
    from PIL import Image

    rng = random.Random(f"bench-{n}")
    out = io.BytesIO()
    Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3)).save(out, "PNG")
    return out.getvalue()


class Figures:
    """Time, requests and bytes of one measured step."""

    def __init__(self, seconds: float, counting: CountingStorage, per: int = 1) -> None:
        self.ms = seconds * 1000 / per
        self.requests = sum(counting.calls.values()) / per
        self.kb = counting.written / 1024 / per
        catalog = [k for op, k in counting.keys if op == "put" and (
            k == KEYS.index or k.startswith(KEYS.catalog_prefix))]
        self.catalog_writes = len(catalog) / per


def measure(storage: Storage, step: Callable[[Images], Any], *, fresh: bool = True,
            images: Images | None = None, per: int = 1) -> Figures:
    counting = CountingStorage(storage)
    domain = Images(counting, KEYS, limits=Limits()) if fresh or images is None else images
    if not fresh and images is not None:
        domain = images
        counting = images.d.storage  # type: ignore[assignment]
        counting.reset()
    started = time.perf_counter()
    step(domain)
    return Figures(time.perf_counter() - started, counting, per)


def run_backend(name: str, open_bucket: Callable[[], Storage], sizes: list[int],
                import_files: int) -> list[dict[str, Any]]:
    rows = []
    serial = iter(range(10**6))
    for size in [0, *sizes]:
        storage = open_bucket()
        if size:
            seed(storage, size)
        counting = CountingStorage(storage)
        images = Images(counting, KEYS, limits=Limits())
        images.view()
        row: dict[str, Any] = {"backend": name, "size": size}
        started = time.perf_counter()
        for n in range(20):  # what one small write costs in this bucket: the baseline
            storage.put(f"bench-probe/{n}", b"x" * 1024)
        row["put_ms"] = (time.perf_counter() - started) * 1000 / 20
        if size:
            singles = []
            for _ in range(UPLOADS):
                counting.reset()
                data = png(next(serial))
                started = time.perf_counter()
                images.upload(data, "one.png", uploaded_by="ada")
                singles.append(Figures(time.perf_counter() - started, counting))
            row["upload"] = sorted(singles, key=lambda f: f.ms)[len(singles) // 2]
            counting.reset()
            files = [png(next(serial)) for _ in range(BATCH)]
            started = time.perf_counter()
            with images.batch(lambda tag, verdict: None, size=BATCH) as batch:
                for n, data in enumerate(files):
                    batch.upload(n, data, f"{n}.png", uploaded_by="ada")
            row["batch"] = Figures(time.perf_counter() - started, counting)
            cold = CountingStorage(storage)
            fresh = Images(cold, KEYS, limits=Limits())
            started = time.perf_counter()
            fresh.page(1, 48)
            row["cold"] = Figures(time.perf_counter() - started, cold)
            cold.reset()
            started = time.perf_counter()
            fresh.page(1, 48)
            row["warm"] = Figures(time.perf_counter() - started, cold)
            row["search"] = time_searches(storage)
        if size in (0, sizes[-1]):
            files = [png(next(serial)) for _ in range(import_files)]
            counting.reset()
            started = time.perf_counter()
            with images.batch(lambda tag, verdict: None) as batch:
                for n, data in enumerate(files):
                    batch.upload(n, data, f"{n}.png", uploaded_by="ada")
            row["import"] = Figures(time.perf_counter() - started, counting)
        rows.append(row)
        storage.close()
    return rows


def time_searches(storage: Storage) -> dict[str, float]:
    """Milliseconds of searches, each "fresh" one in a new process's domain:

    * ``cold``: the first search (a page of 48 through the API's use case, by cursor,
      records of the page included);
    * ``first``: the first numbered page with its total (the grid's) ever asked of this
      bucket: every shard is read, then packed (see gallery/catalog/search_packs.py);
    * ``page``: the same page in another fresh process, from the packs;
    * ``warm``: the median of the searches again in a warm process.
    """
    queries = [Search(q, tag, sort) for q, tag, sort in SEARCHES]
    out: dict[str, float] = {}
    for name in ("cold", "first", "page"):
        fresh = Images(storage, KEYS, limits=Limits())
        started = time.perf_counter()
        if name == "cold":
            fresh.search(queries[0], limit=48)
        else:
            fresh.search_page(queries[0], 1, 48)
        out[name] = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            fresh.search(query, limit=48)
            warm.append((time.perf_counter() - started) * 1000)
    out["warm"] = sorted(warm)[len(warm) // 2]
    return out


def print_table(rows: list[dict[str, Any]], sizes: list[int]) -> None:
    def ratio(value: float, base: float) -> str:
        return f"{value / base:.2f}x" if base else "-"

    print("\nPer upload, per batch of 50 and per first page (medians; ratio against 1k). "
          "'put ms' is one 1 KB write to the same bucket, and 'norm.' the upload's ratio in "
          "units of it (fake-gcs-server slows down as a bucket holds more objects):")
    print(f"{'backend':8} {'images':>7} | {'put ms':>6} | {'upload ms':>9} {'ratio':>6} "
          f"{'norm.':>6} {'req':>5} {'KB':>7} "
          f"{'cat.w':>5} | {'batch ms':>8} {'ratio':>6} {'req':>5} {'KB':>7} {'cat.w':>5} | "
          f"{'cold ms':>7} {'req':>4} | {'warm ms':>7} {'req':>4}")
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend and r["size"]]
        base = mine[0]
        for r in mine:
            u, b, c, w = r["upload"], r["batch"], r["cold"], r["warm"]
            norm = ratio(u.ms / r["put_ms"], base["upload"].ms / base["put_ms"])
            print(f"{backend:8} {r['size']:>7} | {r['put_ms']:6.2f} | {u.ms:9.1f} "
                  f"{ratio(u.ms, base['upload'].ms):>6} {norm:>6} "
                  f"{u.requests:5.0f} {u.kb:7.1f} {u.catalog_writes:5.0f} | {b.ms:8.0f} "
                  f"{ratio(b.ms, base['batch'].ms):>6} {b.requests:5.0f} {b.kb:7.0f} "
                  f"{b.catalog_writes:5.0f} | {c.ms:7.1f} {c.requests:4.0f} | {w.ms:7.2f} "
                  f"{w.requests:4.0f}")
    print("\nSearch (words, a tag, sort by date taken; a page of 48): the first in a fresh "
          "process (the API's, by cursor); the first numbered page with its total (the "
          "grid's) ever asked of the bucket, which reads every shard and packs them; the "
          "same page in another fresh process, from the packs (ratio against the first "
          "ever); the median of warm ones:")
    for r in rows:
        if r["size"]:
            f = r["search"]
            print(f"{r['backend']:8} {r['size']:>7} | cold {f['cold']:7.1f} ms | first page "
                  f"{f['first']:7.1f} ms | cold page {f['page']:7.1f} ms "
                  f"{ratio(f['page'], f['first']):>6} | warm {f['warm']:6.1f} ms")
    print("\nImport (batches of 50) into the largest gallery against into an empty one:")
    for backend in dict.fromkeys(r["backend"] for r in rows):
        empty = next(r for r in rows if r["backend"] == backend and r["size"] == 0)["import"]
        full = next(r for r in rows if r["backend"] == backend and r["size"] == sizes[-1])["import"]
        e_put = next(r for r in rows if r["backend"] == backend and r["size"] == 0)["put_ms"]
        f_put = next(r for r in rows if r["backend"] == backend
                     and r["size"] == sizes[-1])["put_ms"]
        print(f"{backend:8} into empty {empty.ms / 1000:6.2f} s, {empty.kb / 1024:6.1f} MB written"
              f" | into {sizes[-1]:,}: {full.ms / 1000:6.2f} s, {full.kb / 1024:6.1f} MB written"
              f" | ratio {full.ms / empty.ms:.2f}x time ({full.ms / f_put / (empty.ms / e_put):.2f}x"
              f" in units of a put), {full.kb / empty.kb:.2f}x bytes")


WORKER = r"""
import random, sys, time
from gallery import create_app
from gallery.catalog import table
app = create_app({"storage": sys.argv[1]})
client = app.test_client()
def get(path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response
get("/")
get("/?page=50")
cursor = None
for _ in range(20):
    body = get("/api/v1/images?limit=100" + (f"&cursor={cursor}" if cursor else "")).get_json()
    cursor = body["next_cursor"]
images = app.extensions["gallery"].images
started = time.perf_counter()
rows = images.view().rows()
table.search(rows, table.Query(text="beach"))
cold = (time.perf_counter() - started) * 1000
rng = random.Random(1)
step = int(sys.argv[2])
for row in rng.sample(sorted(rows, key=lambda r: r.key)[::step], 300):
    get(f"/images/{row.id}")
    get(f"/media/{row.id}/sm")
timings = []
for text in ("beach", "IMG_12", "nothing-matches"):
    started = time.perf_counter()
    table.search(images.view().rows(), table.Query(text=text))
    timings.append((time.perf_counter() - started) * 1000)
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(f"{peak:.0f} {max(timings):.0f} {cold:.0f}")
"""


def worker_memory(size: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as folder:
        from gallery.accounts import Accounts
        from gallery.storage.local import FileStorage

        storage = FileStorage(folder)
        seed(storage, size)
        Accounts(storage, KEYS).create_user("ada", "a long bench password", "admin")
        step = max(1, size // 2000)
        for record in list(Images(storage, KEYS, limits=Limits()).view().records())[::step]:
            storage.put(KEYS.meta(record.id), __import__("orjson").dumps(record.to_json()))
            for variant in record.variants:
                storage.put(KEYS.variant(record.id, variant.name), b"RIFF0000WEBP")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", WORKER, f"file://{folder}", str(step)], env=env,
                             capture_output=True, text=True, check=False)
        if out.returncode:
            print(out.stderr[-3000:])
            return
        peak, warm, cold = out.stdout.split()
        print(f"\nA worker serving {size:,} images (file backend, through the WSGI app): peak "
              f"resident memory {peak} MB after the first page, page 50, 20 API pages and 300 "
              f"image pages with thumbnails; admin text filter over all {size:,}: {warm} ms warm, "
              f"{cold} ms cold.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="memory,file,gcs")
    parser.add_argument("--import-files", type=int, default=1000)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        if backend == "memory":
            from gallery.storage.memory import MemoryStorage

            rows += run_backend("memory", MemoryStorage, sizes, args.import_files)
        elif backend == "file":
            from gallery.storage.local import FileStorage

            with tempfile.TemporaryDirectory(prefix="bench-catalog-") as folder:
                made = iter(range(100))
                rows += run_backend("file", lambda folder=folder, made=made: FileStorage(
                    f"{folder}/{next(made)}"), sizes,
                                    args.import_files)
        elif backend == "gcs":
            from tests.support.gcs_server import GCSServer, emulator_env

            with GCSServer() as server:
                os.environ.update(emulator_env(server.url))
                from gallery.storage import open_storage

                rows += run_backend("gcs", lambda: open_storage(
                    f"gs://{server.create_bucket()}", timeout=60), sizes,
                    max(100, args.import_files // 3))
        print(f"{backend}: measured", flush=True)
    print_table(rows, sizes)
    worker_memory(sizes[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
