"""Writers in several processes at once, on one bucket: nothing is lost, shards stay whole."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from gallery.catalog.hashes import HashIndex
from gallery.catalog.model import Root, Shard
from gallery.keys import Keys
from gallery.storage import open_storage
from tests.catalog import images_over
from tests.support.processes import run_together

PROCESSES = 4
UPLOADS = 9
PREFIX = "g/"


@pytest.fixture(params=["file", "replit", "s3"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "file":
        return {"url": f"file://{tmp_path / 'bucket'}", "env": {}}
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        return {"url": f"s3://{request.getfixturevalue('s3_bucket')}", "env": server.env()}
    bucket = request.getfixturevalue("replit_bucket")
    return {"url": bucket["url"], "env": bucket["env"]}


def test_concurrent_uploads_edits_and_deletes_all_land(target: dict[str, Any]) -> None:
    outputs = run_together(
        "tests.support.catalog_worker",
        [[target["url"], PREFIX, str(UPLOADS), str(seed), "4"] for seed in range(PROCESSES)],
        env={**os.environ, **target["env"]}, timeout=240,
    )
    kept: dict[str, str] = {}
    gone: set[str] = set()
    for out in outputs:
        for line in out.splitlines():
            word, image_id, *title = line.split()
            if word == "kept":
                kept[image_id] = title[0].replace("_", " ")
            else:
                gone.add(image_id)
    assert len(kept) == PROCESSES * UPLOADS * 2 // 3 and len(gone) == PROCESSES * UPLOADS // 3

    storage = open_storage(target["url"], timeout=10)
    try:
        keys = Keys(PREFIX)
        images = images_over(storage, max_records=4)
        records = {r.id: r for r in images.view().records()}
        assert {i: r.title for i, r in records.items()} == kept  # every edit, no delete undone
        root = Root.parse(orjson.loads(storage.get(keys.index)))
        assert len(root.shards) >= PROCESSES * UPLOADS * 2 // 3 // 4
        for entry in root.shards:
            shard = Shard.parse(orjson.loads(storage.get(keys.shard(entry.name))))
            assert shard.sealed is None and entry.count == len(shard.records)
        hashes = HashIndex(storage, keys).entries()
        assert set(hashes.values()) == set(kept)
        assert {sha for r in records.values() for sha in r.hashes} == set(hashes)
        for image_id in gone:
            assert not list(storage.list(keys.image_prefix(image_id)))
        assert images.reindex().unchanged == len(kept)
    finally:
        storage.close()
