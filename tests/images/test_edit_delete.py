"""Editing and deleting: who may, what is checked, and what is left."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gallery.errors import BadRequest, Forbidden, NotFound, StorageUnavailable
from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.storage.base import ObjectInfo
from gallery.storage.memory import MemoryStorage
from tests.images import (
    ADMIN,
    ALICE,
    BOB,
    image_keys,
    make_image,
    make_images,
    stored_records,
)
from tests.support.faulty import FaultyStorage


def is_shard(key: str) -> bool:
    return "/catalog/shards/" in f"/{key}"


def upload(images: Images, seed: int = 0, by: str = "alice") -> str:
    return images.upload(make_image("jpeg", seed=seed), "a.jpg", uploaded_by=by).image["id"]


def meta(images: Images, image_id: str) -> dict[str, Any]:
    return orjson.loads(images.d.storage.get(images.d.keys.meta(image_id)))


@pytest.mark.parametrize("actor", [ALICE, ADMIN])
def test_the_uploader_or_an_admin_edits(images: Images, actor: Actor) -> None:
    image_id = upload(images)
    image = images.update(image_id, {"title": "  New  ", "description": " words\n"}, actor=actor)
    assert (image["title"], image["description"]) == ("New", "words")
    assert images.get(image_id) == image
    assert meta(images, image_id) == stored_records(images)[image_id]
    assert meta(images, image_id)["title"] == "New"


def test_only_the_named_fields_change(images: Images) -> None:
    image_id = upload(images)
    images.update(image_id, {"description": "d"}, actor=ALICE)
    image = images.update(image_id, {"title": "t"}, actor=ALICE)
    assert (image["title"], image["description"]) == ("t", "d")
    image = images.update(image_id, {"description": ""}, actor=ALICE)
    assert image["description"] == ""
    assert "description" not in stored_records(images)[image_id]
    assert meta(images, image_id) == stored_records(images)[image_id]
    assert images.update(image_id, {}, actor=ALICE) == image


def test_someone_else_may_not_edit(images: Images) -> None:
    image_id = upload(images)
    before = images.d.storage.get(images.d.keys.meta(image_id))
    with pytest.raises(Forbidden):
        images.update(image_id, {"title": "mine now"}, actor=BOB)
    assert images.get(image_id)["title"] == "a"
    assert images.d.storage.get(images.d.keys.meta(image_id)) == before


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"description": ["x"]}, "description"),
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 5001}, "description"),
        ({"uploaded_by": "bob"}, "uploaded_by"),
        ({"title": "ok", "sha256": "0" * 64}, "sha256"),
    ],
)
def test_bad_changes_name_the_field(
    images: Images, changes: dict[str, Any], named: str
) -> None:
    image_id = upload(images)
    with pytest.raises(BadRequest, match=named):
        images.update(image_id, changes, actor=ALICE)
    assert images.get(image_id)["title"] == "a"


def test_longest_allowed_values_pass(images: Images) -> None:
    image_id = upload(images)
    image = images.update(image_id, {"title": "t" * 200, "description": "d" * 5000}, actor=ALICE)
    assert len(image["title"]) == 200 and len(image["description"]) == 5000


def test_changes_must_be_a_mapping(images: Images) -> None:
    image_id = upload(images)
    with pytest.raises(BadRequest):
        images.update(image_id, ["title"], actor=ALICE)  # type: ignore[arg-type]


def test_editing_an_unknown_image_is_not_found(images: Images) -> None:
    for image_id in ("0" * 32, "nope"):
        with pytest.raises(NotFound):
            images.update(image_id, {"title": "x"}, actor=ADMIN)


def test_edits_count_up_in_both_copies(images: Images) -> None:
    image_id = upload(images)
    for n in range(3):
        images.update(image_id, {"title": f"t{n}"}, actor=ALICE)
    assert meta(images, image_id)["rev"] == 3
    assert stored_records(images)[image_id]["rev"] == 3
    assert images.get(image_id)["title"] == "t2"


class EditDuringMetaRead(MemoryStorage):
    """Runs ``hook`` once, right after the first read of a ``meta.json`` that follows a
    catalog shard write has its bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None
        self.shard_written = False

    def put(self, key: str, data: Any, **kwargs: Any) -> ObjectInfo:
        info = super().put(key, data, **kwargs)
        self.shard_written = self.shard_written or is_shard(key)
        return info

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        result = super().read(key)
        if key.endswith("meta.json") and self.hook is not None and self.shard_written:
            hook, self.hook = self.hook, None
            hook()
        return result


def test_an_older_edit_never_overwrites_a_newer_one_in_meta_json() -> None:
    bucket = EditDuringMetaRead()
    ours, theirs = make_images(bucket), make_images(bucket)
    image_id = upload(ours)
    # our edit is in the catalog and has read meta.json when a newer edit lands in full
    bucket.shard_written = False
    bucket.hook = lambda: theirs.update(image_id, {"title": "newer"}, actor=ALICE)
    ours.update(image_id, {"title": "older"}, actor=ALICE)
    assert bucket.hook is None
    assert meta(ours, image_id)["title"] == "newer"
    assert meta(ours, image_id)["rev"] == 2
    assert ours.get(image_id)["title"] == theirs.get(image_id)["title"] == "newer"
    assert meta(ours, image_id) == stored_records(ours)[image_id]


@pytest.mark.parametrize("actor", [ALICE, ADMIN])
def test_delete_removes_the_entry_and_every_object(images: Images, actor: Actor) -> None:
    keep = upload(images, seed=1, by="bob")
    image_id = upload(images, seed=2)
    images.delete(image_id, actor=actor)
    assert list(stored_records(images)) == [keep]
    assert all(images.d.keys.image_id_of(k) == keep for k in image_keys(images.d.storage, images.d.keys))
    with pytest.raises(NotFound):
        images.get(image_id)
    with pytest.raises(NotFound):
        images.delete(image_id, actor=actor)


def test_someone_else_may_not_delete(images: Images) -> None:
    image_id = upload(images)
    objects = image_keys(images.d.storage, images.d.keys)
    with pytest.raises(Forbidden):
        images.delete(image_id, actor=BOB)
    assert image_id in stored_records(images)
    assert image_keys(images.d.storage, images.d.keys) == objects


@pytest.mark.parametrize("image_id", ["0" * 32, "../index.json", ""])
def test_deleting_an_unknown_image_is_not_found(images: Images, image_id: str) -> None:
    with pytest.raises(NotFound):
        images.delete(image_id, actor=ADMIN)


class FailingDeletes(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.failing: str | None = None

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        if self.failing and key.endswith(self.failing):
            raise StorageUnavailable("injected")
        super().delete(key, missing_ok=missing_ok)


@pytest.mark.parametrize("failing", ["/original", "/sm.webp", "/meta.json"])
def test_an_interrupted_delete_can_be_finished(failing: str) -> None:
    bucket = FailingDeletes()
    images = make_images(bucket)
    image_id = upload(images)
    bucket.failing = failing
    with pytest.raises(StorageUnavailable):
        images.delete(image_id, actor=ALICE)
    assert image_id not in stored_records(images)
    bucket.failing = None
    with pytest.raises(Forbidden):  # the leftovers still belong to alice
        images.delete(image_id, actor=BOB)
    images.delete(image_id, actor=ALICE)
    assert image_keys(bucket, images.d.keys) == []
    with pytest.raises(NotFound):
        images.delete(image_id, actor=ALICE)


def test_a_delete_marks_the_image_before_its_catalog_entry_goes() -> None:
    bucket = FailingDeletes()
    images = make_images(bucket)
    image_id = upload(images)
    bucket.failing = "/original"
    with pytest.raises(StorageUnavailable):
        images.delete(image_id, actor=ALICE)
    tombstone = orjson.loads(bucket.get(images.d.keys.tombstone(image_id)))
    assert tombstone["deleted_by"] == "alice"
    images.reindex()  # the original and meta.json are still there, yet it stays deleted
    assert image_id not in stored_records(images)


def test_a_delete_whose_catalog_write_fails_changes_nothing() -> None:
    bucket = FaultyStorage(MemoryStorage())
    images = make_images(bucket)
    image_id = upload(images)
    objects = image_keys(bucket, images.d.keys)
    bucket.fail(lambda op, key: op == "put" and is_shard(key))
    with pytest.raises(StorageUnavailable):
        images.delete(image_id, actor=ALICE)
    bucket.heal()
    assert image_id in stored_records(images)
    assert image_keys(bucket, images.d.keys) == objects  # and no tombstone is left behind


def test_a_delete_whose_catalog_write_landed_unseen_keeps_its_tombstone() -> None:
    bucket = FaultyStorage(MemoryStorage())
    images = make_images(bucket)
    image_id = upload(images)
    bucket.fail(lambda op, key: op == "put" and is_shard(key), times=1, after=True)
    with pytest.raises(StorageUnavailable):
        images.delete(image_id, actor=ALICE)
    images.catalog.forget()
    assert image_id not in stored_records(images)  # the write did land
    assert bucket.exists(images.d.keys.tombstone(image_id))  # so cleanup finishes it, never revives it
