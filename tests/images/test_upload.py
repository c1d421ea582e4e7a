"""Uploads: what is stored, duplicates, and what a failure leaves behind."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from gallery.documents import DocumentDamaged
from gallery.errors import (
    BadRequest,
    Conflict,
    PreconditionFailed,
    StorageUnavailable,
    UnsupportedType,
)
from gallery.images.service import Images
from gallery.imaging import VARIANT_SIZES
from gallery.keys import Keys
from gallery.storage.base import Data, ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from tests.images import (
    image_keys,
    make_image,
    make_images,
    sha256,
    stored_records,
)
from tests.support.faulty import FaultyStorage

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
def test_upload_stores_original_variants_meta_and_catalog_entry(
    images: Images, kind: str
) -> None:
    data = make_image(kind, seed=1)
    result = images.upload(data, f"My {kind}.bin", uploaded_by="alice", description=" hi ")
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

    keys, image_id = images.d.keys, image["id"]
    original, info = images.d.storage.read(keys.original(image_id))
    assert info.content_type == content_type
    assert sha256(original) == image["sha256"] and len(original) == image["size"]
    assert set(image["variants"]) == {"lg", "md", "sm"}
    for name, variant in image["variants"].items():
        stored, vinfo = images.d.storage.read(keys.variant(image_id, name))
        assert vinfo.content_type == "image/webp"
        assert sha256(stored) == variant["sha256"] and len(stored) == variant["size"]
        assert variant["w"] <= 24 and variant["h"] <= 16
    meta = orjson.loads(images.d.storage.get(keys.meta(image_id)))
    indexed = stored_records(images)[image_id]
    assert meta == indexed
    assert len(orjson.dumps(indexed)) < 1000
    assert images.get(image_id) == image
    assert sorted(image_keys(images.d.storage, keys)) == sorted(
        [keys.original(image_id), keys.meta(image_id)]
        + [keys.variant(image_id, name) for name in ("lg", "md", "sm")])


def test_records_leave_out_default_values(images: Images) -> None:
    image = images.upload(make_image("png"), "x.png", uploaded_by="alice").image
    stored = stored_records(images)[image["id"]]
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
    images: Images,
    filename: str,
    title: str | None,
    expected_filename: str,
    expected_title: str,
) -> None:
    image = images.upload(make_image("jpeg"), filename, uploaded_by="alice", title=title).image
    assert (image["filename"], image["title"]) == (expected_filename, expected_title)
    assert all("Café" not in key for key in image_keys(images.d.storage, images.d.keys))


def test_the_same_bytes_are_stored_once(images: Images) -> None:
    data = make_image("jpeg", seed=7)
    first = images.upload(data, "a.jpg", uploaded_by="alice")
    before = image_keys(images.d.storage, images.d.keys)
    second = images.upload(data, "b.jpg", uploaded_by="bob", title="other")
    assert second.duplicate and not first.duplicate
    assert second.image == first.image
    assert image_keys(images.d.storage, images.d.keys) == before
    assert len(stored_records(images)) == 1


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
    images: Images, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadRequest, match=field):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice", **kwargs)
    assert image_keys(images.d.storage, images.d.keys) == []


def test_not_an_image_stores_nothing(images: Images) -> None:
    with pytest.raises(UnsupportedType):
        images.upload(b"%PDF-1.4 not an image", "a.jpg", uploaded_by="alice")
    assert image_keys(images.d.storage, images.d.keys) == []
    assert not images.d.storage.exists(images.d.keys.index)


def test_a_damaged_index_stops_uploads_and_is_left_untouched(
    images: Images,
) -> None:
    images.d.storage.put(images.d.keys.index, b'{"format": 1, "images": [')
    with pytest.raises(DocumentDamaged):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert images.d.storage.get(images.d.keys.index) == b'{"format": 1, "images": ['
    assert image_keys(images.d.storage, images.d.keys) == []


def test_a_damaged_shard_stops_uploads_and_is_left_untouched(
    images: Images,
) -> None:
    first = images.upload(make_image("jpeg", seed=1), "a.jpg", uploaded_by="alice").image
    storage, keys = images.d.storage, images.d.keys
    (shard,) = [info.key for info in storage.list(keys.shards_prefix)]
    before = image_keys(storage, keys)
    storage.put(shard, b'{"format": 2, "images": [')
    other = make_images(storage, prefix=keys.prefix)
    with pytest.raises(DocumentDamaged):
        other.upload(make_image("jpeg", seed=2), "b.jpg", uploaded_by="alice")
    assert storage.get(shard) == b'{"format": 2, "images": ['
    assert image_keys(storage, keys) == before
    assert {keys.image_id_of(key) for key in before} == {first["id"]}


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


def assert_catalog_points_only_at_existing_objects(images: Images) -> None:
    keys = images.d.keys
    for image_id, record in stored_records(images).items():
        assert images.d.storage.exists(keys.original(image_id))
        assert images.d.storage.exists(keys.meta(image_id))
        for name in record["variants"]:
            assert images.d.storage.exists(keys.variant(image_id, name))


# puts of the first upload: 1 original, 2 lg, 3 md, 4 sm, 5 meta.json, 6 its hash bucket,
# 7 the catalog's first shard, 8 the catalog's root (index.json)
OBJECT_PUTS = 5
SHARD_PUT = 7
ROOT_PUT = 8


@pytest.mark.parametrize("failing_put", range(1, ROOT_PUT + 1))
def test_a_failure_at_any_step_leaves_nothing_behind(failing_put: int) -> None:
    bucket = FlakyStorage(failing_put)
    images = make_images(bucket)
    with pytest.raises(StorageUnavailable):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(stored_records(images)) == 0
    assert image_keys(bucket, images.d.keys) == []
    # and the next upload works
    image = images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert list(stored_records(images)) == [image["id"]]
    assert_catalog_points_only_at_existing_objects(images)


@pytest.mark.parametrize("failing_put", range(1, ROOT_PUT))
def test_a_lost_response_before_the_catalog_root_leaves_nothing_behind(failing_put: int) -> None:
    bucket = FlakyStorage(failing_put, after_write=True)
    images = make_images(bucket)
    with pytest.raises(StorageUnavailable):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(stored_records(images)) == 0
    assert image_keys(bucket, images.d.keys) == []


def test_a_lost_response_after_the_catalog_write_counts_as_success() -> None:
    bucket = FlakyStorage(ROOT_PUT, after_write=True)
    images = make_images(bucket)
    image = images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert list(stored_records(images)) == [image["id"]]
    assert_catalog_points_only_at_existing_objects(images)


@pytest.mark.parametrize(("failing", "after"), [("shard", True), ("root", True), ("root", False)])
def test_a_later_upload_whose_shard_landed_counts_as_success(failing: str, after: bool) -> None:
    bucket = FaultyStorage(MemoryStorage())
    images = make_images(bucket)
    first = images.upload(make_image("jpeg", seed=1), "a.jpg", uploaded_by="alice").image
    # the shard holds the record; the root only hints at it
    bucket.fail(lambda op, key: op == "put" and (
        "catalog/shards/" in key if failing == "shard" else key == images.d.keys.index),
        times=1, after=after)
    second = images.upload(make_image("jpeg", seed=2), "b.jpg", uploaded_by="alice").image
    assert bucket.total_failures == 1
    assert set(stored_records(make_images(bucket))) == {first["id"], second["id"]}
    assert_catalog_points_only_at_existing_objects(images)


def test_when_cleanup_fails_too_only_orphans_remain() -> None:
    bucket = FlakyStorage(ROOT_PUT, fail_deletes=True)
    images = make_images(bucket)
    with pytest.raises(StorageUnavailable):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(stored_records(images)) == 0
    assert len(image_keys(bucket, images.d.keys)) == OBJECT_PUTS  # orphans, for cleanup


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
    ours, theirs = make_images(bucket), make_images(bucket)
    data = make_image("png", seed=3)
    winner: list[dict[str, Any]] = []
    bucket.hook = lambda: winner.append(theirs.upload(data, "b.png", uploaded_by="bob").image)
    result = ours.upload(data, "a.png", uploaded_by="alice")
    assert result.duplicate and result.image == winner[0]
    assert list(stored_records(ours)) == [winner[0]["id"]]
    assert {Keys().image_id_of(key) for key in image_keys(bucket, Keys())} == {winner[0]["id"]}


def test_storage_refusing_a_create_is_not_swallowed() -> None:
    class Refusing(MemoryStorage):
        def put(self, key: str, data: Data, **kwargs: Any) -> ObjectInfo:
            if key.endswith("/original"):
                raise PreconditionFailed(key)
            return super().put(key, data, **kwargs)

    images = make_images(Refusing())
    with pytest.raises(Conflict, match="not in the catalog"):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert len(stored_records(images)) == 0


def test_storage_used_is_the_given_one(storage: Storage) -> None:
    images = make_images(storage, prefix="x/")
    image = images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice").image
    assert storage.exists(f"x/images/{image['id']}/original")
    assert storage.exists("x/index.json")


def test_an_existing_object_is_never_removed_by_a_failed_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = MemoryStorage()
    images = make_images(bucket)
    taken = "ab" * 16
    bucket.put(images.d.keys.original(taken), b"someone else's")
    monkeypatch.setattr("gallery.images.upload.new_image_id", lambda: taken)
    with pytest.raises(Conflict):
        images.upload(make_image("jpeg"), "a.jpg", uploaded_by="alice")
    assert bucket.get(images.d.keys.original(taken)) == b"someone else's"


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
def test_upload_pipeline_fixtures(images: Images, kind: str) -> None:
    make, fmt, animated = FIXTURES[kind]
    image = images.upload(make(), f"{kind}.x", uploaded_by="alice").image
    assert (image["format"], image["animated"]) == (fmt, animated)
    assert sha256(images.d.storage.get(images.d.keys.original(image["id"]))) == image["sha256"]
    for name, variant in image["variants"].items():
        stored = images.d.storage.get(images.d.keys.variant(image["id"], name))
        assert sha256(stored) == variant["sha256"]
        assert max(variant["w"], variant["h"]) <= VARIANT_SIZES[name]
    assert len(orjson.dumps(stored_records(images)[image["id"]])) < 1000


def test_location_is_removed_and_both_hashes_find_the_image(
    images: Images,
) -> None:
    upload = fixtures.jpeg_with_gps()
    image = images.upload(upload, "gps.jpg", uploaded_by="alice").image
    stored = images.d.storage.get(images.d.keys.original(image["id"]))
    assert image["gps_removed"] is True
    assert image["upload_sha256"] == sha256(upload) != image["sha256"] == sha256(stored)
    assert (image["width"], image["height"]) == (640, 480)  # upright
    again = images.upload(upload, "again.jpg", uploaded_by="bob")
    assert again.duplicate and again.image["id"] == image["id"]
    stripped = images.upload(stored, "stripped.jpg", uploaded_by="bob")
    assert stripped.duplicate and stripped.image["id"] == image["id"]
    assert len(stored_records(images)) == 1
