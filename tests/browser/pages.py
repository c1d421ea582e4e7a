"""What the browser tests do to pages: sign in, drop and paste files, run axe, take screenshots.

Plain functions over a Playwright ``Page``, so each test reads as what a person does.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with an install hint
    expect = None

from tests.imaging import fixtures

ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

#: Titles the seeded images get (the title is the file name's stem).
NAMES = [
    "Harbour at dawn", "Alpine meadow", "Old town square", "Desert road", "Winter forest",
    "City lights", "Coastal cliffs", "Lavender field", "River bend", "Autumn park",
    "Lighthouse", "Rice terraces",
]

#: Impacts that fail the accessibility check; minor and moderate ones are printed only.
BLOCKING_IMPACTS = ("serious", "critical")

#: A file named like a photo that is not one: the server refuses it by its content.
NOT_AN_IMAGE = ("notes.jpg", "image/jpeg", b"These are holiday notes, not a picture.\n" * 8)


# --- images ---------------------------------------------------------------------------


#: Sky colours (top, horizon) and land colours the scenes pick from.
SKIES = [((36, 59, 120), (247, 181, 120)), ((93, 156, 220), (206, 232, 247)),
         ((20, 24, 60), (196, 92, 86)), ((120, 170, 210), (240, 226, 190)),
         ((60, 40, 90), (250, 160, 110)), ((150, 190, 220), (235, 240, 245))]
LANDS = [(46, 74, 62), (84, 98, 60), (70, 60, 80), (110, 84, 60), (40, 60, 90), (96, 110, 84)]


def _blend(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, ...]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def photo(n: int, size: tuple[int, int] = (720, 480)) -> tuple[bytes, str]:
    """A photo-like JPEG (a landscape: sky, sun, ridges, sensor grain) and a file name.

    Every ``n`` gives a different scene, so no two are duplicates.
    """
    width, height = size
    top, horizon = SKIES[n % len(SKIES)]
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", size, horizon), Image.new("RGB", size, top), sky)
    draw = ImageDraw.Draw(image)
    sun_x, sun_y, radius = width * (0.2 + 0.6 * ((n * 37) % 100) / 100), height * 0.32, height * 0.08
    draw.ellipse((sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius),
                 fill=_blend(horizon, (255, 245, 220), 0.7))
    land = LANDS[(n * 5) % len(LANDS)]
    for layer in range(3):
        base = height * (0.5 + 0.15 * layer)
        points = [(0, height)]
        for step in range(13):
            x = width * step / 12
            bump = ((n * 131 + layer * 71 + step * 53) % 97) / 97
            points.append((x, base - height * 0.12 * bump))
        points.append((width, height))
        draw.polygon(points, fill=_blend(horizon, land, 0.45 + 0.27 * layer))
    grain = fixtures.noise(size, 10, seed=n).convert("RGB")
    image = ImageChops.add(image, grain, 1, -128)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    name = NAMES[n % len(NAMES)] + (f" {n // len(NAMES) + 1}" if n >= len(NAMES) else "")
    return out.getvalue(), f"{name}.jpg"


def png(n: int) -> tuple[bytes, str]:
    """A small PNG with a colour of its own: quick to upload."""
    image = Image.new("RGB", (160, 120), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    ImageDraw.Draw(image).rectangle((10 + n % 100, 10, 40 + n % 100, 40), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), f"swatch {n}.png"


def file_payload(name: str, mime: str, data: bytes) -> dict[str, str]:
    """A file as Playwright's ``set_input_files`` takes it."""
    return {"name": name, "mimeType": mime, "buffer": data}


# --- doing things ---------------------------------------------------------------------


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through the form, as a person does, and wait to land on the gallery."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


_DROP = """([selector, files, kind]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(selector);
  if (!target) throw new Error(`nothing matches ${selector}`);
  if (kind === 'paste') {
    target.dispatchEvent(new ClipboardEvent('paste', {bubbles: true, cancelable: true,
                                                      clipboardData: transfer}));
    return;
  }
  const box = target.getBoundingClientRect();
  const at = {clientX: box.x + box.width / 2, clientY: box.y + box.height / 2};
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                              dataTransfer: transfer, ...at}));
  }
}"""


def _encoded(files: list[tuple[str, str, bytes]]) -> list[dict[str, str]]:
    return [{"name": name, "type": mime, "data": base64.b64encode(data).decode()}
            for name, mime, data in files]


def drop_files(page: Any, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drag ``files`` (name, type, bytes) over ``selector`` and drop them, with the events
    and the ``DataTransfer`` a real drop from the desktop brings (once the upload page's
    script shows it is listening)."""
    page.locator(".dropzone-hint").wait_for(state="visible")
    page.evaluate(_DROP, [selector, _encoded(files), "drop"])


def paste_files(page: Any, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Paste ``files`` into ``selector`` (what Ctrl+V of a copied image sends), once the
    upload page's script listens."""
    page.locator(".dropzone-hint").wait_for(state="visible")
    page.evaluate(_DROP, [selector, _encoded(files), "paste"])


_AXE_RUN = """async () => {
  await document.fonts.ready;
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary
      ? ' -- ' + n.failureSummary.replace(/\\s+/g, ' ') : '')),
  }));
}"""


def check_accessibility(page: Any, what: str) -> list[dict[str, Any]]:
    """Run axe-core on the page as it stands; fail on any serious or critical violation.

    axe must already be in the page (the ``axe`` fixture adds it to every page
    of the context before the page's own scripts run). Returns every violation,
    blocking or not, so a test can look at the minor ones too.
    """
    # A page reached by a click may be in the DOM (and its headings "visible") before its
    # stylesheets have arrived; axe would judge colours nobody is shown.
    page.wait_for_load_state("load")
    violations = page.evaluate(_AXE_RUN)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(
        f"  {v['impact']}: {v['id']} ({v['help']})\n" + "\n".join(f"      {t}" for t in v["targets"])
        for v in blocking
    )
    assert not blocking, f"accessibility violations on {what} ({page.url}):\n{report}"
    return violations


def screenshot(page: Any, name: str, **options: Any) -> Path:
    """Save a PNG of the page under artifacts/screenshots/ (``make screenshots`` copies them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide", **options)
    return path
