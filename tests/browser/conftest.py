"""Fixtures for the browser tests: the app on loopback, driven by a real Chromium.

Chromium is the system's (Debian's ``chromium`` package, or ``$CHROMIUM``),
driven through Playwright for Python; axe-core comes from npm
(``npm ci`` in this folder). When either is missing the tests skip with a
message saying what to install, except under CI (``CI`` set), where a missing
browser or axe-core is an error: the checks must not silently stop running.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gallery.storage.local import FileStorage
from tests.browser import pages
from tests.web.harness import build_app, serve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"

ADMIN = ("ada", "correct horse battery")
UPLOADER = ("bob", "another long secret")

#: Flags for a headless Chromium on a shared CI machine: no sandbox (runs as root),
#: no GPU, and nothing that talks to the network by itself.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}
#: Playwright's auto-waiting bound, generous for two busy cores.
TIMEOUT_MS = 20_000


def unavailable(reason: str) -> None:
    """Skip for a developer without the browser; fail under CI, where it must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """``$CHROMIUM`` if set, else the first Chromium on ``PATH``."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, from ``npm ci`` in tests/browser."""
    if not AXE.is_file():
        unavailable(f"axe-core is not installed: run `npm ci` in {HERE.relative_to(ROOT)}")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run (each test gets its own context).

    Playwright gives every launch a fresh, temporary user-data directory.
    """
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        unavailable("Chromium is not installed: apt-get install chromium (or set CHROMIUM)")
    expect.set_options(timeout=TIMEOUT_MS)
    driver = sync_playwright().start()
    try:
        try:
            chromium = driver.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS, timeout=60_000
            )
        except Error as err:
            unavailable(f"Chromium at {executable} did not start: {err.message.splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        driver.stop()


# --- the app under test -------------------------------------------------------------


@pytest.fixture
def storage(tmp_path):
    """A real folder bucket: what ``make run`` uses."""
    return FileStorage(tmp_path / "bucket")


@pytest.fixture
def settings() -> dict:
    """Setting overrides for the app under test (a test may override this fixture)."""
    return {}


@pytest.fixture
def app(storage, settings):
    return build_app(storage, **settings)


@pytest.fixture
def runtime(app):
    return app.extensions["gallery"]


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def users(runtime) -> dict[str, tuple[str, str]]:
    """An admin and an uploader, made through the domain (as the CLI does)."""
    runtime.accounts.create_user(*ADMIN, role="admin")
    runtime.accounts.create_user(*UPLOADER, role="uploader")
    return {"admin": ADMIN, "uploader": UPLOADER}


# --- the browser side ---------------------------------------------------------------


@pytest.fixture
def color_scheme() -> str:
    """``light`` or ``dark``: what the page sees as the system setting."""
    return "light"


@pytest.fixture
def context(browser, base_url, color_scheme) -> Iterator[Any]:
    """A fresh browser profile (cookies, storage) pointed at the app."""
    ctx = browser.new_context(
        base_url=base_url, viewport=VIEWPORT, color_scheme=color_scheme,
        reduced_motion="reduce", accept_downloads=False,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Iterator[Any]:
    """A tab; any uncaught script error on it fails the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(f"{tab.url}: {err}"))
    yield tab
    assert not errors, "uncaught script errors in the page:\n" + "\n".join(errors)


@pytest.fixture
def axe(context, axe_source):
    """Checks the page in front of it with axe-core; see :func:`pages.check_accessibility`."""
    context.add_init_script(script=axe_source)

    def check(tab: Any, what: str) -> None:
        pages.check_accessibility(tab, what)

    return check


@pytest.fixture
def seed(runtime, users):
    """Uploads images through the domain as the admin: ``seed(count) -> [image dicts]``,
    newest first (as the grid shows them); ``small=True`` for quick little PNGs."""

    def upload(count: int, start: int = 0, small: bool = False) -> list[dict]:
        made = []
        for n in range(start, start + count):
            data, name = pages.png(n) if small else pages.photo(n)
            made.append(runtime.images.upload(data, name, uploaded_by=ADMIN[0]).image)
        return made[::-1]

    return upload


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """When a test ends, Chromium abandons the requests still in flight (thumbnails the
    lightbox was fetching ahead); Werkzeug's development server then skips closing the
    file it was sending, which Python reports as an unclosed file once the test is over.
    The pages' own behaviour is what these tests judge; leaks are the web tests' business
    (served by the same code, without a browser walking away)."""
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::pytest.PytestUnraisableExceptionWarning"))
