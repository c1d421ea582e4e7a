"""Fixtures of the fault-injection suite: fake-gcs-server behind a fault proxy.

The app (in this process, or served by ``make run``'s command as a child) is
pointed at the proxy through ``STORAGE_EMULATOR_HOST``; the test switches the
proxy between passing everything and a fault mode.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest

from gallery.storage.gcs import GCSStorage
from tests.support.faultproxy import FaultProxy
from tests.support.gcs_server import GCSServer

#: GALLERY_STORAGE_TIMEOUT of the apps and backends under test (seconds).
TIMEOUT = 2.0


@pytest.fixture
def proxy(gcs_server: GCSServer) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's fake-gcs-server."""
    with FaultProxy(gcs_server.url) as running:
        yield running


@pytest.fixture
def emulator_via_proxy(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the GCS clients built from now on at the proxy; returns its URL."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    return proxy.url


@pytest.fixture
def gcs(emulator_via_proxy: str, gcs_bucket: str) -> Iterator[GCSStorage]:
    """A ``gs://`` backend reaching a fresh bucket through the proxy."""
    storage = GCSStorage(gcs_bucket, timeout=TIMEOUT)
    yield storage
    storage.close()


def noise_png(width: int, height: int, seed: int = 0) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about 3 bytes a pixel."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
