"""`albums ...` and `links ...` on the command line: through click's runner on a file bucket,
and once in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gallery import create_app
from tests.web.images import distinct_png

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long password"


@pytest.fixture
def bucket(tmp_path):
    return tmp_path / "bucket"


@pytest.fixture
def settings() -> dict:
    return {}


@pytest.fixture
def app(bucket, settings):
    return create_app({"storage": f"file://{bucket}", "secret_key": "cli-test", **settings},
                      environ={})


@pytest.fixture
def runtime(app):
    return app.extensions["gallery"]


@pytest.fixture
def ada(runtime):
    """The only admin."""
    return runtime.accounts.create_user("ada", PASSWORD, "admin").username


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(args=list(args), input=stdin)

    return run


def one_line(result) -> str:
    """The single error line of a failed command."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def upload(runtime, n: int) -> str:
    return runtime.images.upload(distinct_png(n), f"p{n}.png", uploaded_by="ada").image["id"]


def create(run, *args: str) -> str:
    done = run("albums", "create", *args)
    assert done.exit_code == 0, done.output
    return done.stdout.strip()


def audited(runtime, count: int) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in runtime.audit.latest(count)]


# --- albums --------------------------------------------------------------------------------


def test_create_prints_the_id_of_an_album_of_the_only_admin(run, runtime, ada):
    done = run("albums", "create", "  Summer  trip ", "--description", "By the sea",
               "--visibility", "unlisted", "--sort", "uploaded_desc")
    assert done.exit_code == 0, done.output
    album_id = done.stdout.strip()
    assert "Created the unlisted album “Summer trip” of ada." in done.stderr
    album = runtime.albums.get(album_id)
    assert (album.title, album.description, album.visibility, album.sort, album.owner) == (
        "Summer trip", "By the sea", "unlisted", "uploaded_desc", "ada")
    assert audited(runtime, 1) == [("cli", "album.create", album_id)]
    assert runtime.audit.latest(1)[0].details["owner"] == "ada"

    plain = runtime.albums.get(create(run, "Plain"))
    assert (plain.visibility, plain.sort) == ("private", "manual")


def test_create_for_another_owner(run, runtime, ada):
    runtime.accounts.create_user("bob", PASSWORD, "uploader")
    album = runtime.albums.get(create(run, "Bob's", "--owner", "BOB"))
    assert album.owner == "bob"


def test_create_refuses_what_it_cannot_do(run, runtime):
    assert "no admin account; pass --owner USER" in one_line(run("albums", "create", "T"))
    runtime.accounts.create_user("ada", PASSWORD, "admin")
    runtime.accounts.create_user("bea", PASSWORD, "admin")
    assert "2 admins; choose one with --owner USER" in one_line(run("albums", "create", "T"))
    assert "no user 'ghost'" in one_line(run("albums", "create", "T", "--owner", "ghost"))
    runtime.accounts.set_disabled("bea", True)
    assert "disabled" in one_line(run("albums", "create", "T", "--owner", "bea"))
    assert "longer than 200" in one_line(run("albums", "create", "x" * 300, "--owner", "ada"))
    assert "title" in one_line(run("albums", "create", "   ", "--owner", "ada"))
    bad_choice = run("albums", "create", "T", "--owner", "ada", "--visibility", "secret")
    assert bad_choice.exit_code == 2 and "secret" in bad_choice.output
    assert runtime.albums.all() == []


def test_list_shows_id_visibility_count_owner_and_title(run, runtime, ada):
    empty = run("albums", "list")
    assert empty.exit_code == 0 and "No albums yet" in empty.output
    first = create(run, "First", "--visibility", "public")
    second = create(run, "Second")
    run("albums", "add", first, upload(runtime, 1))

    listing = run("albums", "list")
    assert listing.exit_code == 0, listing.output
    order = [a.id for a in runtime.albums.all()]  # newest first
    lines = {line.split()[0]: line.split() for line in listing.stdout.splitlines()}
    assert list(lines) == order and set(order) == {first, second}
    assert lines[first] == [first, "public", "1", "image", "ada", "First"]
    assert lines[second] == [second, "private", "0", "images", "ada", "Second"]

    albums = {a["id"]: a for a in json.loads(run("albums", "list", "--json").stdout)}
    assert list(albums) == order
    assert albums[first]["image_count"] == 1 and albums[first]["urls"]["page"] == f"/albums/{first}"
    assert albums[first]["urls"]["cover"].startswith(f"/media/{albums[first]['cover']}/")


def test_add_and_remove_report_what_changed(run, runtime, ada):
    album_id = create(run, "Trip")
    a, b, c = (upload(runtime, n) for n in range(3))
    added = run("albums", "add", album_id, a, b, a)
    assert added.exit_code == 0, added.output
    assert "Added 2 images to “Trip” (2 in all)." in added.output
    again = run("albums", "add", album_id, b, c)
    assert "Added 1 image to “Trip” (3 in all)." in again.output
    assert runtime.albums.get(album_id).image_ids == [a, b, c]

    removed = run("albums", "remove", album_id, b, "f" * 32)
    assert removed.exit_code == 0, removed.output
    assert "Removed 1 image from “Trip” (2 left; 1 was not in it)." in removed.output
    assert runtime.albums.get(album_id).image_ids == [a, c]
    assert audited(runtime, 3) == [("cli", "album.remove", album_id),
                                   ("cli", "album.add", album_id),
                                   ("cli", "album.add", album_id)]


def test_add_checks_every_image_before_changing_anything(run, runtime, ada):
    album_id = create(run, "Trip")
    a = upload(runtime, 1)
    failed = run("albums", "add", album_id, a, "f" * 32, "../../index.json")
    assert "No such image (2 in all):" in one_line(failed)
    assert runtime.albums.get(album_id).count == 0
    assert "no such album" in one_line(run("albums", "add", "0" * 32, a))
    assert "no such album" in one_line(run("albums", "remove", "nope", a))
    missing_ids = run("albums", "add", album_id)
    assert missing_ids.exit_code == 2 and "IMAGE_IDS" in missing_ids.output


def test_many_ids_are_sent_in_several_calls(run, runtime, ada, monkeypatch):
    import gallery.cli

    monkeypatch.setattr(gallery.cli, "MAX_IDS_PER_CALL", 2)
    album_id = create(run, "Trip")
    ids = [upload(runtime, n) for n in range(5)]
    done = run("albums", "add", album_id, *ids)
    assert done.exit_code == 0 and "Added 5 images" in done.output
    assert runtime.albums.get(album_id).image_ids == ids
    assert [e.action for e in runtime.audit.latest(3)] == ["album.add"] * 3
    gone = run("albums", "remove", album_id, *ids)
    assert "Removed 5 images" in gone.output and runtime.albums.get(album_id).count == 0


def test_delete_keeps_images_and_revokes_links(run, runtime, ada):
    album_id = create(run, "Trip")
    image = upload(runtime, 1)
    run("albums", "add", album_id, image)
    url = run("links", "create", album_id).stdout.strip()
    done = run("albums", "delete", album_id, "--yes")
    assert done.exit_code == 0, done.output
    assert "Deleted the album “Trip” (its 1 image stay; 1 share link revoked)." in done.output
    assert runtime.albums.all() == [] and runtime.images.get(image)["id"] == image
    (link,) = runtime.links.all()
    assert link.revoked_at is not None and link.revoked_by == "cli"
    assert url.endswith(link.token)
    assert audited(runtime, 2) == [("cli", "album.delete", album_id),
                                   ("cli", "link.revoke", link.id)]
    assert "no such album" in one_line(run("albums", "delete", album_id, "--yes"))


# --- share links ---------------------------------------------------------------------------


def test_links_create_prints_the_address_once(run, runtime, ada):
    album_id = create(run, "Trip")
    done = run("links", "create", album_id, "--expires", "2099-06-30", "--allow-download",
               "--show-details", "--label", "For mum")
    assert done.exit_code == 0, done.output
    url = done.stdout.strip()
    (link,) = runtime.links.all()
    assert url == f"/s/{link.token}"
    assert f"Link {link.id}, until 2099-06-30T23:59:59.000Z" in done.stderr
    assert (link.allow_download, link.show_details, link.label, link.has_password) == (
        True, True, "For mum", False)
    assert (link.created_by, audited(runtime, 1)) == ("cli", [("cli", "link.create", link.id)])

    listing = run("links", "list")
    assert listing.exit_code == 0 and link.token not in listing.output
    (line,) = listing.stdout.splitlines()
    assert line.split() == [link.id, "open", "album", album_id, "views", "0", "expires",
                            "2099-06-30T23:59:59.000Z", "download,details", "For", "mum"]


def test_links_create_with_a_password_from_standard_input(run, runtime, ada):
    album_id = create(run, "Trip")
    done = run("links", "create", album_id, "--password-stdin", stdin="open sesame\n")
    assert done.exit_code == 0, done.output
    assert "this address and the password" in done.stderr
    (link,) = runtime.links.all()
    assert link.has_password and "open sesame" not in json.dumps(link.to_json())
    assert runtime.links.check_password(link, "open sesame", None)
    assert "No password" in one_line(run("links", "create", album_id, "--password-stdin",
                                         stdin="\n"))


@pytest.mark.parametrize("settings", [{"base_url": "https://photos.example.com"}])
def test_links_create_prints_an_absolute_address_with_a_base_url(run, runtime, ada):
    album_id = create(run, "Trip")
    url = run("links", "create", album_id).stdout.strip()
    assert url == f"https://photos.example.com/s/{runtime.links.all()[0].token}"


def test_links_create_refuses_bad_input(run, runtime, ada):
    album_id = create(run, "Trip")
    assert "in the past" in one_line(run("links", "create", album_id, "--expires", "2001-01-01"))
    assert "ISO 8601" in one_line(run("links", "create", album_id, "--expires", "soon"))
    assert "at most 100" in one_line(run("links", "create", album_id, "--label", "x" * 200))
    assert "no such album" in one_line(run("links", "create", "0" * 32))
    assert runtime.links.all() == []


def test_links_list_per_album_and_as_json(run, runtime, ada):
    trip = create(run, "Trip")
    home = create(run, "Home")
    run("links", "create", trip)
    run("links", "create", home, "--password-stdin", stdin="secret words\n")
    trip_link, home_link = (runtime.links.for_album(a)[0] for a in (trip, home))
    runtime.links.note_view(trip_link)

    only_trip = run("links", "list", trip).stdout.splitlines()
    assert len(only_trip) == 1 and only_trip[0].startswith(trip_link.id)
    assert "views 1" in only_trip[0]
    listed = json.loads(run("links", "list", "--json").stdout)
    assert [k["id"] for k in listed] == [k.id for k in runtime.links.all()]  # newest first
    by_id = {k["id"]: k for k in listed}
    assert by_id[home_link.id]["has_password"] is True and by_id[home_link.id]["state"] == "open"
    trip_json = by_id[trip_link.id]
    assert trip_json["views"] == 1 and "url" not in trip_json and "token" not in trip_json
    assert "no such album" in one_line(run("links", "list", "0" * 32))
    no_links = create(run, "Empty")
    assert "No share links" in run("links", "list", no_links).output


def test_links_revoke(run, runtime, ada):
    album_id = create(run, "Trip")
    run("links", "create", album_id)
    (link,) = runtime.links.all()
    done = run("links", "revoke", link.id)
    assert done.exit_code == 0 and f"Revoked link {link.id}." in done.output
    assert runtime.links.get(link.id).revoked_by == "cli"
    assert "revoked" in run("links", "list").stdout
    again = run("links", "revoke", link.id)
    assert again.exit_code == 0 and "already revoked" in again.output
    assert "no such link" in one_line(run("links", "revoke", "0" * 32))
    assert "no such link" in one_line(run("links", "revoke", "not-a-link"))


@pytest.mark.parametrize("command", [
    ["albums", "list"], ["albums", "create", "T", "--owner", "ada"],
    ["albums", "add", "0" * 32, "f" * 32], ["albums", "remove", "0" * 32, "f" * 32],
    ["albums", "delete", "0" * 32, "--yes"], ["links", "create", "0" * 32],
    ["links", "list"], ["links", "revoke", "0" * 32],
])
def test_every_album_command_fails_cleanly_when_storage_is_down(command):
    from gallery.storage.memory import MemoryStorage
    from tests.support.faulty import FaultyStorage

    down = FaultyStorage(MemoryStorage())
    app = create_app({"secret_key": "x"}, environ={}, storage=down)
    down.fail("*")
    result = app.test_cli_runner().invoke(args=command)
    assert "Error:" in one_line(result)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_albums_and_links_in_a_real_process(bucket, runtime, ada):
    image = upload(runtime, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    env |= {"GALLERY_STORAGE": f"file://{bucket}", "GALLERY_SECRET_KEY": "cli-test",
            "GALLERY_BASE_URL": "https://photos.example.com"}
    script = ("set -e; id=$(flask --app app albums create 'Real trip' --visibility public); "
              f"flask --app app albums add \"$id\" {image}; "
              "flask --app app links create \"$id\" --allow-download; "
              "flask --app app albums add \"$id\" nope || echo \"refused $?\"")
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env | {"PATH": f"{Path(sys.executable).parent}:"
                                                  + env.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    (album,) = runtime.albums.all()
    (link,) = runtime.links.all()
    assert (album.title, album.image_ids, link.allow_download) == ("Real trip", [image], True)
    lines = done.stdout.splitlines()
    assert lines[0] == "Added 1 image to “Real trip” (1 in all)."
    assert lines[1] == f"https://photos.example.com/s/{link.token}"
    assert lines[2] == "refused 1"
    assert done.stderr.splitlines()[-1] == "Error: No such image (1 in all): nope."
