"""Albums and share links in every maintenance operation: export and import, doctor, stats,
cleanup, reindex and the audit log."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from gallery.clock import parse_timestamp
from gallery.errors import BadRequest
from gallery.runtime import Runtime
from gallery.storage.base import Storage
from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage
from tests.images import ADMIN, ALICE, BOB, make_image
from tests.operations.conftest import build_runtime, snapshot_bucket

FIELDS = ("id", "title", "description", "visibility", "sort", "cover", "owner", "created_at",
          "updated_at", "image_ids", "first")


def albums_of(runtime: Runtime) -> dict[str, dict]:
    """Every album of the gallery, field by field, as a fresh instance reads it."""
    fresh = build_runtime(runtime.storage, prefix=runtime.keys.prefix)
    return {a.id: {f: getattr(a, f) for f in FIELDS} for a in fresh.albums.all()}


def target_like(storage: Storage, tmp_path: Path, *accounts: str) -> Runtime:
    """An empty gallery on a bucket of the same backend, with these accounts (``ada`` an admin)."""
    bucket = MemoryStorage() if isinstance(storage, MemoryStorage) else FileStorage(
        tmp_path / "target-bucket")
    runtime = build_runtime(bucket, prefix="other/")
    for name in accounts:
        runtime.accounts.create_user(name, "a long password",
                                     "admin" if name == "ada" else "uploader")
    return runtime


@pytest.fixture
def ids(runtime, upload) -> dict[str, str]:
    """Three images; alice's album "Trip" (custom order, a cover, a share link) and bob's.
    Returns the ids, by name (``a``, ``b``, ``c``, ``trip``, ``bobs``)."""
    a = upload(1, "jpeg", by="alice", title="Harbour")
    b = upload(2, by="alice")
    c = upload(3, by="bob")
    trip = runtime.albums.create(title="Trip", description="By the sea\nin June",
                                 visibility="unlisted", actor=ALICE)
    runtime.albums.change_images(trip.id, add=[a, b, c], actor=ALICE)
    runtime.albums.change_images(trip.id, move=[c], before=a, actor=ALICE)
    runtime.albums.update(trip.id, {"cover": b}, actor=ALICE)
    bobs = runtime.albums.create(title="Bob’s", visibility="public", sort="title_asc",
                                 actor=BOB)
    runtime.albums.change_images(bobs.id, add=[c, a], actor=BOB)
    runtime.links.create(trip.id, actor=ALICE, allow_download=True)
    return {"a": a, "b": b, "c": c, "trip": trip.id, "bobs": bobs.id}


@pytest.fixture
def shelved(runtime, ids) -> Runtime:
    """The gallery of :func:`ids`."""
    return runtime


# -- export and import ------------------------------------------------------------------


@pytest.mark.parametrize("dest_name", ["backup", "backup.zip"])
def test_export_then_import_brings_the_albums_back(shelved, ids, tmp_path, dest_name):
    dest = tmp_path / dest_name
    report = shelved.operations.export_to(dest, actor="cli")
    assert (report.images, report.albums) == (3, 2)
    assert "Exported 3 images" in report.lines()[0] and "and 2 albums" in report.lines()[0]

    target = target_like(shelved.storage, tmp_path, "ada", "alice")  # bob has no account
    imported = target.operations.import_from(dest, username="ada", actor="cli")
    assert len(imported.imported) == 3 and imported.albums is not None
    assert sorted(imported.albums.imported) == sorted([ids["trip"], ids["bobs"]])
    assert imported.albums.rejected == [] and imported.albums.dropped == []
    assert [(old, new) for _, old, new in imported.albums.reassigned] == [("bob", "ada")]

    expected = albums_of(shelved)
    expected[ids["bobs"]]["owner"] = "ada"
    assert albums_of(target) == expected
    trip = target.albums.get(ids["trip"])
    assert trip.image_ids == [ids["c"], ids["a"], ids["b"]] and trip.cover_id == ids["b"]
    assert [r.id for r in target.albums.records(trip)] == [ids["c"], ids["a"], ids["b"]]
    assert target.links.all() == []  # share links are never exported
    text = "\n".join(imported.lines())
    assert "Albums: imported 2, already there 0, rejected 0." in text
    assert "owner 'bob' has no account here; owned by 'ada'" in text
    entry = target.audit.latest(1)[0]
    assert (entry.action, entry.details["albums"]) == ("gallery.import", 2)

    target.albums.update(trip.id, {"title": "Trip, edited here"}, actor=ALICE)
    twice = target.operations.import_from(dest, username="ada", actor="cli")
    assert twice.albums is not None and twice.albums.imported == []
    assert sorted(twice.albums.existing) == sorted([ids["trip"], ids["bobs"]])
    assert len(target.albums.all()) == 2
    assert target.albums.get(trip.id).title == "Trip, edited here"  # left as it is
    assert "Albums: imported 0, already there 2, rejected 0." in twice.lines()


def test_members_whose_images_are_not_in_the_target_are_dropped_and_listed(
        shelved, ids, tmp_path):
    shelved.storage.delete(shelved.keys.original(ids["a"]))  # lost before the export
    dest = tmp_path / "backup"
    report = shelved.operations.export_to(dest, actor="cli")
    assert report.missing == [ids["a"]]
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    [b_record] = [r for r in manifest["images"] if r["id"] == ids["b"]]
    (dest / "originals" / f"{ids['b']}.png").write_bytes(b"not a picture")  # refused on import

    target = target_like(shelved.storage, tmp_path, "ada", "alice", "bob")
    imported = target.operations.import_from(dest, username="ada", actor="cli")
    assert [i for _, i in imported.imported] == [ids["c"]] and len(imported.rejected) == 1
    trip = target.albums.get(ids["trip"])
    assert trip.image_ids == [ids["c"]]
    assert trip.cover is None and trip.cover_id == ids["c"]  # the cover was not imported
    assert trip.first == ids["c"]
    dropped = dict(imported.albums.dropped)
    assert dropped[f"album {ids['trip']} (Trip)"] == [ids["a"], ids["b"]]
    assert dropped[f"album {ids['bobs']} (Bob’s)"] == [ids["a"]]
    assert (f"  album {ids['trip']} (Trip): 2 images not in this gallery left out "
            f"({ids['a']}, {ids['b']})") in imported.lines()
    assert b_record["id"] == ids["b"]


def test_a_member_whose_picture_the_target_has_under_another_id_points_at_it(
        shelved, ids, tmp_path):
    target = target_like(shelved.storage, tmp_path, "ada", "alice", "bob")
    same = target.images.upload(make_image("png", 2), "mine.png", uploaded_by="ada").image["id"]
    assert same != ids["b"]
    dest = tmp_path / "backup.zip"
    shelved.operations.export_to(dest, actor="cli")
    imported = target.operations.import_from(dest, username="ada", actor="cli")
    assert len(imported.duplicates) == 1
    trip = target.albums.get(ids["trip"])
    assert trip.image_ids == [ids["c"], ids["a"], same]
    assert trip.cover == same and imported.albums.dropped == []


def test_an_export_of_format_1_is_still_imported(shelved, tmp_path):
    dest = tmp_path / "old"
    shelved.operations.export_to(dest, actor="cli")
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    manifest["format"] = 1
    del manifest["albums"]
    (dest / "manifest.json").write_bytes(orjson.dumps(manifest))
    (dest / "albums.json").unlink()

    target = target_like(shelved.storage, tmp_path, "ada", "alice", "bob")
    imported = target.operations.import_from(dest, username="ada", actor="cli")
    assert len(imported.imported) == 3 and imported.albums is None
    assert target.albums.all() == [] and not any("Albums" in line for line in imported.lines())
    assert "albums" not in target.audit.latest(1)[0].details


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: (d / "albums.json").write_text("{broken"), "albums.json is damaged"),
    (lambda d: (d / "albums.json").unlink(), "albums.json is missing from the export"),
    (lambda d: (d / "albums.json").write_bytes(orjson.dumps({"format": 1, "albums": []})),
     "holds 0 albums but the manifest says 2"),
    (lambda d: (d / "albums.json").write_bytes(orjson.dumps({"format": 7, "albums": []})),
     "not a list of albums of format 1"),
])
def test_a_damaged_albums_file_refuses_the_import_before_anything_is_stored(
        shelved, tmp_path, damage, message):
    dest = tmp_path / "backup"
    shelved.operations.export_to(dest, actor="cli")
    damage(dest)
    target = target_like(shelved.storage, tmp_path, "ada")
    with pytest.raises(BadRequest, match=message):
        target.operations.import_from(dest, username="ada", actor="cli")
    assert list(target.storage.list("other/images/")) == []
    assert target.albums.all() == []


def test_each_album_of_an_export_is_checked_and_a_bad_one_is_refused_alone(shelved, tmp_path):
    dest = tmp_path / "backup"
    shelved.operations.export_to(dest, actor="cli")
    body = orjson.loads((dest / "albums.json").read_bytes())
    good, bad = body["albums"]
    body["albums"] = [good, dict(bad, title="Bell\x07"), dict(good, items=["../../etc"]),
                      dict(bad, visibility="everyone"), "not an album", good]
    (dest / "albums.json").write_bytes(orjson.dumps(body))
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    (dest / "manifest.json").write_bytes(orjson.dumps(dict(manifest, albums=6)))

    target = target_like(shelved.storage, tmp_path, "alice", "bob")
    imported = target.operations.import_from(dest, username="", actor="cli")
    assert imported.albums.imported == [good["id"]]
    reasons = dict(imported.albums.rejected)
    assert "the title is empty or holds control characters" in reasons["album 2"]
    assert "bad items" in reasons["album 3"] and "bad visibility" in reasons["album 4"]
    assert "not an album" in reasons["album 5"]
    assert "lists this id twice" in reasons[f"album {good['id']} ({good['title']})"]
    assert [a.id for a in target.albums.all()] == [good["id"]]


def test_an_owner_without_an_account_and_no_fallback_refuses_that_album(
        shelved, ids, tmp_path):
    dest = tmp_path / "backup.zip"
    shelved.operations.export_to(dest, actor="cli")
    target = target_like(shelved.storage, tmp_path, "alice")
    imported = target.operations.import_from(dest, username="", actor="cli")
    reasons = dict(imported.albums.rejected)
    assert "the owner 'bob' has no account; create it, or import with --as USER" in \
        reasons[f"album {ids['bobs']} (Bob’s)"]
    assert imported.albums.imported == [ids["trip"]]
    # bob's image was refused too, so it is left out of alice's album
    assert target.albums.get(ids["trip"]).image_ids == [ids["a"], ids["b"]]


def test_the_streamed_zip_holds_the_albums_and_a_damaged_album_is_left_out(shelved, ids):
    shelved.storage.put(shelved.keys.album(ids["bobs"]), b"{damaged")
    runtime = build_runtime(shelved.storage)  # a fresh instance, with nothing cached
    chunks = runtime.operations.iter_export_zip(actor="ada")
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        albums = orjson.loads(archive.read("albums.json"))["albums"]
        manifest = orjson.loads(archive.read("manifest.json"))
    assert [a["id"] for a in albums] == [ids["trip"]] and manifest["albums"] == 1
    assert albums[0]["items"] == list(shelved.albums.get(ids["trip"]).items)
    entry = runtime.audit.latest(1)[0]
    assert (entry.action, entry.details["albums"]) == ("gallery.export", 1)


def test_export_lists_damaged_albums_in_its_report(shelved, ids, tmp_path):
    key = shelved.keys.album(ids["bobs"])
    shelved.storage.put(key, b"[]")
    report = build_runtime(shelved.storage).operations.export_to(tmp_path / "out", actor="cli")
    assert report.damaged_albums == [ids["bobs"]] and report.albums == 1
    assert f"Left out 1 damaged album(s): {ids['bobs']}" in "\n".join(report.lines())


def test_an_export_round_trip_on_replit(replit_bucket, tmp_path):
    from gallery.storage import open_storage

    bucket = open_storage(replit_bucket["url"])
    source = build_runtime(bucket)
    ids = [source.images.upload(make_image("png", n), f"{n}.png", uploaded_by="alice")
           .image["id"] for n in range(2)]
    album = source.albums.create(title="On Replit", actor=ALICE)
    source.albums.change_images(album.id, add=list(reversed(ids)), actor=ALICE)
    dest = tmp_path / "replit.zip"
    assert source.operations.export_to(dest, actor="cli").albums == 1

    target = build_runtime(bucket, prefix="copy/")
    target.accounts.create_user("alice", "a long password", "uploader")
    imported = target.operations.import_from(dest, username="", actor="cli")
    assert imported.albums.imported == [album.id]
    assert albums_of(target) == albums_of(source)
    assert target.albums.get(album.id).image_ids == list(reversed(ids))


# -- doctor -----------------------------------------------------------------------------


def _check(runtime: Runtime):
    [check] = [c for c in runtime.operations.doctor() if c.name == "albums and links"]
    return check


def test_doctor_passes_albums_and_links_that_are_whole(shelved):
    check = _check(shelved)
    assert check.ok, check.message
    assert check.message == ("2 albums (5 members) and 1 share link are readable; every member "
                             "is an image of the gallery")


def test_doctor_names_a_damaged_album_and_link_and_says_how_to_fix_them(shelved, ids):
    link = shelved.links.all()[0]
    shelved.storage.put(shelved.keys.album(ids["bobs"]), b"{not json")
    shelved.storage.put(shelved.keys.link(link.id), b'{"format": 1}')
    check = _check(build_runtime(shelved.storage))
    assert not check.ok
    assert (f"2 document(s) cannot be read: {shelved.keys.album(ids['bobs'])}, "
            f"{shelved.keys.link(link.id)}.") in check.message
    assert "Repair the album's JSON by hand, or delete the object" in check.fix
    assert "the link stops working" in check.fix


def test_doctor_counts_members_whose_image_is_gone_and_points_at_cleanup(shelved, ids):
    shelved.images.d.deleted_listeners.clear()  # as a process that knew nothing of albums
    shelved.images.delete(ids["c"], actor=ADMIN)
    check = _check(shelved)
    assert not check.ok
    assert "2 album member(s) in 2 album(s) point at images that are gone" in check.message
    assert check.fix == "Run `flask --app app gallery cleanup` to take them out."
    shelved.operations.cleanup(dry_run=False, actor="cli",
                               now=datetime.now(UTC) + timedelta(days=2))
    assert _check(shelved).ok


# -- stats ------------------------------------------------------------------------------


def test_stats_count_albums_images_in_them_and_links_by_state(shelved, ids):
    expiring = shelved.links.create(ids["bobs"], actor=BOB,
                                    expires_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    revoked = shelved.links.create(ids["bobs"], actor=BOB)
    shelved.links.revoke(revoked.id, actor=BOB)
    lonely = shelved.albums.create(title="Soon gone", actor=BOB)
    shelved.links.create(lonely.id, actor=BOB)
    shelved.albums.delete(lonely.id, actor=BOB)  # its link is left open, as after a failure
    shelved.albums.create(title="Empty", actor=ALICE)

    stats = shelved.operations.stats(now=datetime.now(UTC) + timedelta(days=2))
    assert (stats.album_count, stats.images_in_albums) == (3, 3)
    assert stats.links == {"active": 1, "expired": 1, "revoked": 1, "album deleted": 1}
    assert stats.link_count == 4 and stats.damaged == []
    stored = [info for prefix in (shelved.keys.albums_prefix, shelved.keys.links_prefix)
              for info in shelved.storage.list(prefix)]
    assert stats.bytes_by_kind["albums"] == sum(info.size for info in stored) > 0
    text = stats.lines()
    assert "Albums: 3, holding 3 of the images" in text
    assert "Share links: 4; active 1, expired 1, revoked 1, album deleted 1" in text
    body = stats.to_json()
    assert body["links"]["expired"] == 1 and body["album_count"] == 3
    assert expiring.expires_at is not None


def test_stats_leave_out_a_damaged_album_and_name_it(shelved, ids):
    shelved.storage.put(shelved.keys.album(ids["trip"]), b"{")
    stats = build_runtime(shelved.storage).operations.stats()
    assert stats.album_count == 1 and stats.images_in_albums == 2
    assert stats.damaged == [shelved.keys.album(ids["trip"])]
    assert stats.links["active"] == 1  # its album exists, only damaged
    assert any(line.startswith("Damaged, not counted") for line in stats.lines())


def test_stats_of_a_gallery_without_albums(runtime):
    stats = runtime.operations.stats()
    assert (stats.album_count, stats.images_in_albums, stats.link_count) == (0, 0, 0)
    assert "Share links: 0; active 0, expired 0, revoked 0" in stats.lines()


# -- cleanup ----------------------------------------------------------------------------


def test_cleanup_takes_members_whose_image_is_gone_out_of_their_albums(shelved, ids, later):
    shelved.images.d.deleted_listeners.clear()
    shelved.images.delete(ids["a"], actor=ADMIN)
    before = snapshot_bucket(shelved.storage)

    dry = shelved.operations.cleanup(dry_run=True, actor="cli", now=later)
    assert snapshot_bucket(shelved.storage) == before
    assert [e.action for e in shelved.audit.latest(1)] == ["image.delete"]
    assert sorted(dry.album_members) == sorted([(ids["trip"], ids["a"]), (ids["bobs"], ids["a"])])
    assert not dry.is_clean
    text = dry.lines()
    assert "Album members whose image is gone (taken out): 2 in 2 albums" in text
    assert f"  album {ids['trip']}: {ids['a']}" in text
    assert dry.to_json()["album_members"][0]["image"] == ids["a"]

    done = shelved.operations.cleanup(dry_run=False, actor="ada", now=later)
    assert f"album:{ids['trip']}:{ids['a']}" in done.removed
    assert shelved.albums.get(ids["trip"]).image_ids == [ids["c"], ids["b"]]
    assert shelved.albums.get(ids["bobs"]).image_ids == [ids["c"]]
    entry = shelved.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["album_members"]) == (
        "ada", "gallery.cleanup", 2)
    assert shelved.operations.cleanup(dry_run=True, actor="cli", now=later).is_clean


def test_cleanup_leaves_a_member_of_a_young_image_alone(shelved, ids):
    shelved.images.d.deleted_listeners.clear()
    shelved.images.delete(ids["a"], actor=ADMIN)
    uploaded = parse_timestamp(shelved.albums.get(ids["trip"]).items[1].partition("|")[0])
    report = shelved.operations.cleanup(dry_run=False, actor="cli",
                                        now=uploaded + timedelta(seconds=10))
    assert report.album_members == []
    assert ids["a"] in shelved.albums.get(ids["trip"]).image_ids


def test_cleanup_removes_links_closed_for_good_and_their_usage(shelved, ids):
    kept = shelved.links.all()[0]
    revoked = shelved.links.create(ids["trip"], actor=ALICE)
    shelved.links.note_view(revoked)
    shelved.links.revoke(revoked.id, actor=ALICE)
    shelved.links.note_view(kept)
    month = datetime.now(UTC) + timedelta(days=31)

    soon = shelved.operations.cleanup(dry_run=False, actor="cli",
                                      now=datetime.now(UTC) + timedelta(days=2))
    assert soon.stale_links == [] and soon.is_clean  # revoked only lately: still answers "revoked"

    dry = shelved.operations.cleanup(dry_run=True, actor="cli", now=month)
    assert [i for i, _ in dry.stale_links] == [revoked.id]
    assert "revoked on" in dry.stale_links[0][1] and "over 30 days ago" in dry.stale_links[0][1]
    assert "Share links closed for good (removed): 1" in dry.lines()
    assert shelved.storage.exists(shelved.keys.link(revoked.id))

    done = shelved.operations.cleanup(dry_run=False, actor="cli", now=month)
    assert shelved.keys.link(revoked.id) in done.removed
    assert not shelved.storage.exists(shelved.keys.link(revoked.id))
    assert not shelved.storage.exists(shelved.keys.link_usage(revoked.id))
    assert [k.id for k in shelved.links.all()] == [kept.id]
    assert shelved.links.usage(kept.id).views == 1
    assert shelved.audit.latest(1)[0].details["links"] == 1


def test_cleanup_removes_links_of_deleted_albums_once_past_the_grace(shelved, later):
    lonely = shelved.albums.create(title="Soon gone", actor=BOB)
    link = shelved.links.create(lonely.id, actor=BOB)
    shelved.albums.delete(lonely.id, actor=BOB)
    orphan_usage = shelved.keys.link_usage("f" * 32)
    shelved.storage.put(orphan_usage, b'{"views": 3, "last_used_at": null}')

    young = shelved.operations.cleanup(dry_run=False, actor="cli")
    assert young.stale_links == [] and shelved.keys.link(link.id) in young.young
    assert orphan_usage in young.young and shelved.storage.exists(orphan_usage)

    done = shelved.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert dict(done.stale_links) == {link.id: "its album was deleted",
                                      "f" * 32: "a usage record without its link"}
    assert {shelved.keys.link(link.id), orphan_usage} <= set(done.removed)
    assert not shelved.storage.exists(shelved.keys.link(link.id))
    assert not shelved.storage.exists(orphan_usage)


def test_albums_and_links_are_the_gallery_s_own_objects_to_cleanup(shelved, later):
    shelved.links.note_view(shelved.links.all()[0])
    stray = shelved.keys.albums_prefix + "index.json"
    shelved.storage.put(stray, b"{}")
    report = shelved.operations.cleanup(dry_run=False, actor="cli", now=later)
    assert [found.key for found in report.unknown] == [stray]  # listed, never touched
    assert report.is_clean and shelved.storage.exists(stray)


def test_cleanup_reports_a_damaged_album_without_stopping(shelved, ids, later):
    shelved.storage.put(shelved.keys.album(ids["bobs"]), b"{")
    runtime = build_runtime(shelved.storage)
    report = runtime.operations.cleanup(dry_run=False, actor="cli", now=later)
    reasons = dict(report.failed)
    assert "is damaged" in reasons["albums"] and "gallery doctor" in reasons["albums"]
    assert "share links" in reasons  # links are judged by their albums: left alone too
    assert not report.is_clean and "Everything is consistent." not in report.lines()
    assert runtime.storage.get(runtime.keys.album(ids["bobs"])) == b"{"


# -- reindex and the audit log ----------------------------------------------------------


def test_reindex_leaves_albums_untouched(shelved, ids):
    key = shelved.keys.album(ids["trip"])
    before = shelved.storage.stat(key).version, shelved.storage.get(key)
    shelved.storage.delete(shelved.keys.index)
    shelved.images.catalog.forget()
    report = shelved.operations.reindex(actor="cli")
    assert report.total == 3
    assert (shelved.storage.stat(key).version, shelved.storage.get(key)) == before
    trip = build_runtime(shelved.storage).albums.get(ids["trip"])
    assert trip.image_ids == [ids["c"], ids["a"], ids["b"]] and trip.cover == ids["b"]
    assert [r.id for r in shelved.albums.records(trip)] == [ids["c"], ids["a"], ids["b"]]


def test_album_and_link_changes_are_in_the_audit_log(runtime, upload):
    a, b = upload(1), upload(2)
    album = runtime.albums.create(title="Audited", actor=ALICE)
    runtime.albums.change_images(album.id, add=[a, b], actor=ALICE)
    runtime.albums.change_images(album.id, move=[b], before=a, actor=ALICE)
    runtime.albums.change_images(album.id, remove=[a], actor=ALICE)
    runtime.albums.update(album.id, {"title": "Audited again"}, actor=ALICE)
    link = runtime.links.create(album.id, actor=ALICE, allow_download=True)
    runtime.links.revoke(link.id, actor=ADMIN)
    runtime.albums.delete(album.id, actor=ADMIN)

    entries = list(reversed(runtime.audit.latest(20)))
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("alice", "album.create", album.id), ("alice", "album.add", album.id),
        ("alice", "album.reorder", album.id), ("alice", "album.remove", album.id),
        ("alice", "album.update", album.id), ("alice", "link.create", link.id),
        ("root", "link.revoke", link.id), ("root", "album.delete", album.id),
    ]
    assert entries[1].details == {"count": 2, "ids": [a, b]}
    assert entries[5].details["album"] == album.id and entries[5].details["allow_download"]
    assert "token" not in orjson.dumps([e.to_json() for e in entries]).decode()


# -- the commands -----------------------------------------------------------------------


def test_the_commands_speak_of_albums_and_links(tmp_path):
    from gallery import create_app

    def app_on(folder: str):
        return create_app({"storage": f"file://{tmp_path / folder}", "secret_key": "x",
                           "cleanup_grace": 0, "trash_days": 0}, environ={})

    source = app_on("source")
    runtime = source.extensions["gallery"]
    runtime.accounts.create_user("ada", "a long password", "admin")
    image = runtime.images.upload(make_image("png", 1), "one.png", uploaded_by="ada").image
    album = runtime.albums.create(title="Kept", actor=ADMIN)
    runtime.albums.change_images(album.id, add=[image["id"]], actor=ADMIN)
    runtime.links.create(album.id, actor=ADMIN)
    cli = source.test_cli_runner()

    stats = cli.invoke(args=["gallery", "stats"])
    assert stats.exit_code == 0, stats.output
    assert "Albums: 1, holding 1 of the images" in stats.output
    assert "Share links: 1; active 1, expired 0, revoked 0" in stats.output
    figures = orjson.loads(cli.invoke(args=["gallery", "stats", "--json"]).output)
    assert figures["album_count"] == 1 and figures["links"]["active"] == 1

    doctor = cli.invoke(args=["gallery", "doctor"])
    assert "ok    albums and links: 1 album (1 member) and 1 share link" in doctor.output

    dest = tmp_path / "export.zip"
    exported = cli.invoke(args=["gallery", "export", str(dest)])
    assert exported.exit_code == 0, exported.output
    assert "Exported 1 images" in exported.output and "and 1 album to" in exported.output

    target = app_on("target")
    target.extensions["gallery"].accounts.create_user("ada", "a long password", "admin")
    imported = target.test_cli_runner().invoke(args=["gallery", "import", str(dest)])
    assert imported.exit_code == 0, imported.output
    assert "Albums: imported 1, already there 0, rejected 0." in imported.output
    assert target.extensions["gallery"].albums.get(album.id).image_ids == [image["id"]]

    runtime.images.d.deleted_listeners.clear()
    runtime.images.delete(image["id"], actor=ADMIN)
    report = orjson.loads(cli.invoke(args=["gallery", "cleanup", "--dry-run", "--json"]).output)
    assert report["album_members"] == [{"album": album.id, "image": image["id"]}]
    cleanup = cli.invoke(args=["gallery", "cleanup"])
    assert cleanup.exit_code == 0, cleanup.output
    assert "Album members whose image is gone (taken out): 1 in 1 album" in cleanup.output
    assert f"  album {album.id}: {image['id']}" in cleanup.output
    assert "Removed 1, regenerated 0." in cleanup.output
    assert runtime.albums.get(album.id).image_ids == []
