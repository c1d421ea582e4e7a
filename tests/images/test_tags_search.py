"""Tags, search and the order by date taken, over real buckets."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gallery.catalog import Change
from gallery.errors import BadRequest, NotFound
from gallery.images.record import MAX_TAGS, ImageRecord, clean_tags
from gallery.images.search import Search, parse_search
from gallery.images.service import Images
from gallery.storage.base import Storage
from tests.images import ADMIN, ALICE, BOB, make_image, make_images, stored_records


def upload(images: Images, seed: int, title: str = "", filename: str = "a.jpg",
           by: str = "alice") -> str:
    return images.upload(make_image("jpeg", seed=seed), filename, uploaded_by=by,
                         title=title).image["id"]


def set_fields(images: Images, image_id: str, **fields: Any) -> None:
    """Give a stored image what the camera would have written (date taken, camera)."""
    record = images.record(image_id)
    images.d.catalog.apply([Change(record.key, image_id,
                                   lambda r: r.with_changes(**fields))])


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [image["id"] for image in found]


def search(images: Images, **args: str) -> list[str]:
    found, _ = images.search(parse_search(args), limit=100)
    return ids(found)


# --- the rules of tags ---------------------------------------------------------------------


def test_tags_are_cleaned_kept_as_typed_and_matched_in_any_case() -> None:
    assert clean_tags(["  Beach ", "New   York", "beach", "BEACH", "", " "]) == (
        "Beach", "New York")


@pytest.mark.parametrize(("tags", "message"), [
    ("beach", "list of strings"),
    ([1], "must be a string"),
    (["x" * 1024], "at most 50 characters"),
    (["a\x00b"], "control characters"),
    (["a\nb"], "control characters"),
    ([f"t{n}" for n in range(1000)], f"at most {MAX_TAGS} tags"),
    ([f"t{n}" for n in range(MAX_TAGS + 1)], f"at most {MAX_TAGS} tags"),
])
def test_bad_tags_are_refused_with_a_reason(tags: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clean_tags(tags)


def test_the_most_and_longest_tags_pass() -> None:
    tags = [f"{n:02d}" + "x" * 48 for n in range(MAX_TAGS)]
    assert clean_tags(tags) == tuple(tags)


def test_a_record_keeps_tags_lean_and_shows_them() -> None:
    base = {"id": "a" * 32, "filename": "a.jpg", "content_type": "image/jpeg", "format": "JPEG",
            "size": 1, "width": 1, "height": 1, "sha256": "0" * 64,
            "created_at": "2026-11-21T08:30:00.000Z", "uploaded_by": "ada", "title": ""}
    bare = ImageRecord.from_json(base)
    assert "tags" not in bare.to_json() and bare.public()["tags"] == []
    tagged = ImageRecord.from_json({**base, "tags": ["Cat", "dog"]})
    assert tagged.tags == ("Cat", "dog") and tagged.to_json()["tags"] == ["Cat", "dog"]
    assert tagged.has_tag("CAT") and not tagged.has_tag("bird")
    with pytest.raises(ValueError, match="tags"):
        ImageRecord.from_json({**base, "tags": "Cat"})


# --- editing tags ----------------------------------------------------------------------------


def test_tags_are_edited_in_the_catalog_and_meta_json_and_audited(storage: Storage) -> None:
    from gallery.audit import AuditLog
    from gallery.imaging import Limits
    from gallery.keys import Keys
    from tests.images import StepClock

    audit = AuditLog(storage, Keys("g/"))
    images = Images(storage, Keys("g/"), limits=Limits(), clock=StepClock(), audit=audit)
    image_id = upload(images, 1)
    image = images.update(image_id, {"tags": [" Sea ", "sun", "SEA"]}, actor=ALICE)
    assert image["tags"] == ["Sea", "sun"]
    assert images.get(image_id)["tags"] == ["Sea", "sun"]
    meta = orjson.loads(storage.get(images.d.keys.meta(image_id)))
    assert meta == stored_records(images)[image_id] and meta["tags"] == ["Sea", "sun"]
    assert meta["rev"] == 1
    entries = [e for e in audit.latest() if e.action == "image.edit"]
    assert entries and entries[0].target == image_id and entries[0].details["fields"] == ["tags"]
    image = images.update(image_id, {"tags": []}, actor=ADMIN)
    assert image["tags"] == [] and "tags" not in stored_records(images)[image_id]


def test_bad_tags_change_nothing(images: Images) -> None:
    image_id = upload(images, 1)
    images.update(image_id, {"tags": ["keep"]}, actor=ALICE)
    for tags in (["x" * 1024], [str(n) for n in range(1000)], ["bad\x07"], "keep"):
        with pytest.raises(BadRequest):
            images.update(image_id, {"tags": tags, "title": "lost"}, actor=ALICE)
    image = images.get(image_id)
    assert image["tags"] == ["keep"] and image["title"] == ""


def test_only_the_uploader_or_an_admin_tags(images: Images) -> None:
    from gallery.errors import Forbidden

    image_id = upload(images, 1)
    with pytest.raises(Forbidden):
        images.update(image_id, {"tags": ["mine"]}, actor=BOB)
    assert images.get(image_id)["tags"] == []


# --- search ----------------------------------------------------------------------------------


@pytest.fixture
def gallery(storage: Storage) -> tuple[Images, dict[str, str]]:
    """Five images over several catalog shards, with titles, tags and camera details."""
    images = make_images(storage, prefix="g/", max_records=2)
    made = {
        "beach": upload(images, 1, "Sunset at the beach", "IMG_0001.jpg"),
        "city": upload(images, 2, "City lights", "IMG_0002.jpg"),
        "cat": upload(images, 3, "", "whiskers.jpg"),
        "snow": upload(images, 4, "Snow day", "IMG_0004.jpg"),
        "old": upload(images, 5, "Grandma", "scan.png"),
    }
    images.update(made["beach"], {"tags": ["Holiday", "sea"],
                                  "description": "Golden hour in Brittany"}, actor=ALICE)
    images.update(made["cat"], {"tags": ["pets"]}, actor=ALICE)
    images.update(made["snow"], {"tags": ["holiday"]}, actor=ALICE)
    set_fields(images, made["beach"], taken_at="2019-08-01T20:15:00+02:00",
               camera={"make": "Canon", "model": "EOS R5", "lens": "RF 24-70mm"})
    set_fields(images, made["city"], taken_at="2024-01-05T22:00:00",
               camera={"make": "Apple", "model": "iPhone 15"})
    set_fields(images, made["old"], taken_at="1985-06-01T12:00:00")
    return images, made


def test_every_word_must_match_somewhere(gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    assert search(images, q="beach") == [made["beach"]]
    assert search(images, q="BRITTANY golden") == [made["beach"]]  # description
    assert search(images, q="whiskers") == [made["cat"]]  # filename
    assert search(images, q="pets") == [made["cat"]]  # a tag
    assert search(images, q="canon r5") == [made["beach"]]  # camera make and model
    assert search(images, q="rf 24-70mm") == [made["beach"]]  # lens
    assert search(images, q="iphone") == [made["city"]]
    assert search(images, q="img") == [made["snow"], made["city"], made["beach"]]
    assert search(images, q="beach city") == []
    assert search(images, q="nothing-like-this") == []


def test_a_tag_matches_exactly_in_any_case(gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    assert search(images, tag="HOLIDAY") == [made["snow"], made["beach"]]
    assert search(images, tag="holi") == []
    assert search(images, tag="holiday", q="snow") == [made["snow"]]
    assert images.tags() == ["Holiday", "pets", "sea"]


def test_sort_by_taken_puts_unknown_dates_at_their_upload_time(
        gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    # Uploads are in November 2026: those without a date taken come first, newest first.
    assert search(images, sort="taken") == [
        made["snow"], made["cat"], made["city"], made["beach"], made["old"]]
    assert search(images, sort="taken", tag="holiday") == [made["snow"], made["beach"]]


def test_offsets_keep_their_meaning_across_the_camera_clock() -> None:
    from gallery.storage.memory import MemoryStorage

    images = make_images(MemoryStorage())
    first, second = upload(images, 1), upload(images, 2)
    # 23:30 at UTC-05:00 is 04:30 UTC the next day: later than 01:00 UTC.
    set_fields(images, first, taken_at="2020-03-01T23:30:00-05:00")
    set_fields(images, second, taken_at="2020-03-02T01:00:00+00:00")
    assert search(images, sort="taken") == [first, second]


def test_cursors_walk_a_search_and_refuse_another(gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    query = Search(sort="taken")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        found, cursor = images.search(query, limit=2, cursor=cursor)
        seen += ids(found)
        if cursor is None:
            break
    assert seen == search(images, sort="taken") and len(seen) == 5
    _, cursor = images.search(query, limit=2)
    assert cursor is not None
    with pytest.raises(BadRequest, match="another search"):
        images.search(Search(sort="taken", tag="holiday"), limit=2, cursor=cursor)
    with pytest.raises(BadRequest):
        images.search(Search(), limit=2, cursor=cursor)  # the plain listing's cursors differ
    _, plain = images.search(Search(), limit=2)
    with pytest.raises(BadRequest, match="not valid"):
        images.search(query, limit=2, cursor=plain)
    with pytest.raises(BadRequest, match="not valid"):
        images.search(query, limit=2, cursor="bm9wZQ")


def test_a_cursor_survives_new_images_and_sees_edits(
        gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    query = Search(tag="holiday")
    found, cursor = images.search(query, limit=1)
    assert ids(found) == [made["snow"]]
    newer = upload(images, 9)
    images.update(newer, {"tags": ["holiday"]}, actor=ALICE)
    found, cursor = images.search(query, limit=1, cursor=cursor)
    assert ids(found) == [made["beach"]] and cursor is None
    assert search(images, tag="holiday")[0] == newer


def test_numbered_pages_of_a_search(gallery: tuple[Images, dict[str, str]]) -> None:
    images, made = gallery
    page = images.search_page(Search(text="img"), 2, 2)
    assert (page.number, page.pages, page.total) == (2, 2, 3)
    assert ids(page.images) == [made["beach"]]
    empty = images.search_page(Search(text="zzz"), 1, 2)
    assert (empty.images, empty.pages, empty.total) == ([], 1, 0)
    with pytest.raises(NotFound):
        images.search_page(Search(text="img"), 3, 2)


@pytest.mark.parametrize(("args", "message"), [
    ({"sort": "size"}, "sort must be one of"),
    ({"q": "x" * 201}, "too long"),
    ({"q": " ".join("w" * 21)}, "at most 20 words"),
    ({"tag": "t" * 51}, "at most 50"),
    ({"tag": "a\x01"}, "control"),
])
def test_bad_searches_are_refused(args: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_search(args)


def test_an_imported_image_keeps_its_tags_and_bad_ones_are_refused(storage: Storage) -> None:
    source = make_images(storage, prefix="a/")
    image_id = upload(source, 1, "Pier")
    exported = source.update(image_id, {"tags": ["Sea", "pier"]}, actor=ALICE)
    data = make_image("jpeg", seed=1)
    target = make_images(storage, prefix="b/")
    imported = target.import_record(data, exported).image
    assert imported["tags"] == ["Sea", "pier"] and imported["id"] == image_id
    assert target.search(Search(tag="sea"), limit=10)[0][0]["id"] == image_id
    with pytest.raises(BadRequest, match="at most 50"):
        make_images(storage, prefix="c/").import_record(data, {**exported, "tags": ["x" * 99]})


def test_camera_words_match_only_where_the_asker_may_see_them(
        gallery: tuple[Images, dict[str, str]]) -> None:
    from gallery.catalog.search_index import NO_CAMERAS, Cameras

    images, made = gallery

    def found(q: str, cameras: Cameras) -> list[str]:
        via_cursor = ids(images.search(Search(text=q), limit=10, cameras=cameras)[0])
        via_page = ids(images.search_page(Search(text=q), 1, 10, cameras=cameras).images)
        assert via_cursor == via_page
        return via_cursor

    assert found("canon", NO_CAMERAS) == []
    assert found("iphone", NO_CAMERAS) == []
    assert found("sunset", NO_CAMERAS) == [made["beach"]]  # the title is for everyone
    assert found("canon", Cameras(False, "alice")) == [made["beach"]]  # alice uploaded it
    assert found("canon", Cameras(False, "bob")) == []
    assert found("canon brittany", Cameras(False, "alice")) == [made["beach"]]


def test_a_search_by_upload_time_reads_only_the_shards_its_page_needs(storage: Storage) -> None:
    from tests.support.counting import CountingStorage

    images = make_images(storage, prefix="g/", max_records=2)
    made = [upload(images, n, f"Beach {n}") for n in range(8)]  # four shards or more
    assert len(images.view().root.shards) >= 4
    counting = CountingStorage(storage)
    fresh = make_images(counting, prefix="g/", max_records=2)
    found, cursor = fresh.search(Search(text="beach"), limit=2)
    assert ids(found) == made[:-3:-1] and cursor is not None
    shards = {images.d.keys.shard(e.name) for e in images.view().root.shards}
    shard_reads = {k for op, k in counting.keys if k in shards and op != "stat"}
    assert 0 < len(shard_reads) <= 2 < len(shards)  # not the whole catalog
    seen = ids(found)
    while cursor is not None:
        found, cursor = fresh.search(Search(text="beach"), limit=3, cursor=cursor)
        seen += ids(found)
    assert seen == made[::-1]
    assert ids(fresh.search(Search(text="beach 3"), limit=5)[0]) == [made[3]]
