"""What an upload costs in index time, at 1k and 10k images.

Builds an index of N realistic records on the memory and the folder backend,
then times one read-modify-write (a compare-and-swap add of one record):
orjson against the standard library's json (read, parse, check, add, serialise,
conditional write), the full ``ImageIndex.update`` (which also rebuilds the
cached snapshot), a cached ``snapshot()`` (one stat) and a cold one (download
and parse). Prints a table; asserts nothing.

Columns: bytes per image and index size; one compare-and-swap add (read,
parse, check, add, serialise, conditional write) with orjson and with json and
their ratio; serialise + parse alone, both ways; ``ImageIndex.update`` (starts
from the cached parse when the stored version is unchanged, and rebuilds the
snapshot); a cached ``snapshot()``; a cold one. Medians, in milliseconds. On
the folder backend every write is fsynced, which dominates at 1k images.

Run: ``python bench/index.py`` (add ``--sizes 1000,10000 --repeat 9``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def realistic_record(rng: random.Random, number: int) -> dict[str, Any]:
    """A record shaped like the ones uploads write (see ``gallery.service``)."""
    def digest() -> str:
        return hashlib.sha256(rng.randbytes(16)).hexdigest()

    image_id = rng.randbytes(16).hex()
    width, height = rng.choice([(4032, 3024), (3024, 4032), (1920, 1080), (800, 600)])
    record: dict[str, Any] = {
        "id": image_id,
        "filename": f"IMG_2026{rng.randrange(10**8):08d}.jpg",
        "content_type": "image/jpeg",
        "format": "JPEG",
        "size": rng.randrange(200_000, 8_000_000),
        "width": width,
        "height": height,
        "sha256": digest(),
    }
    if number % 3 == 0:  # phone photos: GPS removed, so the stored bytes differ
        record["upload_sha256"] = digest()
    seconds = 1_700_000_000 + number * 60
    record["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000Z"
    record["uploaded_by"] = rng.choice(["alice", "bob", "carol"])
    record["title"] = f"IMG_2026{number:08d}"
    if number % 5 == 0:
        record["description"] = "A walk along the harbour at dusk, with the old lighthouse."
    record["frames"] = 1
    record["placeholder"] = f"#{rng.randrange(2**24):06x}"
    if number % 3 == 0:
        record["gps_removed"] = True
    scale_lg = 1600 / max(width, height)
    scale_sm = 400 / max(width, height)
    record["variants"] = {
        "lg": {"w": round(width * scale_lg), "h": round(height * scale_lg),
               "size": rng.randrange(80_000, 400_000), "sha256": digest()},
        "sm": {"w": round(width * scale_sm), "h": round(height * scale_sm),
               "size": rng.randrange(8_000, 40_000), "sha256": digest()},
    }
    return record


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run(sizes: list[int], repeat: int) -> None:
    import orjson

    from gallery.documents import JSON_TYPE
    from gallery.index import ImageIndex, check_index
    from gallery.keys import Keys
    from gallery.storage.local import FileStorage
    from gallery.storage.memory import MemoryStorage

    keys = Keys("bench/")
    rng = random.Random(2026)
    header = (f"{'images':>7} {'backend':>7} {'B/image':>8} {'index KB':>9} "
              f"{'CAS orjson':>11} {'CAS json':>9} {'ratio':>6} "
              f"{'ser+parse orjson':>17} {'ser+parse json':>15} {'ratio':>6} {'update()':>9} "
              f"{'cached':>7} {'cold':>7}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            records = [realistic_record(rng, n) for n in range(count)]
            value = {"format": 1, "images": {r["id"]: r for r in records}}
            body = orjson.dumps(value)
            for backend in ("memory", "file"):
                storage = (MemoryStorage() if backend == "memory"
                           else FileStorage(str(Path(tmp) / f"{count}")))
                storage.put(keys.index, body, content_type=JSON_TYPE)
                extra = iter(realistic_record(rng, count + n) for n in range(10 * repeat + 10))

                def cas(loads: Callable[[bytes], Any], dumps: Callable[[Any], bytes]) -> None:
                    raw, info = storage.read(keys.index)
                    current = check_index(loads(raw))
                    record = next(extra)
                    current["images"][record["id"]] = record
                    storage.put(keys.index, dumps(current), content_type=JSON_TYPE,
                                if_version=info.version)

                def std_dumps(v: Any) -> bytes:
                    return json.dumps(v, separators=(",", ":")).encode()

                cas_orjson = median_ms(lambda: cas(orjson.loads, orjson.dumps), repeat)
                cas_json = median_ms(lambda: cas(json.loads, std_dumps), repeat)
                ser_orjson = median_ms(lambda: orjson.loads(orjson.dumps(value)), repeat)
                ser_json = median_ms(lambda: json.loads(std_dumps(value)), repeat)

                index = ImageIndex(storage, keys)

                def add_one() -> None:
                    record = next(extra)

                    def mutate(v: dict[str, Any]) -> None:
                        v["images"][record["id"]] = record

                    index.update(mutate)

                update_ms = median_ms(add_one, repeat)
                cached_ms = median_ms(index.snapshot, repeat)
                cold_ms = median_ms(lambda: ImageIndex(storage, keys).snapshot(), repeat)
                size = storage.stat(keys.index).size
                per_image = len(body) / count
                print(f"{count:>7} {backend:>7} {per_image:>8.0f} {size / 1024:>9.0f} "
                      f"{cas_orjson:>9.2f}ms {cas_json:>7.2f}ms {cas_json / cas_orjson:>5.1f}x "
                      f"{ser_orjson:>15.2f}ms {ser_json:>13.2f}ms {ser_json / ser_orjson:>5.1f}x "
                      f"{update_ms:>7.2f}ms "
                      f"{cached_ms:>5.3f}ms {cold_ms:>5.1f}ms")
                storage.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="index sizes, comma separated")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per figure (median)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    run([int(s) for s in args.sizes.split(",")], max(1, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
