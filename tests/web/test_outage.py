"""When storage fails: clean 503s with Retry-After, nothing half-stored, the server stays up."""

from __future__ import annotations

import pytest

from gallery.storage.memory import MemoryStorage
from tests.imaging import fixtures as img
from tests.support.faulty import FaultyStorage
from tests.web.conftest import UPLOADER


@pytest.fixture
def storage():
    """The web fixtures' storage, wrapped so a test can make it fail."""
    return FaultyStorage(MemoryStorage())


def test_storage_down_is_503_everywhere_then_recovers(storage, uploader, anonymous):
    image = uploader.api("POST", "/api/v1/images", files={"file": ("a.png", img.png_rgba())}).json()
    storage.fail("*")

    health = anonymous.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"

    api = anonymous.get("/api/v1/images")
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "storage_unavailable"
    assert int(api.headers["Retry-After"]) > 0

    page = anonymous.get(f"/images/{image['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert "Storage unavailable" in page.text or "not answering" in page.text

    media = anonymous.get(f"/media/{image['id']}/sm")
    assert media.status_code == 503

    storage.heal()
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get(f"/media/{image['id']}/sm").status_code == 200


def test_failed_upload_leaves_nothing_behind(storage, uploader, app):
    before = {info.key for info in storage.list()}
    storage.fail(lambda op, key: op == "put" and key.endswith("meta.json"))
    response = uploader.api("POST", "/api/v1/images", files={"file": ("a.png", img.png_rgba())})
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    storage.heal()
    # No index entry, and the objects this upload wrote were removed again.
    assert uploader.get("/api/v1/images").json()["images"] == []
    after = {info.key for info in storage.list()}
    assert {k for k in after - before if "/images/" in "/" + k} == set()
    # And the same upload works once storage is back.
    ok = uploader.api("POST", "/api/v1/images", files={"file": ("a.png", img.png_rgba())})
    assert ok.status_code == 201
    assert ok.json()["uploaded_by"] == UPLOADER[0]
