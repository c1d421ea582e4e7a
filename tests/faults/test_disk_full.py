"""A full disk (file backend): uploads are refused, deletes and edits still work.

The disk is real: a small tmpfs mounted for the test (which needs root, as the
test machines run).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gallery.storage.local import FileStorage
from tests.faults.cli import flask
from tests.faults.conftest import noise_png
from tests.web.harness import build_app, serve

DISK = "16m"
MOST_UPLOADS = 80


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def served(small_disk: Path) -> Iterator[dict[str, Any]]:
    app = build_app(FileStorage(small_disk / "bucket"), trash_days=0)  # deletes free space
    accounts = app.extensions["gallery"].accounts
    accounts.create_user("ada", "correct horse battery", "admin")
    token, _ = accounts.create_token("ada", "faults")
    with serve(app) as base:
        yield {"base": base, "auth": {"Authorization": f"Bearer {token}"},
               "bucket": small_disk / "bucket"}


def _upload(served: dict[str, Any], seed: int) -> requests.Response:
    return requests.post(served["base"] + "/api/v1/images", headers=served["auth"],
                         files={"file": (f"{seed}.png", noise_png(400, 400, seed))}, timeout=60)


def test_a_full_disk_refuses_uploads_but_deletes_free_space(served: dict[str, Any]) -> None:
    base, auth = served["base"], served["auth"]
    ids: list[str] = []
    for seed in range(MOST_UPLOADS):
        answer = _upload(served, seed)
        if answer.status_code != 201:
            break
        ids.append(answer.json()["id"])
    else:
        pytest.fail(f"{MOST_UPLOADS} uploads did not fill a {DISK} disk")
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "storage_full"
    assert int(answer.headers["Retry-After"]) > 0
    assert len(ids) >= 3

    health = requests.get(base + "/healthz", timeout=30)
    assert health.status_code == 503
    assert health.json()["checks"]["space"] == "full"
    doctor = flask("gallery", "doctor", settings={
        "GALLERY_STORAGE": f"file://{served['bucket']}", "GALLERY_SECRET_KEY": "k" * 40})
    assert doctor.returncode != 0
    assert "FAIL  free space: The storage is full" in doctor.stdout

    # Edits and deletes write only small documents: they still work.
    edited = requests.patch(base + f"/api/v1/images/{ids[0]}", headers=auth,
                            json={"title": "still editable"}, timeout=30)
    assert edited.status_code == 200, edited.text
    for deleted, image_id in enumerate(ids, start=1):
        answer = requests.delete(base + f"/api/v1/images/{image_id}", headers=auth, timeout=30)
        assert answer.status_code == 204, answer.text
        if deleted >= 2:
            again = _upload(served, 1000 + deleted)
            if again.status_code == 201:
                break
            assert again.json()["error"]["code"] == "storage_full"
    else:
        pytest.fail("uploads did not work again after deleting every image")
    assert deleted <= 4
    assert requests.get(base + "/healthz", timeout=30).status_code in (200, 503)
