"""The local-folder backend: the storage contract, and what only a folder can get wrong."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest

from gallery.errors import ObjectNotFound, StorageConfigError, StorageUnavailable
from gallery.storage.local import FileStorage
from tests.storage.contract import StorageContract, StorageFactory


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


class TestFileStorage(StorageContract):
    @pytest.fixture
    def storage(self, root: Path) -> FileStorage:
        return FileStorage(root)

    @pytest.fixture
    def storage_factory(self, root: Path) -> StorageFactory:
        return lambda: FileStorage(root)


@pytest.fixture
def storage(root: Path) -> FileStorage:
    return FileStorage(root)


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(root) for f in files]


def test_creates_the_folder_and_describes_it(root: Path) -> None:
    storage = FileStorage(root / "deeper")
    assert (root / "deeper").is_dir()
    assert storage.describe() == (root / "deeper").resolve().as_uri()
    assert storage.scheme == "file"


def test_relative_root_is_fixed_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = FileStorage("data")
    storage.put("k", b"v")
    monkeypatch.chdir(tmp_path.parent)
    assert storage.get("k") == b"v"
    assert (tmp_path / "data").is_dir()


def test_root_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageConfigError, match="storage folder"):
        FileStorage(blocker / "inside")


def test_keys_are_plain_file_names(storage: FileStorage, root: Path) -> None:
    storage.put("images/0a1b/sm.webp", b"webp", content_type="image/webp")
    storage.put("images", b"a key beside the folder of the same name")
    assert (root / "images~" / "0a1b~" / "sm.webp").read_bytes() == b"webp"
    meta = json.loads((root / "images~" / "0a1b~" / ".sm.webp.meta").read_bytes())
    assert (meta["key"], meta["content_type"]) == ("images/0a1b/sm.webp", "image/webp")
    assert (root / "images").read_bytes().startswith(b"a key")
    assert [i.key for i in storage.list()] == ["images", "images/0a1b/sm.webp"]


def _write_as_earlier_releases(root: Path, key: str, data: bytes, content_type: str,
                               version: str) -> None:
    """An object as every earlier release laid it out: folders ``<seg>~``, the bytes
    under the last segment, and ``.<seg>.meta`` describing exactly that file."""
    *dirs, last = key.split("/")
    folder = root.joinpath(*(d + "~" for d in dirs))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / last).write_bytes(data)
    st = (folder / last).stat()
    meta = {"key": key, "version": version, "content_type": content_type,
            "time_ns": 1_764_000_000_000_000_000, "size": st.st_size, "ino": st.st_ino,
            "mtime_ns": st.st_mtime_ns}
    (folder / f".{last}.meta").write_text(json.dumps(meta, ensure_ascii=False))


def test_a_folder_written_by_an_earlier_release_opens(root: Path) -> None:
    image = "0123456789abcdef0123456789abcdef"
    old = {
        "index.json": (b'{"format": 2}', "application/json", "18f0a1b2c3d4e5f6a1b2c3d4"),
        f"images/{image}/original": (b"\xff\xd8jpeg", "image/jpeg", "18f0a1b2c3d4e5f7a1b2c3d5"),
        f"images/{image}/sm.webp": (b"RIFFwebp", "image/webp", "18f0a1b2c3d4e5f8a1b2c3d6"),
        "secret_key": (b"s" * 32, "text/plain", "18f0a1b2c3d4e5f9a1b2c3d7"),
    }
    for key, (data, content_type, version) in old.items():
        _write_as_earlier_releases(root, key, data, content_type, version)
    (root / ".locks").mkdir()
    # Names earlier releases made for keys outside today's alphabet (a prefix
    # "Photos", a hashed long segment): never the gallery's own, and ignored.
    _write_as_earlier_releases(root / "%50hotos~", "index", b"{}", "application/json", "1")
    (root / ("x" * 150 + "~h" + "0" * 40)).write_bytes(b"long")

    storage = FileStorage(root)
    for key, (data, content_type, version) in old.items():
        got, info = storage.read(key)
        assert (got, info.content_type, info.version) == (data, content_type, version)
        assert storage.stat(key) == info
    assert [i.key for i in storage.list()] == sorted(old)
    assert [i.version for i in storage.list("images/")] == [
        old[f"images/{image}/original"][2], old[f"images/{image}/sm.webp"][2]]
    # ... and it is written on as before: conditionally on the version it had.
    storage.put("index.json", b'{"format": 3}', content_type="application/json",
                if_version=old["index.json"][2])
    assert storage.get("index.json") == b'{"format": 3}'


def test_temp_files_are_never_listed(storage: FileStorage, root: Path) -> None:
    storage.put("t/kept", b"1")
    (root / "t~" / ".~tmp-0123456789abcdef").write_bytes(b"half written")
    (root / "Stray File.txt").write_bytes(b"not ours")
    (root / "UPPER").write_bytes(b"not ours either")

    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(errno.EIO, "source failed")
            return b"x" * 1000

    with pytest.raises(OSError, match="source failed"):
        storage.put("t/broken", Broken())  # type: ignore[arg-type]
    assert [i.key for i in storage.list()] == ["t/kept"]
    assert not storage.exists("t/broken")
    leftovers = [p.name for p in _files(root) if p.name.startswith(".~tmp-")]
    assert leftovers == [".~tmp-0123456789abcdef"]  # only the one planted above


def test_local_path_holds_exactly_the_bytes(storage: FileStorage) -> None:
    storage.put("images/abc/original", b"\x89PNG exact", content_type="image/png")
    path = storage.local_path("images/abc/original")
    assert Path(path).read_bytes() == b"\x89PNG exact"
    assert path.endswith("original")
    with pytest.raises(ObjectNotFound):
        storage.local_path("images/abc/missing")


def test_readers_see_only_complete_versions(storage: FileStorage) -> None:
    size = 2 * 1024 * 1024
    payloads = [b"A" * size, b"B" * size]
    letter_of = {storage.put("atomic", payloads[0]).version: b"A"}
    stop = threading.Event()

    def writer() -> None:
        for i in range(1, 500):  # bounded
            if stop.is_set():
                return
            payload = payloads[i % 2]
            letter_of[storage.put("atomic", payload).version] = payload[:1]

    seen: list[tuple[bytes, str]] = []
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(100):
            data, info = storage.read("atomic")
            assert data in payloads
            assert info.size == size
            seen.append((data[:1], info.version))
            with storage.open("atomic") as stream:
                head = stream.read(1)
                assert stream.read() == head * (size - 1)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert len(letter_of) > 1  # the writer did run meanwhile
    # Every read came with the version of exactly the bytes it returned.
    assert all(letter_of[version] == letter for letter, version in seen)


def test_bytes_without_metadata_still_work(storage: FileStorage, root: Path) -> None:
    # What a crash between the two renames of a first write leaves behind.
    storage.put("crash/k", b"data", content_type="text/plain")
    (root / "crash~" / ".k.meta").unlink()
    data, info = storage.read("crash/k")
    assert data == b"data"
    assert info.content_type == "application/octet-stream"
    assert storage.stat("crash/k").version == info.version
    assert [i.key for i in storage.list("crash/")] == ["crash/k"]
    updated = storage.put("crash/k", b"new", content_type="text/plain", if_version=info.version)
    assert storage.read("crash/k") == (b"new", updated)


def test_delete_prunes_empty_folders(storage: FileStorage, root: Path) -> None:
    storage.put("x/y/z", b"1")
    storage.put("x/keep", b"2")
    storage.delete("x/y/z")
    assert not (root / "x~" / "y~").exists()
    assert (root / "x~").is_dir()
    storage.put("x/y/z", b"3")
    assert storage.get("x/y/z") == b"3"


def test_big_folder_pages(storage: FileStorage) -> None:
    keys = [f"many/{i:04d}/original" for i in range(120)]
    for key in keys:
        storage.put(key, b".")
    pages = []
    token = None
    for _ in range(10):
        page = storage.list_page("many/", page_size=50, page_token=token)
        pages.append([i.key for i in page.items])
        token = page.next_token
        if token is None:
            break
    assert [k for page in pages for k in page] == keys
    assert len(pages) == 3


def test_full_disk_is_unavailable_and_leaves_nothing(
    storage: FileStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageUnavailable, match="full") as caught:
        storage.put("full/k", b"data")
    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.undo()
    assert not storage.exists("full/k")
    assert [p for p in _files(root) if p.name.startswith(".~tmp-")] == []


def test_unwritable_folder_is_a_config_error(
    storage: FileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def denied(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        if os.path.basename(path).startswith(".~tmp-"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(StorageConfigError, match="permissions"):
        storage.put("denied", b"x")
