"""Editing and deleting: who may, what is checked, and what is left."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gallery.errors import BadRequest, Forbidden, NotFound, StorageUnavailable
from gallery.service import Actor, GalleryService
from gallery.storage.memory import MemoryStorage
from tests.service import (
    ADMIN,
    ALICE,
    BOB,
    image_keys,
    make_image,
    make_service,
)
from tests.support.faulty import FaultyStorage


def upload(service: GalleryService, seed: int = 0, by: str = "alice") -> str:  # noqa: F811
    return service.upload(make_image("jpeg", seed=seed), "a.jpg", uploaded_by=by).image["id"]


def meta(service: GalleryService, image_id: str) -> dict[str, Any]:  # noqa: F811
    return orjson.loads(service.storage.get(service.keys.meta(image_id)))


@pytest.mark.parametrize("actor", [ALICE, ADMIN])
def test_the_uploader_or_an_admin_edits(service: GalleryService, actor: Actor) -> None:  # noqa: F811
    image_id = upload(service)
    image = service.update(image_id, {"title": "  New  ", "description": " words\n"}, actor=actor)
    assert (image["title"], image["description"]) == ("New", "words")
    assert service.get(image_id) == image
    assert meta(service, image_id) == service.index.snapshot().images[image_id]
    assert meta(service, image_id)["title"] == "New"


def test_only_the_named_fields_change(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    service.update(image_id, {"description": "d"}, actor=ALICE)
    image = service.update(image_id, {"title": "t"}, actor=ALICE)
    assert (image["title"], image["description"]) == ("t", "d")
    image = service.update(image_id, {"description": ""}, actor=ALICE)
    assert image["description"] == ""
    assert "description" not in service.index.snapshot().images[image_id]
    assert meta(service, image_id) == service.index.snapshot().images[image_id]
    assert service.update(image_id, {}, actor=ALICE) == image


def test_someone_else_may_not_edit(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    before = service.storage.get(service.keys.meta(image_id))
    with pytest.raises(Forbidden):
        service.update(image_id, {"title": "mine now"}, actor=BOB)
    assert service.get(image_id)["title"] == "a"
    assert service.storage.get(service.keys.meta(image_id)) == before


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
    service: GalleryService, changes: dict[str, Any], named: str  # noqa: F811
) -> None:
    image_id = upload(service)
    with pytest.raises(BadRequest, match=named):
        service.update(image_id, changes, actor=ALICE)
    assert service.get(image_id)["title"] == "a"


def test_longest_allowed_values_pass(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    image = service.update(image_id, {"title": "t" * 200, "description": "d" * 5000}, actor=ALICE)
    assert len(image["title"]) == 200 and len(image["description"]) == 5000


def test_changes_must_be_a_mapping(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    with pytest.raises(BadRequest):
        service.update(image_id, ["title"], actor=ALICE)  # type: ignore[arg-type]


def test_editing_an_unknown_image_is_not_found(service: GalleryService) -> None:  # noqa: F811
    for image_id in ("0" * 32, "nope"):
        with pytest.raises(NotFound):
            service.update(image_id, {"title": "x"}, actor=ADMIN)


def test_edits_count_up_in_both_copies(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    for n in range(3):
        service.update(image_id, {"title": f"t{n}"}, actor=ALICE)
    assert meta(service, image_id)["rev"] == 3
    assert service.index.snapshot().images[image_id]["rev"] == 3
    assert service.get(image_id)["title"] == "t2"


def test_an_older_edit_never_overwrites_a_newer_one_in_the_index(
    service: GalleryService,  # noqa: F811
) -> None:
    image_id = upload(service)
    service.update(image_id, {"title": "newer"}, actor=ALICE)
    # an edit that wrote meta.json earlier (rev 1) reaches the index late:
    def stale(value: dict[str, Any]) -> None:
        value["images"][image_id] = {**value["images"][image_id], "rev": 5}
    service.index.update(stale)
    service.update(image_id, {"title": "ignored in the index"}, actor=ALICE)  # meta rev 2 < 5
    assert service.get(image_id)["title"] == "newer"


@pytest.mark.parametrize("actor", [ALICE, ADMIN])
def test_delete_removes_the_entry_and_every_object(service: GalleryService, actor: Actor) -> None:  # noqa: F811
    keep = upload(service, seed=1, by="bob")
    image_id = upload(service, seed=2)
    service.delete(image_id, actor=actor)
    assert list(service.index.snapshot().images) == [keep]
    assert all(service.keys.image_id_of(k) == keep for k in image_keys(service.storage, service.keys))
    with pytest.raises(NotFound):
        service.get(image_id)
    with pytest.raises(NotFound):
        service.delete(image_id, actor=actor)


def test_someone_else_may_not_delete(service: GalleryService) -> None:  # noqa: F811
    image_id = upload(service)
    objects = image_keys(service.storage, service.keys)
    with pytest.raises(Forbidden):
        service.delete(image_id, actor=BOB)
    assert image_id in service.index.snapshot().images
    assert image_keys(service.storage, service.keys) == objects


@pytest.mark.parametrize("image_id", ["0" * 32, "../index.json", ""])
def test_deleting_an_unknown_image_is_not_found(service: GalleryService, image_id: str) -> None:  # noqa: F811
    with pytest.raises(NotFound):
        service.delete(image_id, actor=ADMIN)


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
    service = make_service(bucket)
    image_id = upload(service)
    bucket.failing = failing
    with pytest.raises(StorageUnavailable):
        service.delete(image_id, actor=ALICE)
    assert image_id not in service.index.snapshot().images
    bucket.failing = None
    with pytest.raises(Forbidden):  # the leftovers still belong to alice
        service.delete(image_id, actor=BOB)
    service.delete(image_id, actor=ALICE)
    assert image_keys(bucket, service.keys) == []
    with pytest.raises(NotFound):
        service.delete(image_id, actor=ALICE)


def test_a_delete_marks_the_image_before_its_index_entry_goes() -> None:
    bucket = FailingDeletes()
    service = make_service(bucket)
    image_id = upload(service)
    bucket.failing = "/original"
    with pytest.raises(StorageUnavailable):
        service.delete(image_id, actor=ALICE)
    tombstone = orjson.loads(bucket.get(service.keys.tombstone(image_id)))
    assert tombstone["deleted_by"] == "alice"
    service.reindex()  # the original and meta.json are still there, yet it stays deleted
    assert image_id not in service.index.snapshot().images


def test_a_delete_whose_index_write_fails_changes_nothing() -> None:
    bucket = FaultyStorage(MemoryStorage())
    service = make_service(bucket)
    image_id = upload(service)
    objects = image_keys(bucket, service.keys)
    bucket.fail(lambda op, key: op == "put" and key.endswith("index.json"))
    with pytest.raises(StorageUnavailable):
        service.delete(image_id, actor=ALICE)
    bucket.heal()
    assert image_id in service.index.snapshot().images
    assert image_keys(bucket, service.keys) == objects  # and no tombstone is left behind


def test_a_delete_whose_index_write_landed_unseen_keeps_its_tombstone() -> None:
    bucket = FaultyStorage(MemoryStorage())
    service = make_service(bucket)
    image_id = upload(service)
    bucket.fail(lambda op, key: op == "put" and key.endswith("index.json"), times=1, after=True)
    with pytest.raises(StorageUnavailable):
        service.delete(image_id, actor=ALICE)
    service.index.forget()
    assert image_id not in service.index.snapshot().images  # the write did land
    assert bucket.exists(service.keys.tombstone(image_id))  # so cleanup finishes it, never revives it
