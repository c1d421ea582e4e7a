"""The command line, run as a user runs it: `flask --app app ...` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    env |= {"GALLERY_STORAGE": f"file://{tmp_path / 'bucket'}", "GALLERY_SECRET_KEY": "cli-test"}
    (tmp_path / "bucket").mkdir()  # as a server's first start leaves it: no warning

    def run(*args: str, stdin: str = "", extra_env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT, env=env | (extra_env or {}), input=stdin, capture_output=True,
            text=True, timeout=120,
        )

    return run


def test_users_create_list_delete(cli):
    done = cli("users", "create", "Ada", "--role", "admin", "--password-stdin",
               stdin="a long password\n")
    assert done.returncode == 0, done.stderr
    assert "Created admin ada." in done.stdout
    cli("users", "create", "bob", "--password-stdin", stdin="another password\n")

    listing = cli("users", "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert any(line.startswith("ada") and "admin" in line for line in lines)
    assert any(line.startswith("bob") and "uploader" in line for line in lines)

    assert cli("users", "delete", "bob", "--yes").returncode == 0
    assert "bob" not in cli("users", "list").stdout


def test_display_names_on_the_command_line_and_in_the_export(cli, tmp_path):
    done = cli("users", "create", "rose", "--display-name", "Grandma Rose", "--password-stdin",
               stdin="a long password\n")
    assert done.returncode == 0, done.stderr
    assert "Created uploader rose (Grandma Rose)." in done.stdout
    assert "“Grandma Rose”" in cli("users", "list").stdout

    changed = cli("users", "display-name", "rose", "José Núñez")
    assert changed.returncode == 0, changed.stderr
    assert "rose is shown as “José Núñez”." in changed.stdout
    refused = cli("users", "display-name", "rose", "<b>")
    assert refused.returncode != 0
    assert "letters, digits, spaces, apostrophes, hyphens and dots" in refused.stderr
    bad = cli("users", "create", "eve", "--display-name", "x" * 61, "--password-stdin",
              stdin="a long password\n")
    assert bad.returncode != 0 and "at most 60 characters" in bad.stderr
    assert "eve" not in cli("users", "list").stdout

    dest = tmp_path / "accounts.json"
    assert cli("users", "export", str(dest)).returncode == 0
    assert json.loads(dest.read_text())["users"]["rose"]["display_name"] == "José Núñez"
    removed = cli("users", "display-name", "rose", "")
    assert removed.returncode == 0 and "no display name" in removed.stdout
    assert "“" not in cli("users", "list").stdout


def test_failures_exit_non_zero_with_one_line(cli):
    cli("users", "create", "ada", "--role", "admin", "--password-stdin", stdin="a long password\n")
    again = cli("users", "create", "ada", "--password-stdin", stdin="a long password\n")
    assert again.returncode != 0
    error_lines = [line for line in again.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and "already exists" in error_lines[0]

    short = cli("users", "create", "eve", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "8" in short.stderr

    missing = cli("users", "delete", "nobody", "--yes")
    assert missing.returncode != 0

    bad_role = cli("users", "create", "zed", "--role", "root", "--password-stdin", stdin="x" * 10)
    assert bad_role.returncode != 0


def test_unknown_setting_stops_the_cli(cli):
    done = cli("users", "list", extra_env={"GALLERY_STORGE": "memory://"})
    assert done.returncode != 0
    assert "GALLERY_STORGE" in done.stderr


def test_tokens_create_prints_a_working_token(cli, tmp_path):
    cli("users", "create", "ada", "--role", "admin", "--password-stdin", stdin="a long password\n")
    done = cli("tokens", "create", "ada", "--label", "backup script")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token and " " not in token

    from gallery.accounts import Accounts
    from gallery.keys import Keys
    from gallery.storage.local import FileStorage

    accounts = Accounts(FileStorage(tmp_path / "bucket"), Keys())
    user = accounts.authenticate_token(token)
    assert user is not None and user.username == "ada"
    listing = cli("tokens", "list")
    assert "backup script" in listing.stdout

    token_id = accounts.list_tokens()[0].id
    assert cli("tokens", "revoke", token_id).returncode == 0
    assert accounts.authenticate_token(token) is None


def test_reindex_reports_counts(cli):
    done = cli("gallery", "reindex")
    assert done.returncode == 0, done.stderr
    assert "Index rebuilt: 0 added, 0 dropped, 0 unchanged." in done.stdout


def test_doctor_in_a_real_process(cli):
    sick = cli("gallery", "doctor")
    assert sick.returncode == 1
    assert "FAIL  admin account" in sick.stdout
    assert [line for line in sick.stderr.splitlines() if line.strip()] == [
        "Error: 1 checks failed: admin account."]
    cli("users", "create", "ada", "--role", "admin", "--password-stdin", stdin="a long password\n")
    well = cli("gallery", "doctor")
    assert well.returncode == 0, well.stdout + well.stderr
    stats = cli("gallery", "stats", "--json")
    assert stats.returncode == 0 and json.loads(stats.stdout)["image_count"] == 0


# --- gallery commands, through click's runner on a file bucket ------------------------------


@pytest.fixture
def bucket(tmp_path):
    return tmp_path / "bucket"


@pytest.fixture
def app(bucket):
    from gallery import create_app

    return create_app({"storage": f"file://{bucket}", "secret_key": "cli-test"}, environ={})


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(args=list(args), input=stdin)

    return run


def _png(n: int) -> bytes:
    from tests.web.images import distinct_png

    return distinct_png(n)


def _runtime(app):
    return app.extensions["gallery"]


def _admin(app, name: str = "ada") -> None:
    _runtime(app).accounts.create_user(name, "a long password", "admin")


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_import_folder_as_the_only_admin_then_resume(app, run, tmp_path):
    _admin(app)
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(3):
        (folder / f"p{n}.png").write_bytes(_png(n))
    (folder / "notes.txt").write_text("not an image")

    done = run("gallery", "import", str(folder))
    assert done.exit_code == 0, done.output
    assert "Imported 3, already there 0, rejected 1." in done.output
    assert "rejected notes.txt:" in done.output
    records = _runtime(app).images.view().records()
    assert {r.uploaded_by for r in records} == {"ada"}

    again = run("gallery", "import", str(folder))
    assert again.exit_code == 0 and "Imported 0, already there 3, rejected 1." in again.output


def test_import_fails_when_everything_is_rejected_or_no_user_is_clear(app, run, tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.txt").write_text("text")
    no_admin = run("gallery", "import", str(folder))
    assert no_admin.exit_code == 1 and "no admin account" in _one_line(no_admin)

    _admin(app, "ada")
    _admin(app, "bea")
    two = run("gallery", "import", str(folder))
    assert two.exit_code == 1 and "--as USER" in _one_line(two)

    rejected = run("gallery", "import", str(folder), "--as", "bea")
    assert rejected.exit_code == 1 and "All 1 files were rejected." in _one_line(rejected)

    ghost = run("gallery", "import", str(folder), "--as", "ghost")
    assert ghost.exit_code == 1 and "no user 'ghost'" in _one_line(ghost)

    missing = run("gallery", "import", str(tmp_path / "nope"), "--as", "bea")
    assert missing.exit_code != 0


def test_export_and_import_between_buckets(app, run, tmp_path):
    _admin(app)
    uploaded = _runtime(app).images.upload(_png(7), "seven.png", uploaded_by="ada",
                                            title="Seven")
    dest = tmp_path / "backup.zip"
    done = run("gallery", "export", str(dest))
    assert done.exit_code == 0, done.output
    assert "Exported 1 images" in done.output and dest.is_file()

    again = run("gallery", "export", str(dest))
    assert again.exit_code == 1 and "exists already" in _one_line(again)

    from gallery import create_app

    other = create_app({"storage": f"file://{tmp_path / 'other'}", "secret_key": "x"}, environ={})
    _runtime(other).accounts.create_user("ada", "a long password", "admin")  # as README says
    moved = other.test_cli_runner().invoke(args=["gallery", "import", str(dest)])
    assert moved.exit_code == 0, moved.output
    assert _runtime(other).images.get(uploaded.image["id"])["title"] == "Seven"


def test_cleanup_dry_run_json_and_repair(app, run):
    runtime = _runtime(app)
    image = runtime.images.upload(_png(1), "one.png", uploaded_by="ada").image
    runtime.storage.delete(runtime.keys.meta(image["id"]))

    dry = run("gallery", "cleanup", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] is True and report["is_clean"] is True  # too young to touch
    assert image["id"] in report["young"]

    done = run("gallery", "cleanup")
    assert done.exit_code == 0 and "Removed 0, regenerated 0." in done.output


def test_cleanup_failure_exits_non_zero(app, run):
    runtime = _runtime(app)
    runtime.storage.put(runtime.keys.index, b"{damaged")
    done = run("gallery", "cleanup")
    assert done.exit_code == 1 and "damaged" in _one_line(done)


def test_stats_text_and_json(app, run):
    _admin(app)
    _runtime(app).images.upload(_png(1), "one.png", uploaded_by="ada")
    text = run("gallery", "stats")
    assert text.exit_code == 0 and "Images: 1" in text.output and "Storage: file at" in text.output
    figures = json.loads(run("gallery", "stats", "--json").output)
    assert figures["image_count"] == 1 and figures["by_content_type"] == {"image/png": 1}


def test_doctor_exit_codes(app, run):
    sick = run("gallery", "doctor")
    assert sick.exit_code == 1
    assert "FAIL  admin account: There is no active admin account." in sick.output
    assert "fix: Create one" in sick.output
    assert _one_line(sick) == "Error: 1 checks failed: admin account."

    _admin(app)
    well = run("gallery", "doctor")
    assert well.exit_code == 0, well.output
    assert "FAIL" not in well.output and "ok    libmagic" in well.output


def test_destructive_account_commands_are_audited(app, run):
    _admin(app)
    runtime = _runtime(app)
    runtime.accounts.create_user("bob", "a long password", "uploader")
    _, token = runtime.accounts.create_token("ada", "script")
    assert run("users", "delete", "Bob", "--yes").exit_code == 0
    assert run("tokens", "revoke", token.id).exit_code == 0
    assert run("gallery", "reindex").exit_code == 0
    actions = [(e.actor, e.action, e.target) for e in runtime.audit.latest(3)]
    assert actions == [("cli", "gallery.reindex", ""), ("cli", "token.revoke", token.id),
                       ("cli", "user.delete", "bob")]


def test_account_commands_that_create_are_audited_as_the_admin_pages_do(app, run):
    _admin(app)
    runtime = _runtime(app)
    made = run("users", "create", "cleo", "--role", "uploader", "--password-stdin",
               stdin="a long enough password\n")
    assert made.exit_code == 0, made.output
    token = run("tokens", "create", "cleo", "--label", "backup")
    assert token.exit_code == 0, token.output
    (listed,) = runtime.accounts.list_tokens("cleo")
    entries = runtime.audit.latest(2)
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("cli", "token.create", listed.id), ("cli", "user.create", "cleo")]
    assert entries[0].details == {"user": "cleo", "label": "backup"}


@pytest.mark.parametrize("command", [
    ["gallery", "reindex"], ["gallery", "cleanup"], ["gallery", "cleanup", "--dry-run"],
    ["gallery", "stats"], ["gallery", "doctor"], ["gallery", "import", "{folder}"],
    ["gallery", "export", "{folder}/out.zip"], ["gallery", "export", "{folder}/out"],
])
def test_every_gallery_command_fails_cleanly_when_storage_is_down(command, tmp_path):
    from gallery import create_app
    from gallery.storage.memory import MemoryStorage
    from tests.support.faulty import FaultyStorage

    down = FaultyStorage(MemoryStorage())
    app = create_app({"secret_key": "x"}, environ={}, storage=down)
    down.fail("*")
    args = [part.replace("{folder}", str(tmp_path)) for part in command]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    assert "Error:" in _one_line(result)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out").exists()
