"""Every way a connection to the storage can break is a StorageUnavailable (503), never a 500.

The faults are real: a TCP proxy between the ``gs://`` backend and
fake-gcs-server refuses, resets or cuts connections, for the backend's own
calls and over HTTP through the app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from gallery.errors import StorageUnavailable
from gallery.storage.gcs import GCSStorage
from tests.faults.conftest import TIMEOUT, noise_png
from tests.imaging import fixtures as img
from tests.support.faultproxy import FaultProxy
from tests.web.harness import build_app, serve

BROKEN = ["refuse", "reset_before", "reset_during", "cut"]

CALLS: dict[str, Callable[[GCSStorage], Any]] = {
    "stat": lambda s: s.stat("doc.json"),
    "read": lambda s: s.read("doc.json"),
    "open": lambda s: s.open("doc.json").read(),
    "put": lambda s: s.put("other.json", b"{}", content_type="application/json"),
    "put_if_absent": lambda s: s.put("new.json", b"{}", if_absent=True),
    "delete": lambda s: s.delete("doc.json"),
    "list": lambda s: s.list_page(""),
}


@pytest.mark.parametrize("mode", BROKEN)
@pytest.mark.parametrize("call", list(CALLS))
def test_a_broken_connection_is_storage_unavailable(
    gcs: GCSStorage, proxy: FaultProxy, mode: str, call: str
) -> None:
    gcs.put("doc.json", b'{"a": "' + b"x" * 5000 + b'"}', content_type="application/json")
    proxy.set(mode)
    with pytest.raises(StorageUnavailable) as caught:
        CALLS[call](gcs)
    assert caught.value.status == 503
    proxy.heal()
    gcs.put("after.json", b"{}")  # and it recovers without a new backend
    assert gcs.get("after.json") == b"{}"


def test_a_stream_cut_midway_is_storage_unavailable_and_logged(
    gcs: GCSStorage, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: several ranged reads
    gcs.put("big.bin", body)
    stream = gcs.open("big.bin")  # the first chunk is fetched here
    first = stream.read(1000)
    assert first == body[:1000]
    proxy.set("cut", path_contains="alt=media")
    with pytest.raises(StorageUnavailable), caplog.at_level("WARNING"):
        stream.read()
    stream.close()
    assert any("broke after" in r.getMessage() for r in caplog.records)


def test_a_dead_kept_alive_connection_is_retried(gcs: GCSStorage, proxy: FaultProxy) -> None:
    gcs.put("doc.json", b"{}", content_type="application/json")
    proxy.set("reset_after")  # every answer arrives, then its connection is reset
    for _ in range(3):
        assert gcs.stat("doc.json").size == 2
        assert gcs.get("doc.json") == b"{}"


# --- over HTTP, through the app ---------------------------------------------------


@pytest.fixture
def served(gcs: GCSStorage) -> Iterator[dict[str, Any]]:
    """The app over the proxied bucket on a loopback server, with an uploader's token."""
    app = build_app(gcs, storage_timeout=TIMEOUT)
    accounts = app.extensions["gallery"].accounts
    accounts.create_user("bob", "another long secret", "uploader")
    token, _ = accounts.create_token("bob", "faults")
    with serve(app) as base:
        yield {"base": base, "auth": {"Authorization": f"Bearer {token}"}}


def _upload(served: dict[str, Any], data: bytes, name: str = "a.png") -> dict[str, Any]:
    answer = requests.post(served["base"] + "/api/v1/images", headers=served["auth"],
                           files={"file": (name, data)}, timeout=60)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.mark.parametrize("mode", BROKEN)
def test_pages_api_tokens_and_healthz_answer_503_with_retry_after(
    served: dict[str, Any], proxy: FaultProxy, mode: str
) -> None:
    image = _upload(served, img.png_rgba())
    base = served["base"]
    proxy.set(mode)
    answers = {
        "healthz": requests.get(base + "/healthz", timeout=30),
        "api list": requests.get(base + "/api/v1/images", timeout=30),
        "token check": requests.get(base + "/api/v1/images", headers=served["auth"], timeout=30),
        "image page": requests.get(base + f"/images/{image['id']}", timeout=30),
        "media": requests.get(base + f"/media/{image['id']}", timeout=30),
        "upload": requests.post(base + "/api/v1/images", headers=served["auth"],
                                files={"file": ("b.png", img.png_rgba())}, timeout=30),
    }
    for what, answer in answers.items():
        assert answer.status_code == 503, (what, answer.status_code, answer.text[:300])
        assert int(answer.headers["Retry-After"]) > 0, what
    assert answers["api list"].json()["error"]["code"] == "storage_unavailable"
    assert answers["healthz"].json()["checks"]["storage"] == "unavailable"
    proxy.heal()
    assert requests.get(base + f"/api/v1/images/{image['id']}", timeout=30).status_code == 200
    assert requests.get(base + "/healthz", timeout=30).status_code == 200


def test_a_download_cut_midway_is_cut_not_a_500(
    served: dict[str, Any], proxy: FaultProxy
) -> None:
    original = noise_png(600, 600)  # about 1 MiB, streamed in several ranged reads
    image = _upload(served, original)
    # The first download (fetched before the answer starts) passes; later ones are cut.
    # Only the original's own downloads: the catalog's reads are not what this is about.
    proxy.set("cut", after=1, path_contains=f"{image['id']}%2Foriginal?alt=media")
    with requests.get(served["base"] + f"/media/{image['id']}", stream=True, timeout=30) as answer:
        assert answer.status_code == 200
        received = b""
        with pytest.raises(requests.RequestException):
            for chunk in answer.iter_content(65536):
                received += chunk
    assert 0 < len(received) < len(original)
    assert original.startswith(received)
    proxy.heal()
    again = requests.get(served["base"] + f"/media/{image['id']}", timeout=30)
    assert again.status_code == 200 and again.content == original
