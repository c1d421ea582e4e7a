"""The storage contract: what every backend must do, written once.

A backend's test module subclasses :class:`StorageContract` and supplies two
fixtures:

* ``storage``: a backend over an empty bucket (a fresh one for each test);
* ``storage_factory``: a callable returning another, *separate* client of the
  same bucket, so races run between two clients as they would between two
  processes (for ``memory://`` it returns the very same instance).

The suite stays small in round trips: it also runs against a GCS emulator over
HTTP.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gallery.errors import ObjectNotFound, PreconditionFailed, StorageError
from gallery.storage.base import DEFAULT_CONTENT_TYPE, InvalidKey, ObjectInfo, Storage

StorageFactory = Callable[[], Storage]

BIG_SIZE = 20 * 1024 * 1024
BIG_BLOCK = 1024 * 1024

#: Keys in byte order, every character of the key alphabet among them: '-' and '.'
#: sort below '/', digits above it, then '_', then the letters.
ORDERED_KEYS = [
    "0",
    "a",
    "a-b",
    "a.b",
    "a/b",
    "a/b/c",
    "a0",
    "a_b",
    "ab",
    "z",
]

#: The longest key: 512 characters, in segments of the most a segment may have (128).
LONGEST_KEY = "/".join(["k" * 128] * 3 + ["v" * 125])

INVALID_KEYS = [
    "",
    "/a",
    "a/",
    "a//b",
    "a/./b",
    "a/../b",
    "..",
    ".hidden",
    "a/.meta",
    "a\x00b",
    "a\nb",
    "A",
    "Mixed/Case",
    "é",
    "日本/写真.jpg",
    "a b",
    "a~",
    "100%/a%2Fb",
    "a:b",
    "a\\b",
    "x" * 129,
    LONGEST_KEY + "x",
    "/".join(["x"] * 257),
]


class PatternStream(io.RawIOBase):
    """A readable stream of ``size`` pseudo-random bytes made on the fly, hashing as it goes.

    Only one block is ever held, so a test can write a large object without
    keeping a copy of it.
    """

    def __init__(self, size: int, seed: int = 7) -> None:
        self._left = size
        self._block = random.Random(seed).randbytes(BIG_BLOCK)
        self._index = 0
        self._pending = b""
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending and self._left:
            take = min(self._left, BIG_BLOCK)
            self._pending = self._index.to_bytes(8, "big") + self._block[8:take]
            self._pending = self._pending[:take]
            self._index += 1
            self._left -= take
            self.sha256.update(self._pending)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _keys(items: list[ObjectInfo]) -> list[str]:
    return [info.key for info in items]


def _fill(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        storage.put(key, key.encode("utf-8"), content_type="text/plain")


class StorageContract:
    """Every operation of :class:`gallery.storage.base.Storage`, as all backends must do it."""

    #: Whether listing items carry the content type (S3 listings do not: their items say "").
    listings_carry_content_type = True
    #: Whether the version is a hash of the bytes (S3 ETags): the same bytes keep it.
    version_is_content_hash = False

    # -- put and read ------------------------------------------------------------

    def test_put_bytes_then_read(self, storage: Storage) -> None:
        info = storage.put("doc/one.txt", b"hello", content_type="text/plain")
        assert (info.key, info.size, info.content_type) == ("doc/one.txt", 5, "text/plain")
        data, read_info = storage.read("doc/one.txt")
        assert data == b"hello"
        assert read_info == storage.stat("doc/one.txt")
        assert read_info.version == info.version
        assert storage.get("doc/one.txt") == b"hello"

    def test_put_stream_keeps_content_type(self, storage: Storage) -> None:
        payload = bytes(range(256)) * 1000
        with io.BytesIO(payload) as stream:
            info = storage.put("stream.bin", stream, content_type="image/png")
        assert info.size == len(payload)
        data, read_info = storage.read("stream.bin")
        assert data == payload
        assert read_info.content_type == "image/png"

    def test_put_bytearray_and_memoryview(self, storage: Storage) -> None:
        storage.put("ba", bytearray(b"array"))
        storage.put("mv", memoryview(b"xxview")[2:])
        assert storage.get("ba") == b"array"
        assert storage.get("mv") == b"view"

    def test_default_content_type(self, storage: Storage) -> None:
        storage.put("plain", b"x")
        assert storage.stat("plain").content_type == DEFAULT_CONTENT_TYPE

    def test_empty_object(self, storage: Storage) -> None:
        info = storage.put("empty", b"", content_type="text/plain")
        assert info.size == 0
        data, read_info = storage.read("empty")
        assert data == b""
        assert read_info.size == 0
        with storage.open("empty") as stream:
            assert stream.read() == b""
        assert _keys(list(storage.list())) == ["empty"]

    def test_overwrite_replaces_bytes_type_and_version(self, storage: Storage) -> None:
        first = storage.put("k", b"first", content_type="text/plain")
        second = storage.put("k", b"second!", content_type="application/json")
        assert second.version != first.version
        data, info = storage.read("k")
        assert data == b"second!"
        assert (info.size, info.content_type, info.version) == (7, "application/json", second.version)

    def test_same_bytes_again_still_new_version(self, storage: Storage) -> None:
        first = storage.put("same", b"x")
        second = storage.put("same", b"x")
        if self.version_is_content_hash:
            assert first.version == second.version
            assert storage.put("same", b"y").version != first.version
        else:
            assert first.version != second.version

    def test_stat(self, storage: Storage) -> None:
        before = datetime.now(UTC)
        put_info = storage.put("s/t", b"12345", content_type="image/webp")
        info = storage.stat("s/t")
        assert info == put_info
        assert (info.key, info.size, info.content_type) == ("s/t", 5, "image/webp")
        assert isinstance(info.version, str) and info.version
        assert info.updated.tzinfo is not None
        assert info.updated.utcoffset() == timedelta(0)
        # Generous: the emulator or the disk may keep another clock.
        assert abs(info.updated - before) < timedelta(minutes=10)

    def test_exists(self, storage: Storage) -> None:
        assert not storage.exists("e")
        storage.put("e/f", b"1")
        assert storage.exists("e/f")
        assert not storage.exists("e")  # a prefix is not an object
        assert not storage.exists("e/f/g")

    def test_key_and_longer_key_coexist(self, storage: Storage) -> None:
        storage.put("a", b"short")
        storage.put("a/b", b"longer")
        storage.put("a/b/c", b"longest")
        assert storage.get("a") == b"short"
        assert storage.get("a/b") == b"longer"
        assert storage.get("a/b/c") == b"longest"
        storage.delete("a/b")
        assert storage.get("a") == b"short"
        assert storage.get("a/b/c") == b"longest"

    def test_every_character_of_the_alphabet(self, storage: Storage) -> None:
        keys = ["abcdefghijklmnopqrstuvwxyz/0123456789", "_x/-y", "x./y..z", "trash/a-b_c.d"]
        for key in keys:
            storage.put(key, key.encode())
        for key in keys:
            assert storage.get(key) == key.encode()
        assert _keys(list(storage.list())) == sorted(keys)

    def test_longest_key(self, storage: Storage) -> None:
        assert len(LONGEST_KEY) == 512
        storage.put(LONGEST_KEY, b"long")
        assert storage.get(LONGEST_KEY) == b"long"
        assert _keys(list(storage.list())) == [LONGEST_KEY]

    # -- streams ------------------------------------------------------------------

    def test_open_streams(self, storage: Storage) -> None:
        payload = b"0123456789" * 10_000
        storage.put("o", payload)
        with storage.open("o") as stream:
            assert stream.read(10) == b"0123456789"
            rest = stream.read()
        assert len(rest) == len(payload) - 10

    def test_big_object_streamed_both_ways(self, storage: Storage) -> None:
        with PatternStream(BIG_SIZE) as source:
            info = storage.put("big/object", source, content_type="application/octet-stream")
            expected = source.sha256.hexdigest()
        assert info.size == BIG_SIZE
        assert storage.stat("big/object").size == BIG_SIZE
        digest = hashlib.sha256()
        total = 0
        with storage.open("big/object") as stream:
            while chunk := stream.read(BIG_BLOCK):
                digest.update(chunk)
                total += len(chunk)
        assert total == BIG_SIZE
        assert digest.hexdigest() == expected

    # -- listing -----------------------------------------------------------------

    def test_list_order_is_byte_order(self, storage: Storage) -> None:
        shuffled = ORDERED_KEYS[:]
        random.Random(3).shuffle(shuffled)
        _fill(storage, shuffled)
        listed = _keys(list(storage.list()))
        assert listed == ORDERED_KEYS
        assert listed == sorted(ORDERED_KEYS)

    def test_list_items_carry_size_type_and_version(self, storage: Storage) -> None:
        storage.put("i/one", b"1", content_type="text/plain")
        put = storage.put("i/three", b"333", content_type="image/gif")
        items = list(storage.list("i/"))
        listed = self.listings_carry_content_type
        assert [(i.key, i.size, i.content_type) for i in items] == [
            ("i/one", 1, "text/plain" if listed else ""),
            ("i/three", 3, "image/gif" if listed else ""),
        ]
        assert items[1].version == put.version
        assert items[1].updated.tzinfo is not None

    def test_list_prefix(self, storage: Storage) -> None:
        _fill(storage, ORDERED_KEYS)
        assert _keys(list(storage.list("a"))) == ["a", "a-b", "a.b", "a/b", "a/b/c", "a0", "a_b", "ab"]
        assert _keys(list(storage.list("a/"))) == ["a/b", "a/b/c"]
        assert _keys(list(storage.list("a/b"))) == ["a/b", "a/b/c"]
        assert _keys(list(storage.list("a."))) == ["a.b"]
        assert _keys(list(storage.list("0"))) == ["0"]
        assert list(storage.list("nothing/")) == []
        assert list(storage.list("a/b/c/")) == []

    def test_list_offsets(self, storage: Storage) -> None:
        _fill(storage, ORDERED_KEYS)
        assert _keys(list(storage.list(start_offset="a/b"))) == ORDERED_KEYS[4:]
        assert _keys(list(storage.list(end_offset="a/b"))) == ORDERED_KEYS[:4]
        assert _keys(list(storage.list(start_offset="a-", end_offset="ab"))) == [
            "a-b", "a.b", "a/b", "a/b/c", "a0", "a_b"
        ]
        assert _keys(list(storage.list("a", start_offset="a/"))) == ["a/b", "a/b/c", "a0", "a_b", "ab"]
        assert _keys(list(storage.list("a/", end_offset="a/b/"))) == ["a/b"]
        assert list(storage.list(start_offset="b", end_offset="b")) == []

    def test_list_pages(self, storage: Storage) -> None:
        keys = [f"p/{i:02d}" for i in range(23)]
        _fill(storage, keys)
        storage.put("q/other", b"not listed")
        seen: list[str] = []
        token: str | None = None
        pages = 0
        for _ in range(20):  # bounded
            page = storage.list_page("p/", page_size=5, page_token=token)
            pages += 1
            assert len(page.items) <= 5
            seen += _keys(page.items)
            token = page.next_token
            if token is None:
                break
        assert seen == keys
        assert pages == 5
        assert _keys(list(storage.list("p/", page_size=4))) == keys

    def test_list_pages_with_offsets(self, storage: Storage) -> None:
        keys = [f"o/{i:02d}" for i in range(12)]
        _fill(storage, keys)
        first = storage.list_page("o/", start_offset="o/03", end_offset="o/10", page_size=3)
        assert _keys(first.items) == ["o/03", "o/04", "o/05"]
        assert first.next_token is not None
        rest = list(storage.list("o/", start_offset="o/03", end_offset="o/10", page_size=3))
        assert _keys(rest) == keys[3:10]

    def test_list_page_exact_fit_has_no_next_token(self, storage: Storage) -> None:
        _fill(storage, ["x/1", "x/2", "x/3"])
        page = storage.list_page("x/", page_size=3)
        assert _keys(page.items) == ["x/1", "x/2", "x/3"]
        assert page.next_token is None

    def test_list_empty_bucket(self, storage: Storage) -> None:
        page = storage.list_page()
        assert page.items == [] and page.next_token is None

    @pytest.mark.parametrize("page_size", [0, -1, 1001])
    def test_list_rejects_bad_page_size(self, storage: Storage, page_size: int) -> None:
        with pytest.raises(ValueError):
            storage.list_page(page_size=page_size)

    # -- delete -----------------------------------------------------------------

    def test_delete(self, storage: Storage) -> None:
        storage.put("d/gone", b"1")
        storage.put("d/kept", b"2")
        storage.delete("d/gone")
        assert not storage.exists("d/gone")
        assert _keys(list(storage.list("d/"))) == ["d/kept"]
        with pytest.raises(ObjectNotFound) as caught:
            storage.delete("d/gone")
        assert caught.value.key == "d/gone"
        storage.delete("d/gone", missing_ok=True)
        assert storage.get("d/kept") == b"2"

    def test_put_after_delete(self, storage: Storage) -> None:
        storage.put("again", b"1")
        storage.delete("again")
        storage.put("again", b"2", if_absent=True)
        assert storage.get("again") == b"2"

    # -- conditional writes ------------------------------------------------------

    def test_if_absent(self, storage: Storage) -> None:
        created = storage.put("cond/new", b"first", content_type="text/plain", if_absent=True)
        with pytest.raises(PreconditionFailed) as caught:
            storage.put("cond/new", b"second", if_absent=True)
        assert caught.value.key == "cond/new"
        data, info = storage.read("cond/new")
        assert data == b"first"
        assert info.version == created.version

    def test_if_version(self, storage: Storage) -> None:
        first = storage.put("cond/v", b"1")
        second = storage.put("cond/v", b"2", if_version=first.version)
        assert second.version != first.version
        with pytest.raises(PreconditionFailed):
            storage.put("cond/v", b"stale", if_version=first.version)
        data, info = storage.read("cond/v")
        assert (data, info.version) == (b"2", second.version)

    def test_if_version_on_missing(self, storage: Storage) -> None:
        other = storage.put("cond/elsewhere", b"x")
        with pytest.raises(PreconditionFailed):
            storage.put("cond/missing", b"x", if_version=other.version)
        assert not storage.exists("cond/missing")

    def test_if_version_after_delete(self, storage: Storage) -> None:
        info = storage.put("cond/deleted", b"x")
        storage.delete("cond/deleted")
        with pytest.raises(PreconditionFailed):
            storage.put("cond/deleted", b"y", if_version=info.version)
        assert not storage.exists("cond/deleted")

    def test_both_conditions_rejected(self, storage: Storage) -> None:
        info = storage.put("cond/both", b"x")
        with pytest.raises(ValueError):
            storage.put("cond/both", b"y", if_absent=True, if_version=info.version)
        assert storage.get("cond/both") == b"x"

    def test_racing_creators_exactly_one_wins(
        self, storage: Storage, storage_factory: StorageFactory
    ) -> None:
        writers = 6
        clients = [storage_factory() for _ in range(writers)]
        barrier = threading.Barrier(writers)
        outcomes: list[str | None] = [None] * writers

        def create(i: int) -> None:
            barrier.wait(timeout=30)
            try:
                clients[i].put("race/once", f"writer {i}".encode(), if_absent=True)
                outcomes[i] = "won"
            except PreconditionFailed:
                outcomes[i] = "lost"
            except StorageError as err:  # pragma: no cover - reported below
                outcomes[i] = repr(err)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert outcomes.count("won") == 1, outcomes
        assert outcomes.count("lost") == writers - 1, outcomes
        winner = outcomes.index("won")
        assert storage.get("race/once") == f"writer {winner}".encode()

    def test_compare_and_swap_counter_loses_no_update(
        self, storage: Storage, storage_factory: StorageFactory
    ) -> None:
        threads_count, increments = 4, 10
        storage.put("race/counter", b"0", if_absent=True)
        clients = [storage_factory() for _ in range(threads_count)]
        barrier = threading.Barrier(threads_count)
        conflicts = [0] * threads_count
        errors: list[str] = []

        def work(i: int) -> None:
            client = clients[i]
            barrier.wait(timeout=30)
            done = 0
            for _ in range(increments * 50):  # bounded retries
                if done == increments:
                    return
                data, info = client.read("race/counter")
                try:
                    client.put("race/counter", str(int(data) + 1).encode(), if_version=info.version)
                except PreconditionFailed:
                    conflicts[i] += 1
                    continue
                done += 1
            errors.append(f"client {i} ran out of retries after {done} increments")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert int(storage.get("race/counter")) == threads_count * increments

    # -- keys and errors ---------------------------------------------------------

    @pytest.mark.parametrize("key", INVALID_KEYS)
    def test_invalid_keys_rejected(self, storage: Storage, key: str) -> None:
        with pytest.raises(InvalidKey):
            storage.put(key, b"x")
        with pytest.raises(InvalidKey):
            storage.read(key)
        with pytest.raises(InvalidKey):
            storage.stat(key)
        with pytest.raises(InvalidKey):
            storage.delete(key, missing_ok=True)
        with pytest.raises(InvalidKey):
            storage.open(key)

    @pytest.mark.parametrize(
        "operation",
        [
            pytest.param(lambda s, k: s.read(k), id="read"),
            pytest.param(lambda s, k: s.get(k), id="get"),
            pytest.param(lambda s, k: s.stat(k), id="stat"),
            pytest.param(lambda s, k: s.open(k).close(), id="open"),
            pytest.param(lambda s, k: s.delete(k), id="delete"),
        ],
    )
    def test_missing_object(self, storage: Storage, operation: Callable[[Storage, str], object]) -> None:
        storage.put("missing/neighbour", b"x")
        with pytest.raises(ObjectNotFound) as caught:
            operation(storage, "missing/object")
        assert caught.value.key == "missing/object"
        assert caught.value.status == 404

    def test_prefix_of_a_key_is_not_an_object(self, storage: Storage) -> None:
        storage.put("dir/file", b"x")
        with pytest.raises(ObjectNotFound):
            storage.read("dir")
        with pytest.raises(ObjectNotFound):
            storage.stat("dir")

    def test_local_path_is_none_or_the_bytes(self, storage: Storage) -> None:
        storage.put("lp/object", b"exact bytes")
        path = storage.local_path("lp/object")
        if path is not None:
            with open(path, "rb") as f:
                assert f.read() == b"exact bytes"

    def test_describe(self, storage: Storage) -> None:
        text = storage.describe()
        assert isinstance(text, str) and text
        assert storage.scheme
