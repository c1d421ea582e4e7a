"""GALLERY_STORAGE_TIMEOUT bounds the whole wait of one storage call, retries included.

A stalling proxy accepts connections and never answers (a frozen bucket).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from gallery.errors import StorageUnavailable
from gallery.storage.gcs import GCSStorage
from tests.faults.conftest import TIMEOUT
from tests.support.faultproxy import FaultProxy
from tests.web.harness import build_app, serve

#: What a call may take beyond the timeout (scheduling, a last backoff, the 503 itself).
MARGIN = 2.0


@pytest.mark.parametrize("call", [
    lambda s: s.stat("doc.json"),
    lambda s: s.read("doc.json"),
    lambda s: s.put("doc.json", b"{}"),
    lambda s: s.list_page(""),
], ids=["stat", "read", "put", "list"])
def test_a_frozen_bucket_fails_a_call_within_the_timeout(
    gcs: GCSStorage, proxy: FaultProxy, call: Callable[[GCSStorage], Any]
) -> None:
    gcs.put("doc.json", b"{}")
    proxy.set("stall")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        call(gcs)
    assert time.monotonic() - started < TIMEOUT + MARGIN


def test_a_slow_bucket_is_waited_for_within_the_timeout(gcs: GCSStorage, proxy: FaultProxy) -> None:
    gcs.put("doc.json", b"{}")
    proxy.set("delay", delay=TIMEOUT / 4)
    assert gcs.get("doc.json") == b"{}"


def test_a_page_waits_at_most_the_timeout(gcs: GCSStorage, proxy: FaultProxy) -> None:
    app = build_app(gcs, storage_timeout=TIMEOUT)
    app.extensions["gallery"].accounts.create_user("ada", "correct horse battery", "admin")
    with serve(app) as base:
        assert requests.get(base + "/api/v1/images", timeout=30).status_code == 200
        proxy.set("stall")
        for path in ("/api/v1/images", "/healthz"):
            started = time.monotonic()
            answer = requests.get(base + path, timeout=60)
            assert answer.status_code == 503 and "Retry-After" in answer.headers
            assert time.monotonic() - started < TIMEOUT + MARGIN, path
