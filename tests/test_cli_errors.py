"""The ``gallery`` command (and ``flask --app app``) as a user runs it, in a subprocess:
a wrong setting is one line and exit status 2; a warning when the command may not be
working on the gallery a server uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GALLERY = Path(sys.executable).parent / "gallery"


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        command: list[str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GALLERY_", "REPL"))}
    return subprocess.run([*(command or [str(GALLERY)]), *args], cwd=cwd,
                          env=base | (env or {}), capture_output=True, text=True, timeout=120)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("env", "expected"), [
    ({"GALLERY_STORGE": "file://./data"},
     "gallery: GALLERY_STORGE is not a setting (did you mean GALLERY_STORAGE?)"),
    ({"GALLERY_MAX_FILES": "lots"}, "gallery: GALLERY_MAX_FILES='lots' is not valid"),
    ({"GALLERY_STORAGE": "ftp://host/x"}, "gallery: GALLERY_STORAGE 'ftp://host/x' is not a "
                                          "storage URL"),
    ({"GALLERY_STORAGE": "s3://"}, "gallery: GALLERY_STORAGE 's3://' names no bucket"),
    ({"GALLERY_PREFIX": "My Photos"}, "gallery: GALLERY_PREFIX='My Photos' is not valid: "
                                      "expected lower case letters"),
])
def test_a_wrong_setting_is_one_line_and_exit_status_2(tmp_path: Path, env, expected) -> None:
    done = run(["users", "list"], tmp_path, env)
    assert done.returncode == 2, done.stderr
    assert lines(done.stderr) == [lines(done.stderr)[0]]
    assert lines(done.stderr)[0].startswith(expected)
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "data").exists()


def test_the_flask_command_stops_the_same_way(tmp_path: Path) -> None:
    done = run(["users", "list"], ROOT, {"GALLERY_FOE": "1"},
               command=[sys.executable, "-m", "flask", "--app", "app"])
    assert done.returncode == 2
    assert len(lines(done.stderr)) == 1
    assert done.stderr.startswith("gallery: GALLERY_FOE is not a setting (did you mean GALLERY_")


def test_a_missing_sdk_is_one_line_with_the_install_hint(tmp_path: Path) -> None:
    fake = tmp_path / "no-sdk" / "boto3"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("No module named \'boto3\'")\n')
    done = run(["users", "list"], tmp_path, {"GALLERY_STORAGE": "s3://photos",
                                             "PYTHONPATH": str(fake.parent)})
    assert done.returncode == 2
    assert lines(done.stderr) == ["gallery: S3 storage needs boto3: pip install 'gallery[s3]'"]


def test_a_command_on_a_folder_no_server_made_warns_once(tmp_path: Path) -> None:
    first = run(["users", "list"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert lines(first.stderr) == [
        f"gallery: warning: no GALLERY_STORAGE set: using ./data ({tmp_path / 'data'}), which "
        "does not exist yet; a server started elsewhere may use another bucket"]
    assert "No users yet" in first.stdout
    again = run(["users", "list"], tmp_path)  # the folder exists now
    assert (again.returncode, again.stderr) == (0, "")


def test_a_named_folder_that_does_not_exist_and_memory_warn(tmp_path: Path) -> None:
    named = run(["users", "list"], tmp_path, {"GALLERY_STORAGE": "file://./photos"})
    assert lines(named.stderr) == [
        f"gallery: warning: GALLERY_STORAGE names {tmp_path / 'photos'}, which does not exist "
        "yet: this command starts a new, empty gallery there"]
    memory = run(["users", "list"], tmp_path, {"GALLERY_STORAGE": "memory://"})
    assert lines(memory.stderr) == ["gallery: warning: GALLERY_STORAGE=memory:// keeps nothing "
                                    "after this command; no server will see what it does"]


def test_the_gallery_groups_commands_are_at_the_top(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    short = run(["stats", "--json"], tmp_path)
    long = run(["gallery", "stats", "--json"], tmp_path)
    assert short.returncode == long.returncode == 0, short.stderr + long.stderr
    assert '"image_count": 0' in short.stdout and short.stdout == long.stdout
    unknown = run(["nonsense"], tmp_path)
    assert unknown.returncode == 2 and "No such command 'nonsense'" in unknown.stderr
