"""A bucket written by the release with one ``index.json`` (format 1) opens whole.

``format1_bucket/`` was written by that release (see ``make_format1_bucket.py``):
eleven images (one edited, one deleted), two accounts and an API token.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from gallery.accounts import Accounts
from gallery.catalog.model import Root, Shard
from gallery.errors import StorageUnavailable
from gallery.images.service import Images
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.storage import open_storage
from gallery.storage.base import Storage
from gallery.storage.local import FileStorage
from tests.support.counting import CountingStorage
from tests.support.faulty import FaultyStorage
from tests.support.processes import run_together

DATA = Path(__file__).parent / "format1_bucket"
TOKEN = "gal_cc4c97dd612c27ab_Cu12KEXSBddvLiZTutBv-2AyliXh45p3ZzVGks1--U4"
KEYS = Keys("")


def _old_index() -> dict[str, Any]:
    return orjson.loads((DATA / "index.json").read_bytes())


def _copy_into(target: Storage, scratch: Path) -> None:
    """Every object of the old bucket into ``target`` (read from a copy: even reading
    through the file backend leaves lock files beside the objects)."""
    shutil.copytree(DATA, scratch)
    source = FileStorage(str(scratch))
    for info in source.list(""):
        target.put(info.key, source.get(info.key), content_type=info.content_type)


@pytest.fixture(params=["file", "replit"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An old bucket to upgrade: its URL, the environment children need, and an open client."""
    if request.param == "file":
        shutil.copytree(DATA, tmp_path / "bucket")
        url, env = f"file://{tmp_path / 'bucket'}", {}
    else:
        bucket = request.getfixturevalue("replit_bucket")
        url, env = bucket["url"], bucket["env"]
    storage = open_storage(url, timeout=10)
    if request.param == "replit":
        _copy_into(storage, tmp_path / "source")
    yield {"url": url, "env": env, "storage": storage}
    storage.close()


def _images(storage: Storage) -> Images:
    return Images(storage, KEYS, limits=Limits())


def test_every_image_text_account_and_token_survives(target: dict[str, Any]) -> None:
    storage = target["storage"]
    old = _old_index()["images"]
    assert len(old) == 11
    images = _images(storage)
    page = images.page(1, 48)
    assert page.total == 11
    assert {i["id"]: i for i in page.images} == {
        image_id: {**record, "description": record.get("description", ""),
                   "animated": False, "gps_removed": False, "taken_at": None, "camera": {},
                   "tags": []}
        for image_id, record in old.items()}
    edited = next(r for r in old.values() if r.get("rev"))
    assert images.get(edited["id"])["title"] == "Édité"
    assert images.get(edited["id"])["description"] == "Two lines\nof text"
    accounts = Accounts(storage, KEYS)
    assert accounts.authenticate("ada", "correct horse battery") is not None
    assert accounts.authenticate("bob", "bob's own password") is not None
    assert accounts.authenticate_token(TOKEN).username == "ada"
    # The old index is kept byte for byte; index.json is now the catalog's root.
    assert storage.get(KEYS.index_v1_backup) == (DATA / "index.json").read_bytes()
    root = Root.parse(orjson.loads(storage.get(KEYS.index)))
    assert root.total == 11 and root.extra["upgraded_from"] == 1
    # Duplicates of old images are recognised, and new uploads land beside them.
    original = storage.get(KEYS.original(edited["id"]))
    again = images.upload(original, "again.png", uploaded_by="bob")
    assert again.duplicate and again.image["id"] == edited["id"]


def test_opening_again_changes_nothing(target: dict[str, Any]) -> None:
    storage = target["storage"]
    _images(storage).view()
    before = {info.key: info.version for info in storage.list("")}
    counting = CountingStorage(storage)
    images = _images(counting)
    assert images.view().total == 11
    assert len(images.list_images(limit=100)[0]) == 11
    assert counting.calls["put"] == 0 and counting.calls["delete"] == 0
    assert {info.key: info.version for info in storage.list("")} == before


def test_an_interrupted_upgrade_leaves_the_old_index_and_finishes_later(
        target: dict[str, Any]) -> None:
    storage = target["storage"]
    before = storage.get(KEYS.index)
    failing = FaultyStorage(storage, fail_on=lambda op, key: op == "put" and key == KEYS.index)
    with pytest.raises(StorageUnavailable):
        _images(failing).view()
    assert storage.get(KEYS.index) == before  # nothing of the old index was lost
    assert _images(storage).view().total == 11


def test_several_instances_upgrading_at_once_make_one_catalog(target: dict[str, Any]) -> None:
    outputs = run_together(
        "tests.support.catalog_worker",
        [[target["url"], "", "3", str(seed), "400"] for seed in range(4)],
        env={**os.environ, **target["env"]}, timeout=240,
    )
    kept = {line.split()[1] for out in outputs for line in out.splitlines()
            if line.startswith("kept")}
    storage = target["storage"]
    images = _images(storage)
    ids = {r.id for r in images.view().records()}
    assert ids == set(_old_index()["images"]) | kept
    root = Root.parse(orjson.loads(storage.get(KEYS.index)))
    shards = {KEYS.shard_name_of(info.key) for info in storage.list(KEYS.shards_prefix)}
    assert {e.name for e in root.shards} <= shards
    assert sum(len(Shard.parse(orjson.loads(storage.get(KEYS.shard(e.name)))).records)
               for e in root.shards) == len(ids)
