"""Reading the gallery: cursor listing, numbered pages, one image, media."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gallery.errors import BadRequest, NotFound
from gallery.images.service import Images
from gallery.storage.base import Storage
from tests.images import (
    ALICE,
    make_image,
    make_images,
    open_backend,
    sha256,
)


def upload_many(images: Images, count: int, start: int = 0) -> list[str]:
    """Upload ``count`` images; return their ids, oldest first."""
    return [
        images.upload(make_image("png", seed=start + i), f"{start + i}.png",
                       uploaded_by="alice").image["id"]
        for i in range(count)
    ]


def walk(images: Images, limit: int) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        listed, cursor = images.list_images(limit=limit, cursor=cursor)
        seen += [image["id"] for image in listed]
        if cursor is None:
            return seen
    raise AssertionError("the listing did not end")


def test_listing_is_newest_first_and_cursors_survive_changes(
    images: Images,
) -> None:
    ids = upload_many(images, 7)
    first, cursor = images.list_images(limit=3)
    assert [i["id"] for i in first] == ids[::-1][:3]
    assert cursor is not None
    upload_many(images, 2, start=100)  # newer images do not shift the cursor
    images.delete(ids[2], actor=ALICE)  # neither does deleting one not yet seen
    images.delete(ids[4], actor=ALICE)  # or the very image the cursor points at
    second, cursor = images.list_images(limit=3, cursor=cursor)
    assert [i["id"] for i in second] == [ids[3], ids[1], ids[0]]
    assert cursor is None


def test_walking_every_page_sees_every_image_once(images: Images) -> None:
    ids = upload_many(images, 5)
    for limit in (1, 2, 5, 6):
        assert walk(images, limit) == ids[::-1]


def test_images_made_in_the_same_millisecond_are_all_listed(storage: Storage) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    images = make_images(storage, clock=lambda: moment)
    ids = upload_many(images, 4)
    assert walk(images, 1) == sorted(ids, reverse=True)


def test_limit_is_clamped(images: Images) -> None:
    upload_many(images, 2)
    assert len(images.list_images(limit=0)[0]) == 1
    assert len(images.list_images(limit=-5)[0]) == 1
    assert len(images.list_images(limit=10_000)[0]) == 2


def test_empty_gallery_lists_nothing(images: Images) -> None:
    assert images.list_images(limit=10) == ([], None)


@pytest.mark.parametrize("cursor", ["garbage", "Zm9vfGJhcg", "%%%"])
def test_malformed_cursor_is_a_bad_request(images: Images, cursor: str) -> None:
    with pytest.raises(BadRequest):
        images.list_images(limit=10, cursor=cursor)


def test_numbered_pages(images: Images) -> None:
    ids = upload_many(images, 5)[::-1]
    pages = [images.page(n, 2) for n in (1, 2, 3)]
    assert [[i["id"] for i in p.images] for p in pages] == [ids[0:2], ids[2:4], ids[4:]]
    assert [(p.number, p.pages, p.total) for p in pages] == [(1, 3, 5), (2, 3, 5), (3, 3, 5)]
    assert pages[0].has_next and not pages[0].has_previous and not pages[2].has_next
    for number in (0, -1, 4):
        with pytest.raises(NotFound):
            images.page(number, 2)


def test_page_one_of_an_empty_gallery_exists(images: Images) -> None:
    page = images.page(1, 48)
    assert (page.images, page.number, page.pages, page.total) == ([], 1, 1, 0)
    with pytest.raises(NotFound):
        images.page(2, 48)


@pytest.mark.parametrize(
    "image_id", ["0" * 32, "", "../index.json", "A" * 32, "a" * 31, "a" * 33, "a/b", "é" * 32]
)
def test_unknown_or_malformed_id_is_not_found(images: Images, image_id: str) -> None:
    upload_many(images, 1)
    with pytest.raises(NotFound):
        images.get(image_id)
    with pytest.raises(NotFound):
        images.media(image_id)
    with pytest.raises(NotFound):
        images.media(image_id, "sm")


def test_get_returns_a_copy(images: Images) -> None:
    (image_id,) = upload_many(images, 1)
    image = images.get(image_id)
    image["title"] = "changed"
    image["variants"]["sm"]["w"] = 0
    again = images.get(image_id)
    assert again["title"] == "0" and again["variants"]["sm"]["w"] > 0


def test_media_of_the_original_and_a_thumbnail(images: Images) -> None:
    (image_id,) = upload_many(images, 1)
    image = images.get(image_id)
    original = images.media(image_id)
    assert original.key == images.d.keys.original(image_id)
    assert (original.content_type, original.size) == ("image/png", image["size"])
    assert original.etag == f'"{image["sha256"]}"'
    with images.open_media(original) as stream:
        assert sha256(stream.read()) == image["sha256"]

    small = images.media(image_id, "sm")
    assert small.key == images.d.keys.variant(image_id, "sm")
    assert (small.content_type, small.size) == ("image/webp", image["variants"]["sm"]["size"])
    assert small.etag == f'"{image["variants"]["sm"]["sha256"]}"' != original.etag
    with images.open_media(small) as stream:
        assert sha256(stream.read()) == image["variants"]["sm"]["sha256"]


@pytest.mark.parametrize("variant", ["xl", "", "../original", "SM", "original", "meta"])
def test_unknown_variant_is_not_found(images: Images, variant: str) -> None:
    (image_id,) = upload_many(images, 1)
    with pytest.raises(NotFound):
        images.media(image_id, variant)


def test_local_path_on_the_file_backend(tmp_path: Path) -> None:
    images = make_images(open_backend("file", tmp_path))
    (image_id,) = upload_many(images, 1)
    media = images.media(image_id, "lg")
    path = images.local_path(media)
    assert path is not None
    assert Path(path).read_bytes() == images.d.storage.get(media.key)
    assert media.filename.endswith("-lg.webp")
    assert make_images(open_backend("memory", tmp_path)).d.storage.local_path(media.key) is None


def test_media_deleted_meanwhile_is_not_found(images: Images) -> None:
    (image_id,) = upload_many(images, 1)
    media = images.media(image_id)
    images.delete(image_id, actor=ALICE)
    with pytest.raises(NotFound):
        images.open_media(media)
