"""Search packs: a fresh process answers a whole-gallery search from a few objects, and a
pack never answers for a shard that changed since it was made."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gallery.catalog import search_packs
from gallery.catalog.model import ShardEntry
from gallery.catalog.search_index import ShardTable
from gallery.errors import StorageUnavailable
from gallery.images.results import Actor
from gallery.images.search import Search
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.operations.cleanup import Cleanup
from gallery.storage import open_storage
from gallery.storage.base import Storage
from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage
from tests.catalog import PREFIX, images_over, png
from tests.support.counting import CountingStorage
from tests.support.faulty import FaultyStorage

KEYS = Keys(PREFIX)
ADMIN = Actor("root", is_admin=True)
#: Enough images in shards of two for more shards than a reader reads by itself.
IMAGES = 2 * (search_packs.LOOSE_MAX + 4)


@pytest.fixture(params=["memory", "file", "gcs", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        bucket: Storage = MemoryStorage()
    elif request.param == "file":
        bucket = FileStorage(str(tmp_path / "bucket"))
    elif request.param == "gcs":
        bucket = open_storage(f"gs://{request.getfixturevalue('gcs_bucket')}")
    else:
        bucket = open_storage(f"s3://{request.getfixturevalue('s3_bucket')}")
    yield bucket
    bucket.close()


def gallery(storage: Storage) -> tuple[Images, list[str]]:
    """``IMAGES`` uploads in shards of two, titled by number, every third tagged "pier";
    their ids newest first."""
    images = images_over(storage, max_records=2)
    made = []
    for n in range(IMAGES):
        made.append(images.upload(png(n), f"p{n}.png", uploaded_by="ada", title=f"Beach {n}",
                                  tags=["Pier"] if n % 3 == 0 else []).image["id"])
    assert len(images.view().root.shards) > search_packs.LOOSE_MAX + 1
    return images, made[::-1]


def packs(storage: Storage) -> list[str]:
    return sorted(name for info in storage.list(KEYS.search_packs_prefix)
                  if (name := KEYS.search_pack_name_of(info.key)) is not None)


def shard_reads(counting: CountingStorage, images: Images) -> set[str]:
    shards = {KEYS.shard(e.name) for e in images.view().root.shards}
    return {key for op, key in counting.keys if key in shards and op != "stat"}


def found(images: Images, search: Search, per_page: int = 100) -> tuple[list[str], int]:
    page = images.search_page(search, 1, per_page)
    return [image["id"] for image in page.images], page.total


def test_a_fresh_process_answers_from_the_packs_the_first_one_made(storage: Storage) -> None:
    images, newest_first = gallery(storage)
    assert packs(storage) == []  # uploads write none: readers make them
    first = CountingStorage(storage)
    reader = images_over(first, max_records=2)
    assert found(reader, Search("beach")) == (newest_first, IMAGES)
    assert len(shard_reads(first, images)) == len(images.view().root.shards)
    made = packs(storage)
    assert len(made) == 1

    again = CountingStorage(storage)
    fresh = images_over(again, max_records=2)
    assert found(fresh, Search("beach"), per_page=2) == (newest_first[:2], IMAGES)
    # The newest shard (which every upload changes) is read, and those holding the records
    # shown (the newest two); the pack answers for the rest.
    newest = KEYS.shard(images.view().root.shards[-1].name)
    assert newest in shard_reads(again, images) and len(shard_reads(again, images)) <= 2
    assert found(fresh, Search("beach")) == (newest_first, IMAGES)
    assert ("get", KEYS.search_pack(made[0])) in again.keys or \
        ("read", KEYS.search_pack(made[0])) in again.keys
    # Every kind of whole-gallery question is answered the same from the pack.
    piers = [i for n, i in enumerate(reversed(newest_first)) if n % 3 == 0][::-1]
    assert found(fresh, Search(tag="pier")) == (piers, len(piers))
    assert found(fresh, Search("beach 1", sort="taken"))[0] == [
        i for n, i in zip(range(IMAGES - 1, -1, -1), newest_first, strict=True)
        if "1" in str(n)]
    assert fresh.tags() == ["Pier"]
    assert packs(storage) == made  # nothing more to pack


def test_a_pack_never_answers_for_a_shard_changed_since(storage: Storage) -> None:
    images, newest_first = gallery(storage)
    found(images_over(storage, max_records=2), Search("beach"))  # makes the pack
    oldest = newest_first[-1]
    images.update(oldest, {"title": "Harbour at dawn", "tags": ["Pier", "Dawn"]}, actor=ADMIN)

    counting = CountingStorage(storage)
    fresh = images_over(counting, max_records=2)
    assert found(fresh, Search("harbour")) == ([oldest], 1)
    # The edited shard and the newest are read; the pack answers for every other.
    assert len(shard_reads(counting, images)) == 2
    assert oldest not in found(fresh, Search("beach"))[0]
    assert found(fresh, Search(tag="dawn")) == ([oldest], 1)
    assert len(packs(storage)) == 1  # one stale shard is not worth packing again


def test_new_shards_are_packed_once_enough_have_gathered_with_small_packs(storage: Storage) -> None:
    images, newest_first = gallery(storage)
    reader = images_over(storage, max_records=2)
    found(reader, Search("beach"))
    first = packs(storage)
    more = [images.upload(png(100 + n), "q.png", uploaded_by="ada", title="Beach more"
                          ).image["id"] for n in range(2 * search_packs.LOOSE_MAX + 4)]
    fresh = images_over(storage, max_records=2)
    everything = more[::-1] + newest_first
    assert found(fresh, Search("beach")) == (everything, len(everything))
    # The new shards are packed, and with them those of the first pack (a small one, made
    # when the gallery was): one pack answers for them all.
    [gathered] = packs(storage)
    assert [gathered] != first
    pack = search_packs.decode(gathered, storage.get(KEYS.search_pack(gathered)))
    assert len(pack.parts) == len(images.view().root.shards) - 1
    counting = CountingStorage(storage)
    assert found(images_over(counting, max_records=2), Search("beach"), per_page=2) == (
        everything[:2], len(everything))
    assert len(shard_reads(counting, images)) <= 2


def test_packs_a_reindex_outdated_are_made_again(storage: Storage) -> None:
    images, newest_first = gallery(storage)
    found(images_over(storage, max_records=2), Search("beach"))
    images.reindex()  # every shard written again (S3's versions, hashes of the bytes, stay)
    fresh = images_over(storage, max_records=2)
    assert found(fresh, Search("beach")) == (newest_first, IMAGES)
    # What is left answers for the shards as they are now.
    current = {e.name: e.version for e in images.view().root.shards}
    [left] = packs(storage)
    pack = search_packs.decode(left, storage.get(KEYS.search_pack(left)))
    assert len(pack.parts) == len(current) - 1
    assert all(current[name] == version for name, version, _ in pack.parts)
    # What cleanup sees in the catalog: nothing unknown, nothing it should remove.
    report, _ = Cleanup(storage, KEYS, images_over(storage, max_records=2), grace=0,
                        login_window=900, now=datetime.now(UTC)).survey(dry_run=True)
    assert not [f for f in report.unknown + report.orphans if "/search/" in f.key]


def test_damaged_and_doubled_packs_are_dropped(storage: Storage, caplog) -> None:
    images, newest_first = gallery(storage)
    found(images_over(storage, max_records=2), Search("beach"))
    [made] = packs(storage)
    storage.put(KEYS.search_pack("0" * 32), b'{"format": 1, "shards": [', content_type="application/json")
    storage.put(KEYS.search_pack("f" * 32), storage.get(KEYS.search_pack(made)),
                content_type="application/json")  # as if two readers had packed at once
    caplog.set_level(logging.WARNING, logger="gallery.catalog.catalog")
    fresh = images_over(storage, max_records=2)
    assert found(fresh, Search("beach")) == (newest_first, IMAGES)
    assert "search pack '" + "0" * 32 + "' is damaged" in caplog.text
    assert packs(storage) == [made]


def test_a_bucket_that_refuses_pack_writes_still_answers(storage: Storage, caplog) -> None:
    images, newest_first = gallery(storage)
    refusing = FaultyStorage(storage, fail_on=lambda op, key: op == "put"
                             and key.startswith(KEYS.search_packs_prefix))
    caplog.set_level(logging.WARNING, logger="gallery.catalog.catalog")
    reader = images_over(refusing, max_records=2)
    assert found(reader, Search("beach")) == (newest_first, IMAGES)
    assert found(reader, Search("beach 1"))[1] == sum("1" in str(n) for n in range(IMAGES))
    assert packs(storage) == []
    assert caplog.text.count("Could not write the search packs") == 1
    with pytest.raises(StorageUnavailable):
        refusing.put(KEYS.search_pack("1" * 32), b"{}")


def test_what_packs_answer_for_and_which_go() -> None:
    def table(version: str) -> ShardTable:
        return ShardTable(version, ids=[], created=[], owners=[], text=[], cameras=[], tags=[],
                          taken=[])

    def pack(name: str, *parts: tuple[str, str]) -> search_packs.Pack:
        return search_packs.Pack(name, tuple((shard, v, table(v)) for shard, v in parts))

    shards = [ShardEntry(f"{n:032x}", None if n == 0 else f"{n:032x}", 1, f"v{n}")
              for n in range(6)]
    names = [e.name for e in shards]
    kept = pack("a" * 32, (names[0], "v0"), (names[1], "v1"), (names[2], "old"))
    poor = pack("b" * 32, (names[3], "v3"), (names[4], "old"), (names[5], "old"))
    twin = pack("c" * 32, (names[0], "v0"), (names[1], "v1"))  # written beside the first
    gone = pack("d" * 32, ("e" * 32, "v9"))
    answered = search_packs.answer(shards, [gone, twin, poor, kept], unreadable=["0" * 32])
    assert set(answered.tables) == {names[0], names[1], names[3]}
    assert answered.tables[names[3]].version == "v3"
    assert answered.covered == {names[0], names[1]}
    assert answered.kept == {"a" * 32: [names[0], names[1]]}
    assert search_packs.small(answered) == ["a" * 32]  # gathered at the next packing
    assert answered.poor == ["b" * 32]
    assert answered.useless == ["0" * 32, "c" * 32, "d" * 32]
    # The newest shard is never packed: every upload changes it.
    assert [e.name for e in search_packs.loose(shards, answered)] == names[2:5]
    # Three loose shards are read, not packed; the useless packs go all the same.
    assert search_packs.plan(shards, answered) == ([], answered.useless)
    assert [len(g) for g in search_packs.groups(list(range(130)))] == [44, 44, 42]
    assert search_packs.groups([]) == []
