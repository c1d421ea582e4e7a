"""/healthz answers 503 whenever pages would, and damaged accounts have a way back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gallery.storage.local import FileStorage
from tests.faults.cli import flask
from tests.web.harness import Client, build_app, serve

ADMIN = ("ada", "correct horse battery")


@pytest.fixture(params=["file", "gcs"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app with an admin, on the file backend or on ``gs://`` through the fault proxy."""
    if request.param == "file":
        storage = FileStorage(tmp_path / "bucket")
    else:
        storage = request.getfixturevalue("gcs")
    app = build_app(storage, storage_timeout=2.0)
    runtime = app.extensions["gallery"]
    runtime.accounts.create_user(*ADMIN, role="admin")
    with serve(app) as base:
        yield {"base": base, "runtime": runtime, "storage": storage, "bucket": tmp_path / "bucket"}


def _health(base: str) -> requests.Response:
    return requests.get(base + "/healthz", timeout=30)


def _assert_no_counts_or_paths(answer: requests.Response, *secrets: str) -> None:
    text = answer.text
    for secret in secrets:
        assert secret not in text
    body = answer.json()
    assert "images" not in body and "error" not in body


def test_healthy(served: dict[str, Any]) -> None:
    answer = _health(served["base"])
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert set(answer.json()["checks"].values()) == {"ok"}


def test_a_damaged_index_is_503_like_the_pages(served: dict[str, Any]) -> None:
    runtime = served["runtime"]
    runtime.storage.put(runtime.keys.index, b"{not json", content_type="application/json")
    page = requests.get(served["base"] + "/", timeout=30)
    answer = _health(served["base"])
    assert page.status_code == answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json()["failing"] == ["index"]
    assert answer.json()["checks"]["index"] == "damaged"
    assert "gallery reindex" in answer.json()["fix"]["index"]
    _assert_no_counts_or_paths(answer, runtime.keys.index, str(served["bucket"]))


def test_a_damaged_users_file_is_503_and_restored_from_the_kept_copy(
    served: dict[str, Any], tmp_path: Path
) -> None:
    runtime, base = served["runtime"], served["base"]
    runtime.accounts.create_user("bob", "another long secret", "uploader")
    runtime.storage.put(runtime.keys.users, b'{"users": [', content_type="application/json")

    answer = _health(base)
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["accounts"]
    with Client(base) as client:  # nobody can sign in
        assert client.post_form("/login", {"username": ADMIN[0], "password": ADMIN[1]}
                                ).status_code == 503

    if not isinstance(served["storage"], FileStorage):
        return  # the command line below reaches the bucket by its URL: the file backend only
    settings = {"GALLERY_STORAGE": f"file://{served['bucket']}", "GALLERY_SECRET_KEY": "k" * 40}
    doctor = flask("gallery", "doctor", settings=settings)
    assert doctor.returncode != 0
    assert "fix: Restore the copy kept at every change (2 accounts): " \
           "`flask --app app users restore --backup`" in doctor.stdout
    restored = flask("users", "restore", "--backup", settings=settings)
    assert restored.returncode == 0, restored.stderr
    assert "Restored 2 accounts." in restored.stdout

    assert _health(base).status_code == 200
    with Client(base) as client:
        signed_in = client.post_form("/login", {"username": "bob", "password": "another long secret"})
        assert signed_in.status_code == 302


@pytest.mark.parametrize("served", ["file"], indirect=True)
def test_accounts_export_then_restore_from_the_file(served: dict[str, Any], tmp_path: Path) -> None:
    settings = {"GALLERY_STORAGE": f"file://{served['bucket']}", "GALLERY_SECRET_KEY": "k" * 40}
    dest = tmp_path / "accounts.json"
    exported = flask("users", "export", str(dest), settings=settings)
    assert exported.returncode == 0, exported.stderr
    assert dest.stat().st_mode & 0o777 == 0o600
    assert "ada" in json.loads(dest.read_text())["users"]
    runtime = served["runtime"]
    runtime.storage.delete(runtime.keys.users_backup)  # no kept copy either
    runtime.storage.put(runtime.keys.users, b"[]", content_type="application/json")
    assert flask("users", "restore", "--backup", settings=settings).returncode != 0
    restored = flask("users", "restore", "--from", str(dest), settings=settings)
    assert restored.returncode == 0, restored.stderr
    assert _health(served["base"]).status_code == 200
    # A readable users.json is replaced only on purpose.
    again = flask("users", "restore", "--from", str(dest), settings=settings)
    assert again.returncode != 0 and "--yes" in again.stderr


@pytest.mark.parametrize("served", ["gcs"], indirect=True)
def test_storage_down_is_503_naming_the_storage(
    served: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    proxy = request.getfixturevalue("proxy")
    proxy.set("refuse")
    answer = _health(served["base"])
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert answer.json()["checks"]["storage"] == "unavailable"
    assert answer.json()["failing"][0] == "storage"
    proxy.heal()
    assert _health(served["base"]).status_code == 200
