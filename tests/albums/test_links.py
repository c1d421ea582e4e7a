"""Share links over a real bucket: tokens, passwords, expiry, revoking, usage."""

from __future__ import annotations

import orjson
import pytest

from gallery.albums import Albums, Links
from gallery.albums.model import link_id_of
from gallery.errors import BadRequest, Forbidden, Gone, NotFound, TooManyAttempts
from gallery.images.service import Images
from gallery.keys import Keys
from gallery.storage.base import Storage
from tests.albums.conftest import Clock, upload
from tests.images import ADMIN, ALICE, BOB

KEYS = Keys("g/")


@pytest.fixture
def album(images: Images, albums: Albums):
    photos = upload(images, 2)
    album = albums.create(title="Shared", actor=ALICE, visibility="private")
    return albums.change_images(album.id, add=[p["id"] for p in photos], actor=ALICE)


def test_a_link_opens_its_album_from_another_instance(
        storage: Storage, images: Images, links: Links, album, clock: Clock) -> None:
    link = links.create(album.id, actor=ALICE, label=" For  grandma ")
    assert len(link.token) >= 43 and link.id == link_id_of(link.token) != link.token
    assert link.label == "For grandma" and not link.has_password
    assert not link.allow_download and not link.show_details
    stored = orjson.loads(storage.get(KEYS.link(link.id)))
    assert stored["album"] == album.id and stored["password_hash"] is None

    other = Links(storage, KEYS, Albums(storage, KEYS, images, public_gallery=False),
                  clock=clock)
    opened = other.open(link.token)
    assert opened.album.id == album.id and opened.link.id == link.id
    with pytest.raises(NotFound):
        other.open(link.token[:-2] + ("AA" if link.token[-2:] != "AA" else "BB"))
    with pytest.raises(NotFound):
        other.open("../../etc/passwd")


def test_the_password_is_hashed_and_wrong_guesses_are_throttled(
        storage: Storage, links: Links, album) -> None:
    link = links.create(album.id, actor=ALICE, password="correct horse")
    raw = storage.get(KEYS.link(link.id))
    assert b"correct horse" not in raw and link.has_password
    assert links.check_password(link, "correct horse", "10.0.0.1")
    for _ in range(3):
        assert not links.check_password(link, "wrong", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        links.check_password(link, "correct horse", "10.0.0.1")


def test_expired_and_revoked_links_are_gone_everywhere(
        storage: Storage, images: Images, links: Links, album, clock: Clock) -> None:
    soon = links.create(album.id, actor=ALICE, expires_at="2026-12-01T10:00:00Z")
    kept = links.create(album.id, actor=ALICE)
    other = Links(storage, KEYS, Albums(storage, KEYS, images, public_gallery=False),
                  clock=clock)
    assert other.open(kept.token).link.id == kept.id  # cached there now
    clock.advance(hours=2)
    with pytest.raises(Gone, match="expired"):
        links.open(soon.token)
    links.revoke(kept.id, actor=ALICE)
    with pytest.raises(Gone, match="revoked"):
        links.open(kept.token)
    other.shelf._clock = lambda: 1e12  # the other instance's few seconds have passed
    with pytest.raises(Gone, match="revoked"):
        other.open(kept.token)


def test_a_deleted_album_closes_its_links(links: Links, albums: Albums, album) -> None:
    link = links.create(album.id, actor=ALICE)
    albums.delete(album.id, actor=ALICE)
    links.albums.shelf._clock = lambda: 1e12
    with pytest.raises(Gone, match="deleted"):
        links.open(link.token)
    assert [k.id for k in links.stale()] == [link.id]


def test_only_managers_make_list_and_revoke_links(links: Links, album) -> None:
    with pytest.raises(Forbidden):
        links.create(album.id, actor=BOB)
    link = links.create(album.id, actor=ALICE)
    with pytest.raises(Forbidden):
        links.managed(album.id, BOB)
    with pytest.raises(Forbidden):
        links.revoke(link.id, actor=BOB)
    assert [k.id for k in links.managed(album.id, ADMIN)] == [link.id]
    assert links.revoke(link.id, actor=ADMIN).revoked_by == "root"


def test_bad_link_settings_are_refused(links: Links, album) -> None:
    with pytest.raises(BadRequest, match="past"):
        links.create(album.id, actor=ALICE, expires_at="2020-01-01T00:00:00Z")
    with pytest.raises(BadRequest, match="ISO 8601"):
        links.create(album.id, actor=ALICE, expires_at="next tuesday")
    with pytest.raises(BadRequest, match="true or false"):
        links.create(album.id, actor=ALICE, allow_download="yes")
    with pytest.raises(BadRequest, match="label"):
        links.create(album.id, actor=ALICE, label="x" * 101)
    with pytest.raises(NotFound):
        links.create("0" * 32, actor=ALICE)
    assert links.for_album(album.id) == []


def test_a_date_expiry_lasts_through_that_day(links: Links, album) -> None:
    link = links.create(album.id, actor=ALICE, expires_at="2026-12-05")
    assert link.expires_at == "2026-12-05T23:59:59.000Z"


def test_views_and_last_use_are_counted(links: Links, album, clock: Clock) -> None:
    link = links.create(album.id, actor=ALICE)
    links.note_view(link)
    clock.advance(minutes=5)
    links.note_view(link)
    usage = links.usages([link])[link.id]
    assert usage.views == 2 and usage.last_used_at == "2026-12-01T09:05:00.000Z"


def test_cleanup_removes_links_closed_long_ago(links: Links, album, clock: Clock) -> None:
    old = links.create(album.id, actor=ALICE)
    links.note_view(old)
    links.revoke(old.id, actor=ALICE)
    fresh = links.create(album.id, actor=ALICE)
    clock.advance(days=31)
    stale = links.stale()
    assert [k.id for k in stale] == [old.id]
    links.remove(stale[0])
    assert [k.id for k in links.all()] == [fresh.id]
    assert links.usage(old.id).views == 0
