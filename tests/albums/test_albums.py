"""Albums over a real bucket: making, filling, ordering, seeing and deleting them."""

from __future__ import annotations

import threading

import orjson
import pytest

from gallery.albums import Albums
from gallery.albums.model import MAX_ALBUM_TITLE, MAX_IDS_PER_CALL
from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest, Forbidden, NotFound, TooLarge
from gallery.images.results import Actor
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage
from tests.albums.conftest import upload
from tests.images import ADMIN, ALICE, BOB

KEYS = Keys("g/")


def test_an_album_is_made_filled_and_read_back_from_the_bucket(
        storage: Storage, images: Images, albums: Albums) -> None:
    photos = upload(images, 3)
    album = albums.create(title="  Summer   2026 ", description="By the sea", actor=ALICE,
                          visibility="public")
    assert album.title == "Summer 2026" and album.owner == "alice" and album.items == ()
    albums.change_images(album.id, add=[p["id"] for p in reversed(photos)], actor=ALICE)

    fresh = Albums(storage, KEYS, images, public_gallery=True)  # another instance
    again = fresh.get(album.id)
    assert again.image_ids == [p["id"] for p in reversed(photos)]
    assert again.cover_id == photos[2]["id"]
    stored = orjson.loads(storage.get(KEYS.album(album.id)))
    assert stored["title"] == "Summer 2026" and len(stored["items"]) == 3
    assert [r.id for r in fresh.records(again)] == again.image_ids


def test_adding_twice_keeps_one_entry_and_removing_keeps_the_images(
        images: Images, albums: Albums) -> None:
    photos = upload(images, 2)
    album = albums.create(title="Trip", actor=ALICE)
    albums.change_images(album.id, add=[photos[0]["id"]], actor=ALICE)
    album = albums.change_images(album.id, add=[photos[0]["id"], photos[1]["id"]], actor=ALICE)
    assert album.image_ids == [photos[0]["id"], photos[1]["id"]]
    album = albums.change_images(album.id, remove=[photos[0]["id"]], actor=ALICE)
    assert album.image_ids == [photos[1]["id"]]
    assert images.get(photos[0]["id"])["id"] == photos[0]["id"]


def test_one_image_in_many_albums_and_which_albums_hold_it(
        images: Images, albums: Albums) -> None:
    (photo,) = upload(images, 1)
    first = albums.create(title="One", actor=ALICE, visibility="public")
    second = albums.create(title="Two", actor=BOB, visibility="private")
    albums.change_images(first.id, add=[photo["id"]], actor=ALICE)
    albums.change_images(second.id, add=[photo["id"]], actor=BOB)
    assert {a.id for a in albums.containing(photo["id"], ALICE)} == {first.id, second.id}
    assert {a.id for a in albums.containing(photo["id"], None)} == {first.id}


def test_moving_images_reorders_the_manual_order(images: Images, albums: Albums) -> None:
    a, b, c, d = (p["id"] for p in upload(images, 4))
    album = albums.create(title="Order", actor=ALICE)
    albums.change_images(album.id, add=[a, b, c, d], actor=ALICE)
    album = albums.change_images(album.id, move=[d], before=b, actor=ALICE)
    assert album.image_ids == [a, d, b, c]
    album = albums.change_images(album.id, move=[a, b], before=None, actor=ALICE)
    assert album.image_ids == [d, c, a, b]
    assert album.cover_id == d


@pytest.mark.parametrize(("sort", "expected"), [
    ("uploaded_asc", [0, 1, 2]), ("uploaded_desc", [2, 1, 0]),
    ("title_asc", [1, 2, 0]), ("title_desc", [0, 2, 1]), ("manual", [2, 0, 1]),
])
def test_sorted_albums_show_their_images_in_that_order(
        images: Images, albums: Albums, sort: str, expected: list[int]) -> None:
    photos = upload(images, 3)
    for photo, title in zip(photos, ("zebra", "apple", "mango"), strict=True):
        images.update(photo["id"], {"title": title}, actor=ALICE)
    album = albums.create(title="Sorted", actor=ALICE)
    albums.change_images(album.id, add=[photos[i]["id"] for i in (2, 0, 1)], actor=ALICE)
    album = albums.update(album.id, {"sort": sort}, actor=ALICE)
    assert [r.id for r in albums.records(album)] == [photos[i]["id"] for i in expected]
    assert album.cover_id == photos[expected[0]]["id"]


def test_the_chosen_cover_wins_and_must_be_in_the_album(images: Images, albums: Albums) -> None:
    a, b, outside = (p["id"] for p in upload(images, 3))
    album = albums.create(title="Cover", actor=ALICE)
    albums.change_images(album.id, add=[a, b], actor=ALICE)
    assert albums.update(album.id, {"cover": b}, actor=ALICE).cover_id == b
    with pytest.raises(BadRequest, match="cover must be one of the album"):
        albums.update(album.id, {"cover": outside}, actor=ALICE)
    assert albums.update(album.id, {"cover": None}, actor=ALICE).cover_id == a


def test_bad_input_is_refused_with_a_reason(images: Images, albums: Albums) -> None:
    with pytest.raises(BadRequest, match="longer than 200"):
        albums.create(title="x" * (MAX_ALBUM_TITLE + 1), actor=ALICE)
    with pytest.raises(BadRequest, match="title"):
        albums.create(title="   ", actor=ALICE)
    with pytest.raises(BadRequest, match="visibility"):
        albums.create(title="ok", visibility="secret", actor=ALICE)
    album = albums.create(title="ok", actor=ALICE)
    with pytest.raises(BadRequest, match="cannot be changed: owner"):
        albums.update(album.id, {"owner": "bob"}, actor=ALICE)
    with pytest.raises(TooLarge, match="at most 1000"):
        albums.change_images(album.id, add=["0" * 32] * (MAX_IDS_PER_CALL + 1), actor=ALICE)
    with pytest.raises(NotFound, match="no image"):
        albums.change_images(album.id, add=["f" * 32], actor=ALICE)
    with pytest.raises(NotFound):
        albums.change_images(album.id, add=["../../etc"], actor=ALICE)
    with pytest.raises(BadRequest, match="list of image ids"):
        albums.change_images(album.id, add="abc", actor=ALICE)
    with pytest.raises(NotFound):
        albums.get("not-an-id")
    assert albums.get(album.id).items == ()


def test_only_the_owner_or_an_admin_changes_an_album(images: Images, albums: Albums) -> None:
    (photo,) = upload(images, 1)
    album = albums.create(title="Mine", actor=ALICE, visibility="public")
    with pytest.raises(Forbidden):
        albums.change_images(album.id, add=[photo["id"]], actor=BOB)
    with pytest.raises(Forbidden):
        albums.update(album.id, {"title": "Bob's"}, actor=BOB)
    with pytest.raises(Forbidden):
        albums.delete(album.id, actor=BOB)
    assert albums.update(album.id, {"title": "Admin's"}, actor=ADMIN).title == "Admin's"
    assert [a.id for a in albums.managed_by(BOB)] == []
    assert [a.id for a in albums.managed_by(ADMIN)] == [album.id]


def test_visibility_decides_who_sees_and_who_finds_an_album(
        storage: Storage, images: Images) -> None:
    for public_gallery in (True, False):
        albums = Albums(storage, Keys(f"v{str(public_gallery).lower()}/"), images,
                        public_gallery=public_gallery)
        shown = {v: albums.create(title=v, visibility=v, actor=ALICE).id
                 for v in ("public", "unlisted", "private")}

        def listed(viewer: Actor | None, albums: Albums = albums) -> set[str]:
            return {a.title for a in albums.listed(viewer)}

        assert listed(ALICE) == {"public", "unlisted", "private"}
        assert listed(BOB) == {"public", "private"}
        assert listed(None) == ({"public"} if public_gallery else set())
        for name, album_id in shown.items():
            anonymous_sees = public_gallery and name != "private"
            if anonymous_sees:
                assert albums.viewable(album_id, None).title == name
            else:
                with pytest.raises(NotFound):
                    albums.viewable(album_id, None)
            assert albums.viewable(album_id, BOB).title == name


def test_deleting_an_album_keeps_its_images(images: Images, albums: Albums) -> None:
    (photo,) = upload(images, 1)
    album = albums.create(title="Gone soon", actor=ALICE)
    albums.change_images(album.id, add=[photo["id"]], actor=ALICE)
    albums.delete(album.id, actor=ALICE)
    with pytest.raises(NotFound):
        albums.get(album.id)
    assert images.get(photo["id"])["id"] == photo["id"]


def test_a_deleted_image_leaves_every_album(images: Images, albums: Albums) -> None:
    a, b = (p["id"] for p in upload(images, 2))
    one = albums.create(title="One", actor=ALICE)
    two = albums.create(title="Two", actor=ALICE)
    for album in (one, two):
        albums.change_images(album.id, add=[a, b], actor=ALICE)
    albums.update(one.id, {"cover": a}, actor=ALICE)
    images.delete(a, actor=ALICE)
    assert albums.get(one.id).image_ids == [b] and albums.get(one.id).cover is None
    assert albums.get(two.id).image_ids == [b]


def test_prune_finds_members_left_behind(storage: Storage, images: Images) -> None:
    """A delete made by a process that knew nothing of albums leaves members; cleanup's
    prune finds and removes them."""
    a, b = (p["id"] for p in upload(images, 2))
    albums = Albums(storage, KEYS, images, public_gallery=True)
    album = albums.create(title="Dangling", actor=ALICE)
    albums.change_images(album.id, add=[a, b], actor=ALICE)
    images.d.deleted_listeners.clear()  # as an older process would delete
    images.delete(a, actor=ALICE)
    assert albums.get(album.id).image_ids == [a, b]
    assert albums.prune(dry_run=True).dangling == {album.id: [a]}
    assert albums.get(album.id).image_ids == [a, b]
    assert albums.prune(dry_run=False).count == 1
    assert albums.get(album.id).image_ids == [b]
    assert albums.records(albums.get(album.id))[0].id == b


def test_pages_and_cursors_walk_the_album_in_order(images: Images, albums: Albums) -> None:
    ids = [p["id"] for p in upload(images, 7)]
    album = albums.create(title="Long", actor=ALICE)
    album = albums.change_images(album.id, add=ids, actor=ALICE)
    page = albums.page(album, 2, 3)
    assert [i["id"] for i in page.images] == ids[3:6] and page.pages == 3 and page.total == 7
    with pytest.raises(NotFound):
        albums.page(album, 4, 3)
    seen, cursor = [], None
    for _ in range(10):
        records, cursor = albums.images_after(album, limit=3, cursor=cursor)
        seen += [r.id for r in records]
        if cursor is None:
            break
    assert seen == ids
    first, cursor = albums.images_after(album, limit=3, cursor=None)
    albums.change_images(album.id, remove=[first[-1].id], actor=ALICE)  # the cursor's image
    rest, _ = albums.images_after(albums.get(album.id), limit=3, cursor=cursor)
    assert [r.id for r in rest] == ids[3:6]
    with pytest.raises(BadRequest, match="cursor"):
        albums.images_after(album, limit=3, cursor="%%%")
    assert albums.neighbours(album, ids[0]) == (None, ids[1], 1)
    assert albums.neighbours(album, ids[6]) == (ids[5], None, 7)


def test_a_damaged_album_is_left_as_it_is_and_stops_its_writers(
        storage: Storage, images: Images, albums: Albums) -> None:
    album = albums.create(title="Fine", actor=ALICE)
    storage.put(KEYS.album(album.id), b"{not json", content_type="application/json")
    with pytest.raises(DocumentDamaged):
        albums.get(album.id)
    with pytest.raises(DocumentDamaged):
        albums.update(album.id, {"title": "x"}, actor=ALICE)
    assert storage.get(KEYS.album(album.id)) == b"{not json"


def test_concurrent_adds_from_many_threads_lose_nothing(
        storage: Storage, images: Images) -> None:
    ids = [p["id"] for p in upload(images, 24)]
    writers = [Albums(storage, KEYS, images, public_gallery=True) for _ in range(6)]
    album = writers[0].create(title="Busy", actor=ALICE)
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            for image_id in ids[n::6]:
                writers[n].change_images(album.id, add=[image_id], actor=ALICE)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(writers[0].get(album.id).image_ids) == sorted(ids)


def test_albums_are_listed_newest_first_in_pages(images: Images, albums: Albums,
                                                  clock) -> None:
    made = []
    for n in range(5):
        made.append(albums.create(title=f"A{n}", visibility="public", actor=ALICE).id)
        clock.advance(seconds=1)
    seen, cursor = [], None
    for _ in range(5):
        page, cursor = albums.list_page(None, limit=2, cursor=cursor)
        seen += [a.id for a in page]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_an_album_downloads_as_a_zip_of_its_originals_in_order(
        storage: Storage, images: Images, albums: Albums) -> None:
    import io
    import zipfile

    from gallery.albums.download import archive_name, iter_album_zip
    from tests.images import make_image

    same = [images.upload(make_image("jpeg", n), "beach.jpg", uploaded_by="alice").image
            for n in range(2)]
    album = albums.create(title="Beach / 2026", actor=ALICE)
    album = albums.change_images(album.id, add=[p["id"] for p in reversed(same)], actor=ALICE)
    chunks = list(iter_album_zip(storage, KEYS, albums.records(album)))
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.namelist() == ["beach.jpg", "beach (2).jpg"]
        assert archive.read("beach.jpg") == storage.get(KEYS.original(same[1]["id"]))
        assert archive.testzip() is None
    assert archive_name(album.title) == "Beach _ 2026.zip"


def test_only_an_admin_creates_an_album_for_someone_else(albums: Albums) -> None:
    given = albums.create(title="For Alice", actor=ADMIN, owner="alice")
    assert given.owner == "alice" and albums.manageable(given.id, ALICE) == given
    with pytest.raises(Forbidden):
        albums.create(title="For Alice", actor=BOB, owner="alice")
    assert albums.create(title="Mine", actor=BOB, owner="bob").owner == "bob"
    assert sorted(a.title for a in albums.all()) == ["For Alice", "Mine"]


@pytest.mark.parametrize("cursor", ["%%%", "MTIz", "bm90fGFuLWFsYnVt", "x" * 300])
def test_a_malformed_list_cursor_is_refused(albums: Albums, cursor: str) -> None:
    albums.create(title="A", visibility="public", actor=ALICE)
    with pytest.raises(BadRequest):
        albums.list_page(None, limit=2, cursor=cursor)
