"""Run every benchmark in bench/, one after another (``make bench``).

Run: ``python bench/run.py [NAME ...]`` (names without ``.py`` pick some: ``media catalog``)

Each script runs with this interpreter from the repository root under a
heading; the exit status is non-zero when any of them fails or is unknown.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIRST = ["catalog.py", "media.py", "thumbnails.py", "pages.py"]


def scripts() -> list[Path]:
    """The benchmark scripts: the usual ones first, then any others by name."""
    found = {p.name: p for p in HERE.glob("*.py") if p.name != Path(__file__).name
             and not p.name.startswith("_")}
    ordered = [found.pop(name) for name in FIRST if name in found]
    return ordered + [found[name] for name in sorted(found)]


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    chosen = scripts()
    unknown: list[str] = []
    if names:
        wanted = {name.removesuffix(".py") for name in names}
        unknown = sorted(wanted - {p.stem for p in chosen})
        chosen = [p for p in chosen if p.stem in wanted]
    failed = [f"{name} (no such benchmark)" for name in unknown]
    for script in chosen:
        title = f"bench/{script.name}"
        print(f"\n{'=' * 8} {title} {'=' * max(8, 70 - len(title))}", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=ROOT)
        took = time.monotonic() - start
        if code != 0:
            failed.append(f"{script.name} (exit status {code})")
            print(f"-- {script.name} FAILED with exit status {code} after {took:.0f} s", flush=True)
        else:
            print(f"-- {script.name} done in {took:.0f} s", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nAll {len(chosen)} benchmarks ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
