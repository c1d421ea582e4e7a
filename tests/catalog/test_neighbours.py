"""An image's neighbours in the gallery's order, across shards, read from the few shards
around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gallery.errors import NotFound
from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.storage.base import Storage
from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage
from tests.catalog import images_over, png
from tests.support.counting import CountingStorage


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket: Storage = MemoryStorage() if request.param == "memory" else FileStorage(
        str(tmp_path / "bucket"))
    yield bucket
    bucket.close()


def test_every_image_knows_the_ones_either_side_and_its_position(storage: Storage) -> None:
    images = images_over(storage, max_records=4)
    ids = [images.upload(png(n), f"p{n}.png", uploaded_by="ada").image["id"] for n in range(13)]
    newest_first = ids[::-1]
    view = images.view()
    assert view.root is not None and len(view.root.shards) >= 3  # the steps cross shards
    for at, image_id in enumerate(newest_first):
        found = view.neighbours(images.record(image_id).key)
        assert (found.newer.id if found.newer else None) == (newest_first[at - 1] if at else None)
        assert (found.older.id if found.older else None) == (
            newest_first[at + 1] if at + 1 < len(newest_first) else None)
        assert (found.position, found.total) == (at + 1, 13)


def test_a_deleted_image_has_no_neighbours(storage: Storage) -> None:
    images = images_over(storage)
    ids = [images.upload(png(n), f"p{n}.png", uploaded_by="ada").image["id"] for n in range(3)]
    key = images.record(ids[1]).key
    images.delete(ids[1], actor=Actor("ada", is_admin=True))
    with pytest.raises(NotFound):
        images.view().neighbours(key)


def test_neighbours_read_only_the_shards_around_the_image(tmp_path: Path) -> None:
    storage = FileStorage(str(tmp_path / "bucket"))
    images = images_over(storage, max_records=5)
    ids = [images.upload(png(n), f"p{n}.png", uploaded_by="ada").image["id"] for n in range(40)]
    counting = CountingStorage(storage)
    cold = Images(counting, images.d.keys, limits=images.limits)
    key = images.record(ids[20]).key
    found = cold.view().neighbours(key)
    assert found.newer is not None and found.older is not None
    assert (found.newer.id, found.older.id) == (ids[21], ids[19])
    reads = [k for op, k in counting.keys if op == "read"]
    assert len(reads) <= 4, reads  # the root, the image's shard, and at most one each side
