"""``open_storage`` turns a GALLERY_STORAGE URL into the backend it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from gallery.errors import ConfigError
from gallery.storage import open_storage
from gallery.storage.local import FileStorage
from gallery.storage.memory import MemoryStorage


def test_memory() -> None:
    first, second = open_storage("memory://"), open_storage("memory://")
    assert isinstance(first, MemoryStorage)
    first.put("k", b"1")
    assert not second.exists("k")  # each URL opening is its own bucket


def test_relative_folder_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = open_storage("file://./data")
    assert isinstance(storage, FileStorage)
    storage.put("k", b"1")
    assert Path(storage.root) == tmp_path / "data"
    assert storage.describe() == (tmp_path / "data").as_uri()


def test_absolute_folder(tmp_path: Path) -> None:
    storage = open_storage(f"file://{tmp_path}/abs")
    assert isinstance(storage, FileStorage)
    assert Path(storage.root) == tmp_path / "abs"
    assert (tmp_path / "abs").is_dir()


def test_percent_encoded_folder_and_whitespace(tmp_path: Path) -> None:
    storage = open_storage(f"  file://{tmp_path}/with%20space\n")
    assert Path(storage.root) == tmp_path / "with space"


def test_folder_shared_between_openings(tmp_path: Path) -> None:
    url = (tmp_path / "shared").as_uri()
    open_storage(url).put("k", b"1")
    assert open_storage(url).get("k") == b"1"


def test_scheme_is_case_insensitive() -> None:
    assert isinstance(open_storage("MEMORY://"), MemoryStorage)


@pytest.mark.parametrize("url", ["s4://bucket", "ftp://host/x", "data", ""])
def test_unknown_scheme_says_what_is_known(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_storage(url)
    message = str(caught.value)
    assert "memory://" in message and "file://" in message and "gs://" in message


def test_file_without_folder() -> None:
    with pytest.raises(ConfigError, match="file://./data"):
        open_storage("file://")


def test_gs_without_bucket() -> None:
    with pytest.raises(ConfigError, match="no bucket"):
        open_storage("gs://")
