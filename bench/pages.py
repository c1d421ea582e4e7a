"""How heavy is the grid page? Thumbnails against the same grid showing the originals, in Chromium.

Run: ``python bench/pages.py [--images 200] [--rounds 3] [--mbps 25]``

A gallery of ``--images`` photo-like JPEGs (1800-2400 x 1200-1600 px, 2.2-3.8
megapixels, about half a megabyte each, like web-sized camera photos; made once
per run from a few generated scenes, each with a shape of its own so no two are
duplicates, and uploaded through the domain by two processes) is served as
``make run`` serves it (waitress, 8 threads) on loopback, with ``GALLERY_PAGE_SIZE`` set to
the number of images, so the first page holds them all. Headless Chromium
(the system's, through Playwright; 1280x860 viewport, device pixel ratio 1, an
empty cache for every load) opens ``/`` in two ways:

* ``gallery``: the page as served, thumbnails (``src`` ``/media/<id>/sm`` with a
  ``srcset`` of the WebP variants, ``loading=lazy``);
* ``baseline``: the very same HTML with every ``/media/<id>/<variant>`` URL
  rewritten to the original ``/media/<id>`` and ``srcset``/``sizes`` removed
  (the response to ``/`` is rewritten on its way into the browser), which is
  what a grid without thumbnails costs.

Scenarios: the first view on loopback, the first view on an emulated
``--mbps`` Mbit/s link with 20 ms latency (DevTools network emulation), and the
whole page scrolled to the bottom on loopback, waiting until every image has
loaded (lazy loading fetches them on the way). Bytes are the encoded sizes of
every response the page received (headers and bodies, DevTools
``Network.loadingFinished``); times come from the page's Navigation Timing
(DOMContentLoaded and load, from the start of navigation); the scrolled case
reports the time from navigation until the last image finished. Each figure
is the median of ``--rounds`` loads, the two pages alternating. Ratios are
baseline/gallery: how many times fewer bytes, how many times sooner.
Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENES = 4
QUALITY = 75
VIEWPORT = {"width": 1280, "height": 860}
LATENCY_MS = 20
LOAD_TIMEOUT_MS = 180_000
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VARIANT_URL = re.compile(r"(/media/[A-Za-z0-9_-]+)/[a-z]+\b")
SRCSET = re.compile(r'\s(?:srcset|sizes)="[^"]*"')


# --- the gallery -----------------------------------------------------------------------


@cache
def _scene(index: int) -> Any:
    """A large photo-like picture to cut the uploads from (cached per process)."""
    from tests.imaging import fixtures

    return fixtures.photo(2600 + 40 * index, 1800 + 20 * index)


def make_photo(n: int) -> tuple[bytes, str]:
    """Photo ``n``: a window of one scene, 2.2-3.8 megapixels, with a shape of its own."""
    from PIL import ImageDraw

    scene = _scene(n % SCENES)
    width, height = 1800 + (n * 37) % 601, 1200 + (n * 53) % 401
    left, top = (n * 29) % (scene.width - width), (n * 17) % (scene.height - height)
    image = scene.crop((left, top, left + width, top + height))
    x, y = (n * 131) % (width - 300), (n * 71) % (height - 300)
    colour = ((n * 71) % 256, (n * 131) % 256, (n * 29) % 256)
    ImageDraw.Draw(image).ellipse((x, y, x + 260, y + 260), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue(), f"photo {n:03d}.jpg"


def _upload_share(bucket: str, numbers: list[int]) -> int:
    """Make and upload some of the photos (runs in a worker process); their bytes."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from gallery import create_app

    app = create_app({"storage": f"file://{bucket}", "secret_key": "bench"}, environ={})
    runtime = app.extensions["gallery"]
    total = 0
    for n in numbers:
        data, name = make_photo(n)
        runtime.images.upload(data, name, uploaded_by="bench")
        total += len(data)
    runtime.storage.close()
    return total


def build_gallery(bucket: Path, count: int) -> int:
    """Fill ``bucket`` with ``count`` photos using two processes; the originals' bytes."""
    from gallery import create_app

    app = create_app({"storage": f"file://{bucket}", "secret_key": "bench"}, environ={})
    app.extensions["gallery"].accounts.create_user("bench", "bench password 1", role="admin")
    app.extensions["gallery"].storage.close()
    shares = [list(range(i, count, 2)) for i in range(2)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(_upload_share, [str(bucket)] * 2, shares))


# --- loading the page ------------------------------------------------------------------


def baseline_html(html: str) -> str:
    """The grid's HTML with originals in place of thumbnails."""
    return SRCSET.sub("", VARIANT_URL.sub(r"\1", html))


class Load:
    """One page load in a fresh browser context (empty cache), measured over DevTools."""

    def __init__(self, browser: Any, base: str, baseline: bool, mbps: float) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self.page = self.context.new_page()
        self.page.set_default_timeout(LOAD_TIMEOUT_MS)
        self.bytes = 0
        self.requests = 0
        self.images = 0
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if mbps:
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": LATENCY_MS,
                "downloadThroughput": mbps * 1e6 / 8, "uploadThroughput": mbps * 1e6 / 8,
            })
        self._types: dict[str, str] = {}
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        if baseline:
            self.page.route(f"{base}/", self._rewrite)
        self.url = f"{base}/"

    def _response(self, event: dict[str, Any]) -> None:
        self._types[event["requestId"]] = event.get("type", "")

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))
        self.requests += 1
        if self._types.get(event["requestId"]) == "Image":
            self.images += 1

    @staticmethod
    def _rewrite(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=baseline_html(response.text()))

    def first_view(self) -> dict[str, float]:
        """Open the page; bytes and times once it has loaded and the network is quiet."""
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        timing = self.page.evaluate("""() => {
          const nav = performance.getEntriesByType('navigation')[0];
          return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
        }""")
        return {"bytes": self.bytes, "requests": self.requests, "images": self.images,
                "dcl_ms": timing["dcl"], "load_ms": timing["load"]}

    def scrolled(self) -> dict[str, float]:
        """Open the page and scroll to the bottom a screen at a time; wait for every image."""
        self.page.goto(self.url, wait_until="load")
        height = self.page.evaluate("document.documentElement.scrollHeight")
        for y in range(0, int(height) + VIEWPORT["height"], VIEWPORT["height"]):
            self.page.evaluate(f"window.scrollTo(0, {y})")
            self.page.wait_for_timeout(50)
        self.page.wait_for_function(
            "() => Array.from(document.images).every(i => i.complete)",
            timeout=LOAD_TIMEOUT_MS)
        self.page.wait_for_load_state("networkidle")
        done = self.page.evaluate("""() => Math.max(...performance.getEntriesByType('resource')
            .filter(r => r.initiatorType === 'img').map(r => r.responseEnd), 0)""")
        shown = self.page.evaluate("document.querySelectorAll('ul.grid img').length")
        return {"bytes": self.bytes, "requests": self.requests, "images": self.images,
                "all_ms": done, "shown": shown}

    def close(self) -> None:
        self.context.close()


def measure(browser: Any, base: str, scenario: str, baseline: bool, mbps: float) -> dict:
    load = Load(browser, base, baseline, mbps if scenario == "throttled" else 0)
    try:
        return load.scrolled() if scenario == "scrolled" else load.first_view()
    finally:
        load.close()


# --- main ------------------------------------------------------------------------------


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _ratio(base: float, ours: float) -> str:
    return f"{base / ours:>6.1f}x" if ours else f"{'-':>7}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="images in the gallery")
    parser.add_argument("--rounds", type=int, default=3, help="loads per page and scenario")
    parser.add_argument("--mbps", type=float, default=25.0, help="emulated link for one scenario")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from media import Server, clean_env
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Playwright is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not chromium:
        print("Chromium is not installed: apt-get install chromium (or set CHROMIUM)",
              file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bucket = tmp_path / "bucket"
        start = time.monotonic()
        originals = build_gallery(bucket, args.images)
        print(f"Grid page weight: {args.images} photo-like JPEGs "
              f"({originals / args.images / 1e3:.0f} KB each on average, made and uploaded in "
              f"{time.monotonic() - start:.0f} s), GALLERY_PAGE_SIZE={args.images} (one page), "
              f"waitress on loopback, Chromium {VIEWPORT['width']}x{VIEWPORT['height']} "
              f"at 1x, empty cache, median of {args.rounds} loads")
        server = Server("gallery", "app:app", ROOT, clean_env(
            GALLERY_STORAGE=f"file://{bucket}", GALLERY_SECRET_KEY="bench",
            GALLERY_PAGE_SIZE=str(args.images)), tmp_path / "gallery.log")
        driver = sync_playwright().start()
        browser = None
        try:
            server.wait_ready("/", time.monotonic() + 30)
            base = f"http://127.0.0.1:{server.port}"
            browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            print(f"Chromium {browser.version} at {chromium}")
            scenarios = [("first view, loopback", "loopback"),
                         (f"first view, {args.mbps:g} Mbit/s", "throttled"),
                         ("scrolled to the bottom", "scrolled")]
            for baseline in (False, True):  # warm-up (workers, caches): not counted
                measure(browser, base, "loopback", baseline, args.mbps)
            results: dict[tuple[str, bool], list[dict]] = {}
            for _, scenario in scenarios:
                for round_ in range(args.rounds):
                    order = (False, True) if round_ % 2 == 0 else (True, False)
                    for baseline in order:
                        got = measure(browser, base, scenario, baseline, args.mbps)
                        results.setdefault((scenario, baseline), []).append(got)
        finally:
            if browser is not None:
                browser.close()
            driver.stop()
            server.stop()

    print()
    header = (f"{'scenario':<24} {'page':<9} {'MB':>8} {'requests':>9} {'images':>7} "
              f"{'DCL ms':>8} {'load ms':>8} {'all images ms':>14}")
    print(header)
    print("-" * len(header))
    for title, scenario in scenarios:
        rows = {}
        for baseline in (False, True):
            runs = results[(scenario, baseline)]
            row = {key: _median(runs, key) for key in runs[0]}
            rows[baseline] = row
            name = "baseline" if baseline else "gallery"
            timing = (f"{'':>8} {'':>8} {row['all_ms']:>14.0f}" if scenario == "scrolled"
                      else f"{row['dcl_ms']:>8.0f} {row['load_ms']:>8.0f} {'':>14}")
            print(f"{title if not baseline else '':<24} {name:<9} {row['bytes'] / 1e6:>8.2f} "
                  f"{row['requests']:>9.0f} {row['images']:>7.0f} {timing}")
        ours, base_row = rows[False], rows[True]
        if scenario == "scrolled":
            times = f"{'':>8} {'':>8} {_ratio(base_row['all_ms'], ours['all_ms']):>14}"
        else:
            times = (f"{_ratio(base_row['dcl_ms'], ours['dcl_ms']):>8} "
                     f"{_ratio(base_row['load_ms'], ours['load_ms']):>8} {'':>14}")
        print(f"{'':<24} {'ratio':<9} {_ratio(base_row['bytes'], ours['bytes']):>8} "
              f"{'':>9} {'':>7} {times}")
    print("MB: encoded bytes received (headers and bodies) until the network was quiet; images: "
          "image responses among the requests.\nratio: baseline/gallery (times fewer bytes, times "
          "sooner). baseline: the same HTML with originals instead of thumbnails.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
