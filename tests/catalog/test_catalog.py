"""The sharded catalog: order across shards, splits, batches, bounded reads, damage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gallery.catalog.model import Root, Shard
from gallery.documents import DocumentDamaged
from gallery.errors import StorageUnavailable
from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage
from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage
from tests.catalog import PREFIX, StepClock, images_over, png
from tests.support.counting import CountingStorage
from tests.support.faulty import FaultyStorage

ADMIN = Actor("root", is_admin=True)
KEYS = Keys(PREFIX)


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket: Storage = MemoryStorage() if request.param == "memory" else FileStorage(
        str(tmp_path / "bucket"))
    yield bucket
    bucket.close()


def upload(images: Images, count: int, start: int = 0) -> list[str]:
    return [images.upload(png(start + i), f"p{start + i}.png", uploaded_by="ada").image["id"]
            for i in range(count)]


def stored_root(storage: Storage) -> Root:
    return Root.parse(orjson.loads(storage.get(KEYS.index)))


def stored_shard(storage: Storage, name: str) -> Shard:
    return Shard.parse(orjson.loads(storage.get(KEYS.shard(name))))


def test_shards_split_and_keep_every_image_in_order(storage: Storage) -> None:
    images = images_over(storage)
    ids = upload(images, 23)
    root = stored_root(storage)
    assert len(root.shards) >= 4
    assert all(entry.count <= 5 for entry in root.shards)
    assert sum(len(stored_shard(storage, e.name).records) for e in root.shards) == 23
    assert root.total == 23
    # A fresh process sees the same order through every way of reading.
    fresh = images_over(storage)
    newest_first = list(reversed(ids))
    assert [i["id"] for i in fresh.page(1, 10).images] == newest_first[:10]
    assert [i["id"] for i in fresh.page(3, 10).images] == newest_first[20:]
    seen, cursor = [], None
    while True:
        page, cursor = fresh.list_images(limit=4, cursor=cursor)
        seen += [i["id"] for i in page]
        if cursor is None:
            break
    assert seen == newest_first
    assert all(fresh.get(i)["title"] == f"p{n}" for n, i in enumerate(ids))


def test_a_cursor_survives_a_split_under_it(storage: Storage) -> None:
    images = images_over(storage)
    ids = upload(images, 4)
    first, cursor = images.list_images(limit=2)
    upload(images, 9, start=100)  # splits the shard the cursor points into
    rest, _ = images.list_images(limit=10, cursor=cursor)
    assert [i["id"] for i in first + rest] == list(reversed(ids))


def test_a_batch_writes_the_catalog_once(storage: Storage) -> None:
    counting = CountingStorage(storage)
    images = Images(counting, KEYS, limits=images_over(storage).limits, clock=StepClock())
    upload(images, 1)  # the catalog exists
    counting.reset()
    verdicts: list[object] = []
    with images.batch(lambda tag, verdict: verdicts.append(verdict), size=50) as batch:
        for n in range(20):
            batch.upload(n, png(1000 + n), f"b{n}.png", uploaded_by="ada")
    shard_writes = [k for op, k in counting.keys if op == "put" and "/catalog/shards/" in k]
    root_writes = [k for op, k in counting.keys if op == "put" and k == KEYS.index]
    assert len(verdicts) == 20 and not any(getattr(v, "duplicate", True) for v in verdicts)
    assert len(shard_writes) == 1 and len(root_writes) == 1
    assert images_over(storage).view().total == 21


def test_a_batch_flushes_after_its_size(storage: Storage) -> None:
    images = images_over(storage, max_records=400)
    results: list[tuple[int, bool]] = []
    with images.batch(lambda tag, v: results.append((tag, v.duplicate)), size=3) as batch:
        for n in range(7):
            batch.upload(n, png(n), f"b{n}.png", uploaded_by="ada")
            if n == 2:  # the first three are in the gallery before the batch ends
                assert images_over(storage).view().total == 3
        batch.upload("again", png(4), "again.png", uploaded_by="bob")
    assert sorted(tag for tag, dup in results if not dup) == list(range(7))
    assert [tag for tag, dup in results if dup] == ["again"]


def test_the_same_bytes_in_one_batch_are_stored_once(storage: Storage) -> None:
    images = images_over(storage)
    verdicts = {}
    with images.batch(lambda tag, v: verdicts.__setitem__(tag, v)) as batch:
        batch.upload("a", png(7), "a.png", uploaded_by="ada")
        batch.upload("b", png(7), "b.png", uploaded_by="ada")
    assert not verdicts["a"].duplicate and verdicts["b"].duplicate
    assert verdicts["b"].image["id"] == verdicts["a"].image["id"]
    assert images.view().total == 1


def test_a_known_file_is_recognised_without_decoding(storage: Storage, monkeypatch) -> None:
    images = images_over(storage)
    first = images.upload(png(3), "a.png", uploaded_by="ada")

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the known file was decoded again")

    monkeypatch.setattr("gallery.images.upload.process_upload", no_decoding)
    again = images.upload(png(3), "b.png", uploaded_by="bob")
    assert again.duplicate and again.image["id"] == first.image["id"]


def test_a_cold_first_page_reads_a_bounded_number_of_objects(tmp_path: Path) -> None:
    storage = FileStorage(str(tmp_path / "bucket"))
    images = images_over(storage, max_records=20)
    verdicts: list[object] = []
    with images.batch(lambda t, v: verdicts.append(v), size=50) as batch:
        for n in range(300):
            batch.upload(n, png(n, size=4), f"{n}.png", uploaded_by="ada")
    assert len(stored_root(storage).shards) >= 15
    counting = CountingStorage(storage)
    cold = Images(counting, KEYS, limits=images.limits)
    page = cold.page(1, 48)
    assert len(page.images) == 48 and page.total == 300
    reads = [k for op, k in counting.keys if op in ("read", "stat")]
    assert len(reads) <= 2 + 2 * 4, reads  # the root, then the few newest shards
    counting.reset()
    listed, cursor = cold.list_images(limit=48)
    assert cursor is not None and len(listed) == 48
    assert counting.calls["read"] <= 1  # warm: at most the root changed


def test_a_damaged_shard_stops_writers_and_reindex_repairs_it(storage: Storage) -> None:
    images = images_over(storage)
    ids = upload(images, 12)
    root = stored_root(storage)
    oldest = root.shards[0].name
    storage.put(KEYS.shard(oldest), b'{"format": 2, "images": "oops"}')
    fresh = images_over(storage)
    with pytest.raises(DocumentDamaged) as err:
        fresh.update(ids[0], {"title": "new"}, actor=ADMIN)
    assert err.value.status == 503
    with pytest.raises(DocumentDamaged):
        fresh.delete(ids[0], actor=ADMIN)
    with pytest.raises(DocumentDamaged, match="damaged"):
        fresh.view().rows()  # the admin table
    assert storage.get(KEYS.shard(oldest)) == b'{"format": 2, "images": "oops"}'  # left as it was
    report = fresh.reindex()
    assert report.total == 12
    assert sorted(i["id"] for i in images_over(storage).list_images(limit=100)[0]) == sorted(ids)


def test_a_damaged_root_is_rebuilt_from_meta_json(storage: Storage) -> None:
    images = images_over(storage)
    ids = upload(images, 9)
    images.update(ids[4], {"title": "kept"}, actor=ADMIN)
    storage.put(KEYS.index, b"{not json")
    with pytest.raises(DocumentDamaged):
        images_over(storage).upload(png(500), "x.png", uploaded_by="ada")
    report = images_over(storage).reindex()
    assert report.repaired and report.total == 9
    fresh = images_over(storage)
    assert fresh.get(ids[4])["title"] == "kept"
    again = fresh.upload(png(2), "dup.png", uploaded_by="bob")  # the hash buckets agree
    assert again.duplicate and again.image["id"] == ids[2]


def test_a_split_left_half_done_is_finished_by_the_next_writer(storage: Storage) -> None:
    images = images_over(storage)
    upload(images, 5)  # a full shard
    # The split's parts cannot be written: the writer that sealed the shard stops there.
    failing = FaultyStorage(storage, fail_on=lambda op, key: op == "put" and key.startswith(
        KEYS.shards_prefix) and not any(key == KEYS.shard(e.name)
                                        for e in stored_root(storage).shards))
    broken = Images(failing, KEYS, limits=images.limits, clock=StepClock(), max_records=5)
    broken.d.clock.now = images.d.clock.now
    # Its record is in the sealed shard, so the upload stands although the split stopped.
    assert not broken.upload(png(50), "seal.png", uploaded_by="ada").duplicate
    (entry,) = stored_root(storage).shards
    assert stored_shard(storage, entry.name).sealed is not None
    # A reader still sees every image, the sealed shard's included.
    assert len(images_over(storage).list_images(limit=100)[0]) == 6
    later = images_over(storage)
    later.d.clock.now = images.d.clock.now.replace(year=2027)
    later.upload(png(51), "after.png", uploaded_by="ada")
    root = stored_root(storage)
    assert len(root.shards) >= 2
    titles = {i["title"] for i in images_over(storage).list_images(limit=100)[0]}
    assert {"seal", "after"} <= titles
    assert root.total == len(titles) == 7


def test_an_edit_refused_by_the_catalog_leaves_meta_json_alone(storage: Storage) -> None:
    images = images_over(storage)
    (image_id,) = upload(images, 1)
    failing = FaultyStorage(storage, fail_on=lambda op, key: op == "put" and key.startswith(
        KEYS.shards_prefix))
    broken = Images(failing, KEYS, limits=images.limits)
    with pytest.raises(StorageUnavailable):
        broken.update(image_id, {"title": "refused"}, actor=ADMIN)
    meta = orjson.loads(storage.get(KEYS.meta(image_id)))
    assert meta["title"] == "p0"
    images_over(storage).reindex()
    assert images_over(storage).get(image_id)["title"] == "p0"


def test_meta_json_behind_the_catalog_is_reported_and_repaired(storage: Storage) -> None:
    images = images_over(storage)
    (image_id,) = upload(images, 1)
    failing = FaultyStorage(storage, fail_on=lambda op, key: op == "put" and key ==
                            KEYS.meta(image_id))
    edited = Images(failing, KEYS, limits=images.limits).update(
        image_id, {"title": "landed"}, actor=ADMIN)
    assert edited["title"] == "landed"  # the edit stands: the catalog holds it
    fresh = images_over(storage)
    assert fresh.get(image_id)["title"] == "landed"
    assert fresh.meta_behind(fresh.record(image_id))
    assert fresh.sync_meta(image_id)
    assert orjson.loads(storage.get(KEYS.meta(image_id)))["title"] == "landed"
    assert not fresh.meta_behind(fresh.record(image_id))
