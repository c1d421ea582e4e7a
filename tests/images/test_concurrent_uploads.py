"""Uploads from several processes at once all land in the one catalog."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gallery.images.service import Images
from gallery.keys import Keys, is_image_id
from gallery.storage import open_storage
from tests.images import make_images, stored_records
from tests.support.upload_worker import run_upload_workers

PROCESSES = 4
UPLOADS = 6
PREFIX = "shared/"


@pytest.fixture(params=["file", "replit"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A storage URL every process can open, and the environment the children need."""
    if request.param == "file":
        return {"url": f"file://{tmp_path / 'bucket'}", "env": {}}
    replit_bucket = request.getfixturevalue("replit_bucket")
    return {"url": replit_bucket["url"], "env": replit_bucket["env"]}


def test_every_upload_from_every_process_is_in_the_catalog(target: dict[str, Any]) -> None:
    printed = run_upload_workers(
        target["url"], PREFIX, processes=PROCESSES, uploads=UPLOADS,
        env={**os.environ, **target["env"]},
    )
    assert [len(ids) for ids in printed] == [UPLOADS] * PROCESSES
    assert all(is_image_id(i) for ids in printed for i in ids)
    expected = {i for ids in printed for i in ids}
    assert len(expected) == PROCESSES * UPLOADS

    storage = open_storage(target["url"], timeout=10)
    try:
        images: Images = make_images(storage, prefix=PREFIX)
        records = stored_records(images)
        assert set(records) == expected
        keys: Keys = images.d.keys
        listed: dict[str, set[str]] = {}
        for info in storage.list(keys.images_prefix):
            image_id = keys.image_id_of(info.key)
            assert image_id is not None, info.key
            listed.setdefault(image_id, set()).add(info.key)
        assert set(listed) == expected  # no image folders beyond those in the catalog
        for image_id, record in records.items():
            wanted = {keys.original(image_id), keys.meta(image_id)} | {
                keys.variant(image_id, name) for name in record["variants"]}
            assert listed[image_id] == wanted
        assert images.reindex().unchanged == PROCESSES * UPLOADS
    finally:
        storage.close()
