"""Uploads: what is stored, duplicates, and what a failure leaves behind."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest, PreconditionFailed, StorageUnavailable, UnsupportedType
from gallery.imaging import VARIANT_SIZES
from gallery.keys import Keys
from gallery.service import GalleryService
from gallery.storage.base import Data, ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from tests.service import (
    image_keys,
    make_image,
    make_service,
    sha256,
)

KINDS = {
    # kind: (format, content type, frames)
    "jpeg": ("JPEG", "image/jpeg", 1),
    "png": ("PNG", "image/png", 1),
    "png_rgba": ("PNG", "image/png", 1),
    "gif": ("GIF", "image/gif", 1),
    "gif_animated": ("GIF", "image/gif", 3),
    "webp": ("WEBP", "image/webp", 1),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_upload_stores_original_variants_meta_and_index_entry(
    service: GalleryService, kind: str  # noqa: F811
) -> None:
    data = make_image(kind, seed=1)
    result = service.upload(data, f"My {kind}.bin", uploaded_by="alice", description=" hi ")
    image = result.image
    fmt, content_type, frames = KINDS[kind]
    assert not result.duplicate
    assert image["format"] == fmt and image["content_type"] == content_type
    assert image["frames"] == frames and image["animated"] is (frames > 1)
    assert (image["width"], image["height"]) == (24, 16)
    assert image["filename"] == f"My {kind}.bin" and image["title"] == f"My {kind}"
    assert image["description"] == "hi" and image["uploaded_by"] == "alice"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", image["created_at"])
    assert re.fullmatch(r"#[0-9a-f]{6}", image["placeholder"])

    keys, image_id = service.keys, image["id"]
    original, info = service.storage.read(keys.original(image_id))
    assert info.content_type == content_type
    assert sha256(original) == image["sha256"] and len(original) == image["size"]
    assert set(image["variants"]) == {"lg", "md", "sm"}
    for name, variant in image["variants"].items():
        stored, vinfo = service.storage.read(keys.variant(image_id, name))
        assert vinfo.content_type == "image/webp"
        assert sha256(stored) == variant["sha256"] and len(stored) == variant["size"]
        assert variant["w"] <= 24 and variant["h"] <= 16
    meta = orjson.loads(service.storage.get(keys.meta(image_id)))
    indexed = service.index.snapshot().images[image_id]
    assert meta == indexed
    assert len(orjson.dumps(indexed)) < 1000
    assert service.get(image_id) == image
    assert sorted(image_keys(service.storage, keys)) == sorted(
        [keys.original(image_id), keys.meta(image_id)]
        + [keys.variant(image_id, name) for name in ("lg", "md", "sm")])


def test_records_leave_out_default_values(service: GalleryService) -> None:  # noqa: F811
    image = service.upload(make_image("png"), "x.png", uploaded_by="alice").image
    stored = service.index.snapshot().images[image["id"]]
    assert "description" not in stored and "animated" not in stored
    assert image["description"] == "" and image["animated"] is False


@pytest.mark.parametrize(
    ("filename", "title", "expected_filename", "expected_title"),
    [
        ("../../secret/Café 日本.jpg", None, "Café 日本.jpg", "Café 日本"),
        ("", None, "image.jpg", "image"),
        ("noextension", None, "noextension", "noextension"),
        ("a.jpg", "  Given title  ", "a.jpg", "Given title"),
        ("a.jpg", "", "a.jpg", ""),
    ],
)
def test_filename_is_sanitised_and_title_defaults_to_its_stem(
    service: GalleryService,  # noqa: F811
    filename: str,
    title: str | None,
    expected_filename: str,
    expected_title: str,
) -> None:
    image = service.upload(make_image("jpeg"), filename, uploaded_by="alice", title=title).image
    assert (image["filename"], image["title"]) == (expected_filename, expected_title)
    assert all("Café" not in key for key in image_keys(service.storage, service.keys))


def test_the_same_bytes_are_stored_once(service: GalleryService) -> None:  # noqa: F811
    data = make_image("jpeg", seed=7)
    first = service.upload(data, "a.jpg", uploaded_by="alice")
    before = image_keys(service.storage, service.keys)
    second = service.upload(data, "b.jpg", uploaded_by="bob", title="other")
    assert second.duplicate and not first.duplicate
    assert second.image == first.image
    assert image_keys(service.storage, service.keys) == before
    assert len(service.index.snapshot()) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 5001}, "description"),
        ({"title": 5}, "title"),
        ({"description": None}, "description"),
    ],
)
def test_bad_title_or_description_stores_nothing(
    service: GalleryService, kwargs: dict[str, Any], field: str  # noqa: F811
) -> None:
    with pytest.raises(BadRequest, match=field):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice", **kwargs)
    assert image_keys(service.storage, service.keys) == []


def test_not_an_image_stores_nothing(service: GalleryService) -> None:  # noqa: F811
    with pytest.raises(UnsupportedType):
        service.upload(b"%PDF-1.4 not an image", "a.jpg", uploaded_by="alice")
    assert image_keys(service.storage, service.keys) == []
    assert not service.storage.exists(service.keys.index)


def test_a_damaged_index_stops_uploads_and_is_left_untouched(
    service: GalleryService,  # noqa: F811
) -> None:
    service.storage.put(service.keys.index, b'{"format": 1, "images": [')
    with pytest.raises(DocumentDamaged):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert service.storage.get(service.keys.index) == b'{"format": 1, "images": ['
    assert image_keys(service.storage, service.keys) == []


# --- failures ----------------------------------------------------------------


class FlakyStorage(MemoryStorage):
    """Fails chosen calls with StorageUnavailable.

    ``fail_put``: the n-th put (1-based) fails; with ``after_write`` it fails
    after the object was stored (a lost response). ``fail_deletes``: every
    delete fails.
    """

    def __init__(self, fail_put: int = 0, *, after_write: bool = False,
                 fail_deletes: bool = False) -> None:
        super().__init__()
        self.puts = 0
        self.fail_put = fail_put
        self.after_write = after_write
        self.fail_deletes = fail_deletes

    def put(self, key: str, data: Data, **kwargs: Any) -> ObjectInfo:
        self.puts += 1
        if self.puts == self.fail_put and not self.after_write:
            raise StorageUnavailable("injected")
        info = super().put(key, data, **kwargs)
        if self.puts == self.fail_put:
            raise StorageUnavailable("injected after write")
        return info

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        if self.fail_deletes:
            raise StorageUnavailable("injected")
        super().delete(key, missing_ok=missing_ok)


def assert_index_points_only_at_existing_objects(service: GalleryService) -> None:  # noqa: F811
    keys = service.keys
    for image_id, record in service.index.snapshot().images.items():
        assert service.storage.exists(keys.original(image_id))
        assert service.storage.exists(keys.meta(image_id))
        for name in record["variants"]:
            assert service.storage.exists(keys.variant(image_id, name))


# puts of one upload: 1 original, 2 lg, 3 md, 4 sm, 5 meta.json, 6 index.json
INDEX_PUT = 6


@pytest.mark.parametrize("failing_put", range(1, INDEX_PUT + 1))
def test_a_failure_at_any_step_leaves_nothing_behind(failing_put: int) -> None:
    bucket = FlakyStorage(failing_put)
    service = make_service(bucket)
    with pytest.raises(StorageUnavailable):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(service.index.snapshot()) == 0
    assert image_keys(bucket, service.keys) == []
    # and the next upload works
    image = service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert list(service.index.snapshot().images) == [image["id"]]
    assert_index_points_only_at_existing_objects(service)


@pytest.mark.parametrize("failing_put", range(1, INDEX_PUT))
def test_a_lost_response_while_storing_objects_leaves_nothing_behind(failing_put: int) -> None:
    bucket = FlakyStorage(failing_put, after_write=True)
    service = make_service(bucket)
    with pytest.raises(StorageUnavailable):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(service.index.snapshot()) == 0
    assert image_keys(bucket, service.keys) == []


def test_a_lost_response_after_the_index_write_counts_as_success() -> None:
    bucket = FlakyStorage(INDEX_PUT, after_write=True)
    service = make_service(bucket)
    image = service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert list(service.index.snapshot().images) == [image["id"]]
    assert_index_points_only_at_existing_objects(service)


def test_when_cleanup_fails_too_only_orphans_remain() -> None:
    bucket = FlakyStorage(INDEX_PUT, fail_deletes=True)
    service = make_service(bucket)
    with pytest.raises(StorageUnavailable):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(service.index.snapshot()) == 0
    assert len(image_keys(bucket, service.keys)) == INDEX_PUT - 1  # orphans, for cleanup


class RacingStorage(MemoryStorage):
    """Runs ``hook`` once, just before the first ``meta.json`` is stored."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None

    def put(self, key: str, data: Data, **kwargs: Any) -> ObjectInfo:
        hook, self.hook = (self.hook, None) if key.endswith("meta.json") else (None, self.hook)
        if hook is not None:
            hook()
        return super().put(key, data, **kwargs)


def test_a_concurrent_upload_of_the_same_bytes_wins_once() -> None:
    bucket = RacingStorage()
    ours, theirs = make_service(bucket), make_service(bucket)
    data = make_image("png", seed=3)
    winner: list[dict[str, Any]] = []
    bucket.hook = lambda: winner.append(theirs.upload(data, "b.png", uploaded_by="bob").image)
    result = ours.upload(data, "a.png", uploaded_by="alice")
    assert result.duplicate and result.image == winner[0]
    assert list(ours.index.snapshot().images) == [winner[0]["id"]]
    assert {Keys().image_id_of(key) for key in image_keys(bucket, Keys())} == {winner[0]["id"]}


def test_storage_refusing_a_create_is_not_swallowed() -> None:
    class Refusing(MemoryStorage):
        def put(self, key: str, data: Data, **kwargs: Any) -> ObjectInfo:
            if key.endswith("/original"):
                raise PreconditionFailed(key)
            return super().put(key, data, **kwargs)

    service = make_service(Refusing())
    with pytest.raises(PreconditionFailed):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(service.index.snapshot()) == 0


def test_storage_used_is_the_given_one(storage: Storage) -> None:  # noqa: F811
    service = make_service(storage, prefix="x/")
    image = service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert storage.exists(f"x/images/{image['id']}/original")
    assert storage.exists("x/index.json")


def test_an_existing_object_is_never_removed_by_a_failed_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = MemoryStorage()
    service = make_service(bucket)
    taken = "ab" * 16
    bucket.put(service.keys.original(taken), b"someone else's")
    monkeypatch.setattr("gallery.service.new_image_id", lambda: taken)
    with pytest.raises(PreconditionFailed):
        service.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert bucket.get(service.keys.original(taken)) == b"someone else's"


# --- with the pipeline's own test images -----------------------------------

from tests.imaging import fixtures  # noqa: E402

FIXTURES = {
    "jpeg": (fixtures.jpeg, "JPEG", False),
    "png": (fixtures.png, "PNG", False),
    "png_rgba": (fixtures.png_rgba, "PNG", False),
    "gif_animated": (fixtures.gif_animated, "GIF", True),
    "webp_still": (fixtures.webp_still, "WEBP", False),
    "webp_animated": (fixtures.webp_animated, "WEBP", True),
}


@pytest.mark.parametrize("kind", sorted(FIXTURES))
def test_upload_pipeline_fixtures(service: GalleryService, kind: str) -> None:  # noqa: F811
    make, fmt, animated = FIXTURES[kind]
    image = service.upload(make(), f"{kind}.x", uploaded_by="alice").image
    assert (image["format"], image["animated"]) == (fmt, animated)
    assert sha256(service.storage.get(service.keys.original(image["id"]))) == image["sha256"]
    for name, variant in image["variants"].items():
        stored = service.storage.get(service.keys.variant(image["id"], name))
        assert sha256(stored) == variant["sha256"]
        assert max(variant["w"], variant["h"]) <= VARIANT_SIZES[name]
    assert len(orjson.dumps(service.index.snapshot().images[image["id"]])) < 1000


def test_location_is_removed_and_both_hashes_find_the_image(
    service: GalleryService,  # noqa: F811
) -> None:
    upload = fixtures.jpeg_with_gps()
    image = service.upload(upload, "gps.jpg", uploaded_by="alice").image
    stored = service.storage.get(service.keys.original(image["id"]))
    assert image["gps_removed"] is True
    assert image["upload_sha256"] == sha256(upload) != image["sha256"] == sha256(stored)
    assert (image["width"], image["height"]) == (640, 480)  # upright
    again = service.upload(upload, "again.jpg", uploaded_by="bob")
    assert again.duplicate and again.image["id"] == image["id"]
    stripped = service.upload(stored, "stripped.jpg", uploaded_by="bob")
    assert stripped.duplicate and stripped.image["id"] == image["id"]
    assert len(service.index.snapshot()) == 1
