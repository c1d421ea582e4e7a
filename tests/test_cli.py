"""The command line, run as a user runs it: `flask --app app ...` in a subprocess."""

from __future__ import annotations

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
