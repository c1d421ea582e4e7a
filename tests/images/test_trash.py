"""The trash: a delete keeps the image for the keep period; restore, purge and expiry;
what reindex and uploads make of images in the trash. On the memory and the file backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import orjson
import pytest

from gallery.albums import Albums
from gallery.errors import Conflict, Gone, NotFound, StorageUnavailable
from gallery.images.search import parse_search
from gallery.images.service import Images
from gallery.storage.base import Storage
from gallery.storage.memory import MemoryStorage
from tests.images import ADMIN, ALICE, BOB, StepClock, image_keys, make_image, make_images
from tests.support.faulty import FaultyStorage


def with_trash(images: Images, days: int = 30) -> Images:
    images.d = replace(images.d, trash_days=days)
    return images


@pytest.fixture
def gallery(images: Images) -> Images:
    return with_trash(images)


def upload(images: Images, seed: int = 0, by: str = "alice", title: str | None = None) -> str:
    return images.upload(make_image("jpeg", seed=seed), f"photo-{seed}.jpg", uploaded_by=by,
                         title=title).image["id"]


def listed(images: Images) -> list[str]:
    images.catalog.forget()
    return [image["id"] for image in images.list_images(limit=100)[0]]


def claims(images: Images) -> dict[str, str]:
    return images.d.hashes.entries()


def test_a_delete_moves_the_image_to_the_trash_and_keeps_its_objects(gallery: Images) -> None:
    keep = upload(gallery, 1)
    image_id = upload(gallery, 2, title="Harbour at dusk")
    record = gallery.record(image_id)
    objects = image_keys(gallery.d.storage, gallery.d.keys)

    gallery.delete(image_id, actor=ALICE)

    assert listed(gallery) == [keep]
    assert gallery.view().total == 1
    with pytest.raises(NotFound):
        gallery.get(image_id)
    with pytest.raises(NotFound):
        gallery.media(image_id, "sm")
    found, _ = gallery.search(parse_search({"q": "harbour"}), limit=10)
    assert found == []
    assert image_keys(gallery.d.storage, gallery.d.keys) == objects  # nothing removed
    assert not (record.hashes & set(claims(gallery)))  # duplicates no longer see it
    document = orjson.loads(gallery.d.storage.get(gallery.d.keys.trash(image_id)))
    assert document["record"] == record.to_json()
    assert document["trashed_by"] == "alice" and document["trashed_at"] > record.created_at
    [entry] = gallery.trash()
    assert (entry.id, entry.record, entry.trashed_by) == (image_id, record, "alice")
    assert gallery.trash_ids() == {image_id}


def test_restore_puts_it_back_in_its_place_with_its_hashes(gallery: Images) -> None:
    ids = [upload(gallery, seed) for seed in range(3)]
    before = listed(gallery)
    record = gallery.record(ids[1])
    gallery.delete(ids[1], actor=ALICE)
    upload(gallery, 9)  # uploads go on meanwhile

    restored = gallery.restore(ids[1], actor=ALICE)

    assert restored == record.public()
    assert gallery.record(ids[1]) == record  # same created_at, rev, texts
    assert [i for i in listed(gallery) if i in ids] == before  # back in its place
    assert {sha: ids[1] for sha in record.hashes}.items() <= claims(gallery).items()
    assert gallery.trash() == []
    assert not gallery.d.storage.exists(gallery.d.keys.trash(ids[1]))
    with pytest.raises(NotFound):
        gallery.restore(ids[1], actor=ALICE)  # it is not in the trash any more


def test_albums_keep_a_trashed_image_and_show_it_again_once_restored(
        gallery: Images, storage: Storage) -> None:
    albums = Albums(storage, gallery.d.keys, gallery, public_gallery=True)
    first, second = upload(gallery, 1), upload(gallery, 2)
    album = albums.create(title="Trip", visibility="public", actor=ALICE)
    albums.change_images(album.id, actor=ALICE, add=[first, second])

    gallery.delete(first, actor=ALICE)
    album = albums.get(album.id)
    assert album.has(first)  # membership kept while in the trash
    assert [r.id for r in albums.records(album)] == [second]  # but the page skips it
    assert albums.page(album, 1, 10).total == 1
    assert albums.prune(dry_run=True).count == 0  # cleanup leaves it alone

    gallery.restore(first, actor=ALICE)
    assert [r.id for r in albums.records(albums.get(album.id))] == [first, second]


def test_the_same_picture_uploaded_again_is_a_new_image_and_blocks_the_restore(
        gallery: Images) -> None:
    image_id = upload(gallery, 5)
    gallery.delete(image_id, actor=ALICE)
    again = gallery.upload(make_image("jpeg", seed=5), "again.jpg", uploaded_by="alice")
    assert not again.duplicate and again.image["id"] != image_id

    with pytest.raises(Conflict, match="uploaded again") as refused:
        gallery.restore(image_id, actor=ALICE)
    assert refused.value.status == 409
    assert again.image["id"] in refused.value.message
    assert gallery.trash_ids() == {image_id}  # still in the trash, nothing changed
    assert set(claims(gallery).values()) == {again.image["id"]}
    assert listed(gallery) == [again.image["id"]]


def test_a_stale_claim_of_an_image_in_the_trash_is_taken_over_by_an_upload(
        gallery: Images) -> None:
    image_id = upload(gallery, 6)
    record = gallery.record(image_id)
    gallery.delete(image_id, actor=ALICE)
    gallery.d.hashes.claim({sha: image_id for sha in record.hashes})  # a restore that stopped
    again = gallery.upload(make_image("jpeg", seed=6), "again.jpg", uploaded_by="alice")
    assert not again.duplicate
    assert listed(gallery) == [again.image["id"]]


def test_only_the_uploader_or_an_admin_sees_restores_and_purges(gallery: Images) -> None:
    image_id = upload(gallery, 1, by="alice")
    upload(gallery, 2, by="bob")
    gallery.delete(image_id, actor=ADMIN)

    assert gallery.trash(actor=BOB) == []
    assert [e.id for e in gallery.trash(actor=ALICE)] == [image_id]
    assert gallery.trash(actor=ADMIN)[0].trashed_by == ADMIN.username
    with pytest.raises(NotFound):
        gallery.restore(image_id, actor=BOB)
    with pytest.raises(NotFound):
        gallery.purge([image_id], actor=BOB)
    assert gallery.empty_trash(actor=BOB) == []
    assert gallery.trash_ids() == {image_id}
    gallery.restore(image_id, actor=ALICE)
    assert image_id in listed(gallery)


def test_purge_removes_every_object_and_albums_forget_the_image(
        gallery: Images, storage: Storage) -> None:
    albums = Albums(storage, gallery.d.keys, gallery, public_gallery=True)
    keep, image_id = upload(gallery, 1), upload(gallery, 2)
    album = albums.create(title="A", visibility="public", actor=ALICE)
    albums.change_images(album.id, actor=ALICE, add=[image_id, keep])
    gallery.delete(image_id, actor=ALICE)

    assert gallery.purge([image_id], actor=ALICE) == [image_id]

    assert not storage.exists(gallery.d.keys.trash(image_id))
    assert not [k for k in image_keys(storage, gallery.d.keys) if image_id in k]
    assert not albums.get(album.id).has(image_id)
    with pytest.raises(NotFound):
        gallery.restore(image_id, actor=ALICE)


def test_empty_removes_what_the_actor_may_and_older_than_keeps_the_recent(
        images: Images) -> None:
    clock = StepClock(timedelta(days=1))
    images.d = replace(images.d, clock=clock, trash_days=30)
    old, recent, bobs = upload(images, 1), upload(images, 2), upload(images, 3, by="bob")
    images.delete(old, actor=ALICE)  # trashed on day n
    clock.now += timedelta(days=10)
    images.delete(recent, actor=ALICE)
    images.delete(bobs, actor=BOB)

    assert images.empty_trash(actor=ALICE, older_than=5) == [old]
    assert images.trash_ids() == {recent, bobs}
    assert images.empty_trash(actor=ALICE) == [recent]
    assert images.trash_ids() == {bobs}
    assert images.empty_trash(actor=ADMIN) == [bobs]


def test_what_was_kept_the_whole_period_expires(images: Images) -> None:
    clock = StepClock(timedelta(seconds=1))
    images.d = replace(images.d, clock=clock, trash_days=30)
    image_id = upload(images, 1)
    images.delete(image_id, actor=ALICE)
    [entry] = images.trash()
    assert entry.purge_at(30) == entry.purge_at(0) + timedelta(days=30)

    clock.now += timedelta(days=29)
    assert images.purge_expired(actor=ADMIN) == []
    clock.now += timedelta(days=1, seconds=5)
    assert [e.id for e in images.expired_trash()] == [image_id]
    assert images.purge_expired(actor=ADMIN) == [image_id]
    assert images.trash_ids() == set()
    assert not image_keys(images.d.storage, images.d.keys)


def test_without_a_keep_period_a_delete_is_final(images: Images) -> None:
    image_id = upload(images, 1)
    images.delete(image_id, actor=ALICE)
    assert images.trash_ids() == set()
    assert image_keys(images.d.storage, images.d.keys) == []


def test_a_bulk_delete_moves_them_all_and_names_them_in_the_audit(gallery: Images) -> None:
    ids = [upload(gallery, seed, title=f"Picture {seed}") for seed in range(3)]
    assert gallery.delete_many(ids, actor=ADMIN) == ids
    assert gallery.trash_ids() == set(ids)
    assert listed(gallery) == []
    restored, refused = gallery.restore_many([*ids, "0" * 32], actor=ADMIN)
    assert sorted(r["id"] for r in restored) == sorted(ids)
    assert refused == [("0" * 32, "There is no such image in the trash.")]


def test_deleting_an_image_in_the_trash_again_is_a_404(gallery: Images) -> None:
    image_id = upload(gallery, 1)
    gallery.delete(image_id, actor=ALICE)
    with pytest.raises(NotFound, match="trash"):
        gallery.delete(image_id, actor=ALICE)
    assert gallery.trash_ids() == {image_id}  # and it was not deleted for good


def test_an_image_whose_original_is_gone_cannot_be_restored(gallery: Images) -> None:
    image_id = upload(gallery, 1)
    gallery.delete(image_id, actor=ALICE)
    gallery.d.storage.delete(gallery.d.keys.original(image_id))
    with pytest.raises(Gone):
        gallery.restore(image_id, actor=ALICE)


def test_a_move_whose_catalog_write_fails_takes_its_trash_document_back() -> None:
    bucket = FaultyStorage(MemoryStorage())
    images = with_trash(make_images(bucket))
    image_id = upload(images)
    bucket.fail(lambda op, key: op == "put" and "/shards/" in f"/{key}")
    with pytest.raises(StorageUnavailable):
        images.delete(image_id, actor=ALICE)
    bucket.heal()
    assert listed(images) == [image_id]
    assert not bucket.exists(images.d.keys.trash(image_id))


def test_a_restore_whose_catalog_write_fails_stays_in_the_trash() -> None:
    bucket = FaultyStorage(MemoryStorage())
    images = with_trash(make_images(bucket))
    image_id = upload(images)
    images.delete(image_id, actor=ALICE)
    bucket.fail(lambda op, key: op == "put" and "/shards/" in f"/{key}")
    with pytest.raises(StorageUnavailable):
        images.restore(image_id, actor=ALICE)
    bucket.heal()
    assert listed(images) == []
    assert images.trash_ids() == {image_id}
    assert claims(images) == {}  # its claims were taken back
    images.restore(image_id, actor=ALICE)
    assert listed(images) == [image_id]


# -- reindex ------------------------------------------------------------------------------


def test_reindex_never_brings_back_an_image_in_the_trash(gallery: Images) -> None:
    keep, image_id = upload(gallery, 1), upload(gallery, 2)
    gallery.delete(image_id, actor=ALICE)
    report = gallery.reindex()
    assert image_id not in report.added and listed(gallery) == [keep]
    assert gallery.trash_ids() == {image_id}  # its document kept
    assert set(claims(gallery).values()) == {keep}
    gallery.restore(image_id, actor=ALICE)
    assert sorted(listed(gallery)) == sorted([keep, image_id])


def test_reindex_over_a_damaged_root_leaves_the_trash_alone(gallery: Images) -> None:
    keep, image_id = upload(gallery, 1), upload(gallery, 2)
    gallery.delete(image_id, actor=ALICE)
    gallery.d.storage.put(gallery.d.keys.index, b"{not json")
    gallery.reindex()
    assert listed(gallery) == [keep]
    assert gallery.trash_ids() == {image_id}


def test_a_half_done_move_leaves_the_image_listed_and_reindex_keeps_it(gallery: Images) -> None:
    """A trash document beside a catalog entry (a move that stopped): the catalog wins."""
    image_id = upload(gallery, 1)
    record = gallery.record(image_id)
    stamp = orjson.dumps({"format": 1, "record": record.to_json(),
                          "trashed_at": record.created_at, "trashed_by": "alice"})
    gallery.d.storage.put(gallery.d.keys.trash(image_id), stamp)
    gallery.reindex()
    assert listed(gallery) == [image_id]
    assert gallery.restore(image_id, actor=ALICE)["id"] == image_id  # finishes: document gone
    assert gallery.trash_ids() == set()
    assert listed(gallery) == [image_id]


def test_a_purged_image_stays_gone_after_a_reindex(gallery: Images) -> None:
    image_id = upload(gallery, 1)
    gallery.delete(image_id, actor=ALICE)
    gallery.purge([image_id], actor=ALICE)
    gallery.reindex()
    assert listed(gallery) == []
