"""The media cache: originals and thumbnails from ``replit://`` kept on local disk.

Real HTTP on loopback, over the fake Replit sidecar and fake-gcs-server; the
storage is wrapped in a counter, so a request served from the cache is seen
to read nothing from the bucket.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import requests

from gallery.catalog.catalog import RECHECK_SECONDS
from gallery.config import load_settings
from gallery.errors import ConfigError, StorageUnavailable
from gallery.images.results import Actor
from gallery.media_cache import TEMP_PREFIX, MediaCache, default_folder
from gallery.storage import open_storage
from gallery.storage.local import FileStorage
from tests.imaging.fixtures import jpeg
from tests.support.counting import CountingStorage
from tests.web.harness import build_app, serve

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("ada", is_admin=True)


class CuttingStorage(CountingStorage):
    """Counts calls; while ``cut_after`` is set, every stream opened breaks after that
    many bytes, as a connection to the bucket dropping halfway does."""

    cut_after: int | None = None

    def open(self, key: str) -> BinaryIO:
        stream = super().open(key)
        return stream if self.cut_after is None else _Cut(stream, self.cut_after)


class _Cut:
    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self.inner, self.left = inner, limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise StorageUnavailable("The bucket stopped answering.")
        chunk = self.inner.read(min(size, self.left) if size and size > 0 else self.left)
        self.left -= len(chunk)
        return chunk

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def bucket(replit_bucket: dict[str, Any]) -> Iterator[CuttingStorage]:
    inner = open_storage(replit_bucket["url"], timeout=10)
    yield CuttingStorage(inner)
    inner.close()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def gallery(bucket: CuttingStorage, cache_dir: Path, request: pytest.FixtureRequest
            ) -> Iterator[tuple[Any, str]]:
    """The app over the bucket with its cache in ``cache_dir``, and its base URL.
    A test may add settings with ``@pytest.mark.parametrize("gallery", [{...}], indirect=True)``."""
    extra = getattr(request, "param", {})
    app = build_app(bucket, cache_dir=str(cache_dir), **extra)
    app.extensions["gallery"].accounts.create_user("ada", "correct horse battery", role="admin")
    with serve(app) as url:
        yield app.extensions["gallery"], url


def upload(runtime: Any, width: int = 900, height: int = 600, seed: int = 0) -> tuple[str, bytes]:
    data = jpeg(width + seed, height, quality=80)
    image = runtime.images.upload(data, f"photo-{seed}.jpg", uploaded_by="ada").image
    return image["id"], data


def entries(folder: Path) -> list[str]:
    """The cache's entries (temporary files included, which must not outlive a request)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def get(url: str, folder: Path, **kwargs: Any) -> requests.Response:
    """GET ``url``, then wait (briefly) until the server has finished with the response:
    the entry it filled settles just after the last byte is sent."""
    response = requests.get(url, timeout=30, **kwargs)
    settled(folder)
    return response


def settled(folder: Path) -> None:
    deadline = time.monotonic() + 5
    while any(name.startswith(TEMP_PREFIX) for name in entries(folder)):
        assert time.monotonic() < deadline, entries(folder)
        time.sleep(0.01)


def media_reads(bucket: CountingStorage, key: str) -> list[str]:
    return [op for op, k in bucket.keys if k == key]


def test_second_request_is_served_from_the_cache(gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    original = runtime.images.media(image_id)
    thumbnail = runtime.images.media(image_id, "sm")
    bucket.reset()

    first = get(f"{url}/media/{image_id}", cache_dir)
    assert first.status_code == 200
    assert first.content == data
    assert media_reads(bucket, original.key) == ["open"]
    assert entries(cache_dir) == [f"{image_id}.original.{hashlib.sha256(data).hexdigest()}"]

    bucket.reset()
    again = requests.get(f"{url}/media/{image_id}", timeout=30)
    assert again.status_code == 200
    assert again.content == data
    assert again.headers["ETag"] == first.headers["ETag"] == original.etag
    assert again.headers["Content-Type"] == "image/jpeg"
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert media_reads(bucket, original.key) == []

    small = get(f"{url}/media/{image_id}/sm", cache_dir).content
    bucket.reset()
    assert requests.get(f"{url}/media/{image_id}/sm", timeout=30).content == small
    assert media_reads(bucket, thumbnail.key) == []
    assert hashlib.sha256(small).hexdigest() == thumbnail.etag.strip('"')
    assert len(entries(cache_dir)) == 2

    revalidated = requests.get(f"{url}/media/{image_id}",
                               headers={"If-None-Match": original.etag}, timeout=30)
    assert revalidated.status_code == 304


def test_in_the_steady_state_a_hit_and_a_revalidation_ask_the_bucket_nothing(
        gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    original = get(f"{url}/media/{image_id}", cache_dir)
    small = get(f"{url}/media/{image_id}/sm", cache_dir)
    modified = original.headers["Last-Modified"]
    assert small.headers["Last-Modified"] == modified  # the upload time, from the catalog

    bucket.reset()
    assert requests.get(f"{url}/media/{image_id}", timeout=30).content == data
    assert requests.get(f"{url}/media/{image_id}/sm", timeout=30).content == small.content
    for headers in ({"If-None-Match": original.headers["ETag"]},
                    {"If-Modified-Since": modified},
                    {"If-None-Match": small.headers["ETag"]}):
        path = "/sm" if headers.get("If-None-Match") == small.headers["ETag"] else ""
        unchanged = requests.get(f"{url}/media/{image_id}{path}", headers=headers, timeout=30)
        assert unchanged.status_code == 304, headers
        assert unchanged.headers["ETag"] in (original.headers["ETag"], small.headers["ETag"])
    assert bucket.keys == []  # not a stat, not a read: the catalog was checked just now

    # An If-None-Match that does not match wins over a matching If-Modified-Since.
    stale = requests.get(f"{url}/media/{image_id}", timeout=30,
                         headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert stale.status_code == 200 and stale.content == data

    # Once the recheck interval is over, the catalog's root and shard are checked
    # (a stat each), and the bytes still come from the cache.
    time.sleep(RECHECK_SECONDS + 0.1)
    bucket.reset()
    assert requests.get(f"{url}/media/{image_id}", timeout=30).content == data
    assert sorted(op for op, _ in bucket.keys) == ["stat", "stat"]


def test_another_instance_stops_serving_a_deleted_image_within_the_recheck_interval(
        gallery, bucket, tmp_path) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    other_cache = tmp_path / "other-cache"
    elsewhere = build_app(bucket, cache_dir=str(other_cache))
    with serve(elsewhere) as other_url:
        assert get(f"{other_url}/media/{image_id}", other_cache).content == data
        runtime.images.delete(image_id, actor=ADMIN)
        deleted = time.monotonic()
        assert requests.get(f"{url}/media/{image_id}", timeout=30).status_code == 404
        while (status := requests.get(f"{other_url}/media/{image_id}",
                                      timeout=30).status_code) == 200:
            assert time.monotonic() - deleted < RECHECK_SECONDS + 1.5
            time.sleep(0.05)
        assert status == 404


def test_doctor_and_stats_describe_the_cache(gallery, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    get(f"{url}/media/{image_id}", cache_dir)
    check = next(c for c in runtime.operations.doctor() if c.name == "media cache")
    assert check.ok, check.message
    assert str(cache_dir) in check.message and "1 entry," in check.message
    figures = runtime.operations.stats()
    assert figures.cache is not None
    assert (figures.cache.entries, figures.cache.bytes) == (1, len(data))
    assert f"Media cache: 1 entry, {len(data)} bytes of at most 512000000" in figures.lines()[
        [line.startswith("Media cache") for line in figures.lines()].index(True)]
    assert figures.to_json()["cache"]["folder"] == str(cache_dir)

    cache_dir.chmod(0o755)  # others may read it: not used, and doctor says why
    runtime.media_cache._ready = False
    check = next(c for c in runtime.operations.doctor() if c.name == "media cache")
    assert not check.ok and "GALLERY_CACHE_DIR" in (check.fix or "")
    cache_dir.chmod(0o700)


def test_ranges_are_answered_from_the_cache(gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    key = runtime.images.media(image_id).key

    # A range of a file not cached yet comes from the bucket and fills nothing.
    part = requests.get(f"{url}/media/{image_id}", headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206
    assert part.content == data[:100]
    assert entries(cache_dir) == []

    get(f"{url}/media/{image_id}", cache_dir)
    bucket.reset()
    middle = requests.get(f"{url}/media/{image_id}", headers={"Range": "bytes=1000-1999"},
                          timeout=30)
    assert middle.status_code == 206
    assert middle.content == data[1000:2000]
    assert middle.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    tail = requests.get(f"{url}/media/{image_id}", headers={"Range": "bytes=-10"}, timeout=30)
    assert tail.content == data[-10:]
    assert media_reads(bucket, key) == []


def test_a_broken_stream_leaves_no_entry(gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime, 1600, 1200)
    bucket.cut_after = len(data) // 3

    try:  # the connection breaks, or stalls short of the length announced
        body: bytes | None = requests.get(f"{url}/media/{image_id}", timeout=(5, 2)).content
    except requests.exceptions.RequestException:
        body = None
    assert body != data
    settled(cache_dir)
    assert entries(cache_dir) == []

    bucket.cut_after = None
    whole = get(f"{url}/media/{image_id}", cache_dir)
    assert whole.content == data
    assert entries(cache_dir) == [f"{image_id}.original.{hashlib.sha256(data).hexdigest()}"]


def test_eviction_keeps_the_folder_under_budget(bucket, cache_dir) -> None:
    runtime = build_app(bucket).extensions["gallery"]
    runtime.accounts.create_user("ada", "correct horse battery", role="admin")
    images = [upload(runtime, 700, 500, seed) for seed in range(4)]
    biggest = max(len(data) for _, data in images)
    budget = biggest * 2 + biggest // 2  # two originals fit, three do not
    app = build_app(bucket, cache_dir=str(cache_dir), cache_bytes=str(budget))
    cache = app.extensions["gallery"].media_cache

    with serve(app) as url:
        for image_id, data in images:
            assert get(f"{url}/media/{image_id}", cache_dir).content == data
            assert cache.size() <= budget
        kept = [name.split(".")[0] for name in entries(cache_dir)]
        assert images[-1][0] in kept  # the last served stays, the first went first
        assert images[0][0] not in kept

        # An evicted image is fetched again, whole, and cached again.
        bucket.reset()
        first_id, first_data = images[0]
        assert get(f"{url}/media/{first_id}", cache_dir).content == first_data
        assert media_reads(bucket, runtime.images.media(first_id).key) == ["open"]
        assert first_id in [name.split(".")[0] for name in entries(cache_dir)]
        assert cache.size() <= budget


def test_deleting_an_image_drops_its_entries(gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, _ = upload(runtime)
    other_id, other = upload(runtime, seed=1)
    for path in (f"/media/{image_id}", f"/media/{image_id}/sm", f"/media/{other_id}"):
        assert get(url + path, cache_dir).status_code == 200
    assert len(entries(cache_dir)) == 3

    runtime.images.delete(image_id, actor=ADMIN)
    assert [name.split(".")[0] for name in entries(cache_dir)] == [other_id]
    assert requests.get(f"{url}/media/{image_id}", timeout=30).status_code == 404
    assert requests.get(f"{url}/media/{other_id}", timeout=30).content == other
    assert runtime.images.trash_ids() == {image_id}  # moved to the trash: dropped all the same
    runtime.images.restore(image_id, actor=ADMIN)
    assert get(f"{url}/media/{image_id}/sm", cache_dir).status_code == 200


@pytest.mark.parametrize("gallery", [{"cache_bytes": "0"}], indirect=True)
def test_cache_bytes_zero_turns_it_off(gallery, bucket, cache_dir) -> None:
    runtime, url = gallery
    image_id, data = upload(runtime)
    key = runtime.images.media(image_id).key
    assert runtime.media_cache is None
    bucket.reset()
    for _ in range(2):
        assert requests.get(f"{url}/media/{image_id}", timeout=30).content == data
    assert media_reads(bucket, key) == ["open", "open"]
    assert not cache_dir.exists()


def test_two_processes_filling_one_entry_both_serve_whole_files(
        replit_bucket, bucket, tmp_path) -> None:
    runtime = build_app(bucket).extensions["gallery"]
    runtime.accounts.create_user("ada", "correct horse battery", role="admin")
    image_id, data = upload(runtime, 2000, 1400)
    cache_dir, ready = tmp_path / "shared-cache", tmp_path / "ready"
    ready.mkdir()
    spec = json.dumps({"storage": replit_bucket["url"], "cache_dir": str(cache_dir),
                       "path": f"/media/{image_id}", "ready": str(ready), "peers": 2})
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")},
           **replit_bucket["env"]}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.media_cache_worker", spec],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    whole = {"status": 200, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert results == [whole, whole]
    name = f"{image_id}.original.{whole['sha256']}"
    assert entries(cache_dir) == [name]
    assert (cache_dir / name).read_bytes() == data


def test_only_backends_over_the_network_have_a_cache(tmp_path: Path) -> None:
    app = build_app(FileStorage(tmp_path / "bucket"), cache_dir=str(tmp_path / "cache"))
    assert app.extensions["gallery"].media_cache is None


def test_the_default_folder_is_per_user_and_bucket() -> None:
    one = default_folder("gs://photos (gcs)", "")
    assert one.parent.parent.name == f"gallery-{os.geteuid()}"
    assert one != default_folder("gs://photos (gcs)", "site/")
    assert one != default_folder("gs://other (gcs)", "")
    assert one == default_folder("gs://photos (gcs)", "")


def test_cache_settings() -> None:
    assert load_settings({})["cache_bytes"] == 512 * 10**6
    assert load_settings({})["cache_dir"] == ""
    assert load_settings({"GALLERY_CACHE_BYTES": "0"})["cache_bytes"] == 0
    assert load_settings({"GALLERY_CACHE_BYTES": "0MB"})["cache_bytes"] == 0
    assert load_settings({"GALLERY_CACHE_BYTES": "2GiB"})["cache_bytes"] == 2 * 2**30
    with pytest.raises(ConfigError, match="GALLERY_CACHE_BYTES"):
        load_settings({"GALLERY_CACHE_BYTES": "lots"})


def test_an_entry_of_the_wrong_size_is_never_served(tmp_path: Path) -> None:
    from gallery.images.results import Media
    from gallery.keys import Keys

    keys = Keys("")
    key = keys.original("a" * 32)
    data = b"x" * 100
    media = Media(key, "image/jpeg", len(data), f'"{hashlib.sha256(data).hexdigest()}"', "a.jpg")
    cache = MediaCache(tmp_path, 10_000, keys)
    path = cache.path(media)
    path.write_bytes(data[:50])
    assert cache.open(media) is None
    assert not path.exists()


def _media(data: bytes) -> tuple[Any, Any]:
    from gallery.images.results import Media
    from gallery.keys import Keys

    keys = Keys("")
    return keys, Media(keys.original("b" * 32), "image/jpeg", len(data),
                       f'"{hashlib.sha256(data).hexdigest()}"', "b.jpg")


def test_two_fills_of_one_entry_at_once_leave_one_whole_file(tmp_path: Path) -> None:
    import io

    data = os.urandom(300_000)
    keys, media = _media(data)
    cache = MediaCache(tmp_path / "cache", 10**6, keys)
    one, two = cache.filling(media, io.BytesIO(data)), cache.filling(media, io.BytesIO(data))
    served = [b"", b""]
    while True:  # the two copies grow side by side, as two workers' would
        chunks = [one.read(65536), two.read(65536)]
        if not any(chunks):
            break
        served = [served[0] + chunks[0], served[1] + chunks[1]]
        assert cache.open(media) is None  # nothing half-written is ever served
    one.close()
    with cache.open(media) as first:
        two.close()  # replaces the entry under an open reader
        assert first.read() == data
    assert served == [data, data]
    assert entries(tmp_path / "cache") == [cache.path(media).name]
    with cache.open(media) as again:
        assert again.read() == data


def test_a_folder_others_may_read_is_not_used(tmp_path: Path) -> None:
    import io

    data = b"y" * 1000
    keys, media = _media(data)
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    cache = MediaCache(folder, 10**6, keys)
    source = io.BytesIO(data)
    assert cache.filling(media, source) is source
    assert cache.open(media) is None
    assert entries(folder) == []
