"""How fast are thumbnails made? Our pipeline against naive Pillow and pyvips.

Run: ``python bench/thumbnails.py [--runs N] [--megapixels 12,24] [--formats jpeg,heic,avif]``

For each photo-like JPEG (generated once per run, quality 90; generation is not
timed), and a 12 MP HEIC (HEVC through libvips' libheif and x265) and AVIF
(Pillow's libavif), the methods take turns for ``--runs`` rounds, so that anything else the
machine does slows them alike. Each turn is a child process of its own: one
warm-up, then one timed run. The median over the rounds is reported, and the
children's peak resident memory
(``ru_maxrss``: the whole process, interpreter and libraries included, so C
allocations count too; Linux carries it over ``exec``, so the parent never holds
a decoded photo). Every method makes one WebP per entry of VARIANT_SIZES at
the same quality and effort:

* ``gallery make_variants``: validation plus thumbnails, as used to regenerate them
* ``gallery process_upload``: all of an upload (adds hashing and location removal)
* ``gallery, WebP effort 2``: make_variants with libwebp effort 2 instead of 4
* ``naive Pillow``: per size, open the original again, ``thumbnail()`` without draft
  or reducing gap, save WebP
* ``naive Pillow, WebP effort 2``: the same at effort 2, the fair baseline for the
  effort-2 row
* ``pyvips``: per size, ``thumbnail_buffer`` then ``webpsave_buffer``

For the HEIC and the AVIF the effort-2 rows are left out, and naive Pillow
opens them with pi-heif's opener and Pillow's AVIF plugin, decoding the whole
picture once per thumbnail, as Pillow does without draft scaling (HEIF has none).

libvips uses every core; ours uses a second thread for the largest WebP encode;
naive Pillow uses one.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {12: (4000, 3000), 24: (6000, 4000)}
METHODS = [
    "gallery make_variants", "gallery process_upload", "gallery, WebP effort 2",
    "naive Pillow", "naive Pillow, WebP effort 2", "pyvips",
]
#: Formats other than JPEG, each measured at 12 MP, without the effort-2 rows.
CONTAINED = {"heic": "HEIC", "avif": "AVIF"}
CONTAINED_METHODS = [name for name in METHODS if not name.endswith("effort 2")]


def _method(name: str) -> Callable[[bytes], int]:
    """The function a child process times; it returns the bytes of WebP it made."""
    from PIL import Image

    from gallery.imaging import VARIANT_SIZES, make_variants, process_upload
    from gallery.imaging.thumbnails import WEBP_METHOD, WEBP_QUALITY

    if name == "gallery make_variants":
        return lambda data: sum(len(v.data) for v in make_variants(data))
    if name == "gallery process_upload":
        return lambda data: sum(len(v.data) for v in process_upload(data).variants)
    if name == "gallery, WebP effort 2":
        from gallery.imaging import thumbnails

        thumbnails.WEBP_METHOD = 2  # this child process only: what the faster effort would give
        return lambda data: sum(len(v.data) for v in make_variants(data))
    if name.startswith("naive Pillow"):
        effort = 2 if name.endswith("effort 2") else WEBP_METHOD
        import pi_heif

        pi_heif.register_heif_opener()  # HEIC; Pillow opens AVIF (and JPEG) itself

        def naive(data: bytes) -> int:
            total = 0
            for side in VARIANT_SIZES.values():
                with Image.open(BytesIO(data)) as im:
                    im.thumbnail((side, side), reducing_gap=None)
                    out = BytesIO()
                    im.save(out, "WEBP", quality=WEBP_QUALITY, method=effort)
                    total += len(out.getvalue())
            return total

        return naive
    if name == "pyvips":
        import pyvips  # raises when libvips is missing

        strip = {"keep": "none"} if pyvips.at_least_libvips(8, 15) else {"strip": True}

        def vips(data: bytes) -> int:
            total = 0
            for side in VARIANT_SIZES.values():
                thumb = pyvips.Image.thumbnail_buffer(data, side)
                total += len(thumb.webpsave_buffer(Q=WEBP_QUALITY, effort=WEBP_METHOD, **strip))
            return total

        return vips
    raise SystemExit(f"unknown method {name!r}")


def child(name: str, path: str, runs: int) -> None:
    """Time one method on one file; print a JSON line."""
    sys.path.insert(0, str(ROOT))
    data = Path(path).read_bytes()
    run = _method(name)
    output = run(data)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(data)
        times.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"median": statistics.median(times), "rss_mb": peak_kb / 1024, "bytes": output}))


def generate(megapixels: int, path: str, kind: str = "jpeg") -> None:
    """Write the photo-like JPEG, HEIC or AVIF (in a child, so the parent's peak memory
    stays small; the HEIC is encoded by libvips, whose libheif must stay out of the
    processes that load pi-heif's)."""
    sys.path.insert(0, str(ROOT))
    from tests.imaging.fixtures import photo

    im = photo(*SIZES[megapixels])
    out = BytesIO()
    if kind == "heic":
        import pyvips

        image = pyvips.Image.new_from_memory(im.tobytes(), im.width, im.height, 3, "uchar")
        out.write(image.heifsave_buffer(compression="hevc", Q=85))
    elif kind == "avif":
        im.save(out, "AVIF", quality=80, speed=8)
    else:
        im.save(out, "JPEG", quality=90)
    Path(path).write_bytes(out.getvalue())


def _measure(name: str, path: Path, runs: int) -> dict[str, float] | str:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return last
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rounds(path: Path, runs: int, methods: list[str]) -> dict[str, dict[str, float] | str]:
    """Every method once per round, in turn; the median time and the peak memory."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in methods}
    failed: dict[str, str] = {}
    for _ in range(runs):
        for name in methods:
            if name in failed:
                continue
            result = _measure(name, path, 1)
            if isinstance(result, str):
                failed[name] = result
            else:
                samples[name].append(result)
    results: dict[str, dict[str, float] | str] = dict(failed)
    for name, taken in samples.items():
        if taken:
            results[name] = {
                "median": statistics.median(s["median"] for s in taken),
                "rss_mb": max(s["rss_mb"] for s in taken),
                "bytes": taken[0]["bytes"],
            }
    return results


def main(argv: list[str] | None = None) -> int:
    """Generate the test photos, measure every method, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (each method once per round)")
    parser.add_argument("--megapixels", default="12,24", help="comma-separated: 12, 24")
    parser.add_argument("--formats", default="jpeg,heic,avif",
                        help="comma-separated: jpeg (at --megapixels), heic, avif (at 12 MP)")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=3, metavar=("MP", "FILE", "KIND"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.runs)
        return 0
    if args.generate:
        generate(int(args.generate[0]), args.generate[1], args.generate[2])
        return 0

    sys.path.insert(0, str(ROOT))
    from gallery.imaging import VARIANT_SIZES
    from gallery.imaging.thumbnails import WEBP_METHOD, WEBP_QUALITY

    formats = [x.strip().lower() for x in args.formats.split(",") if x.strip()]
    plan = [(megapixels, "jpeg") for megapixels in (int(x) for x in args.megapixels.split(","))
            if "jpeg" in formats]
    plan += [(12, kind) for kind in CONTAINED if kind in formats]
    variants = ", ".join(f"{name} {side}px" for name, side in VARIANT_SIZES.items())
    print(f"Thumbnails ({variants}; WebP q{WEBP_QUALITY} effort {WEBP_METHOD}), median of {args.runs} rounds")
    header = f"{'image':<16} {'method':<28} {'ms':>8} {'vs naive':>9} {'vs pyvips':>10} {'peak RSS MB':>12} {'WebP KB':>8}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for megapixels, kind in plan:
            path = Path(tmp) / f"{megapixels}mp.{kind}"
            subprocess.run([sys.executable, __file__, "--generate", str(megapixels), str(path), kind],
                           check=True)
            label = f"{megapixels} MP {CONTAINED.get(kind, 'JPEG')}"
            methods = CONTAINED_METHODS if kind in CONTAINED else METHODS
            results = _rounds(path, args.runs, methods)
            vips = results["pyvips"]
            for name in methods:
                result = results[name]
                # Each row is compared with naive Pillow at the same WebP effort.
                naive = results["naive Pillow, WebP effort 2" if name.endswith("effort 2") else "naive Pillow"]
                if isinstance(result, str):
                    why = "libvips is not installed" if name == "pyvips" else result
                    print(f"{label:<16} {name:<28} skipped: {why}")
                    continue
                ms = result["median"] * 1000
                vs_naive = f"{naive['median'] / result['median']:.2f}x" if isinstance(naive, dict) else "-"
                vs_vips = f"{result['median'] / vips['median']:.2f}" if isinstance(vips, dict) else "-"
                print(
                    f"{label:<16} {name:<28} {ms:8.0f} {vs_naive:>9} {vs_vips:>10} "
                    f"{result['rss_mb']:12.0f} {result['bytes'] / 1024:8.0f}"
                )
                label = ""
    print("vs naive: how many times faster than naive Pillow at the same WebP effort; "
          "vs pyvips: our time / pyvips time.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
