"""JSON documents in the bucket: cached reads revalidated by version."""

from __future__ import annotations

from gallery.documents import JsonDocument
from gallery.storage.memory import MemoryStorage
from tests.support.faulty import FaultyStorage

KEY = "doc.json"


def document(storage) -> JsonDocument[dict]:
    return JsonDocument(storage, KEY, empty=lambda: {"n": 0})


def test_cached_read_downloads_only_when_the_version_changed():
    storage = FaultyStorage(MemoryStorage())
    reader, writer = document(storage), document(storage)  # two workers on one bucket

    assert reader.load_cached().value == {"n": 0}  # absent: the empty value
    writer.update(lambda value: value.update(n=1))
    assert reader.load_cached().value == {"n": 1}
    reads = storage.calls["read"]

    for _ in range(3):
        assert reader.load_cached().value == {"n": 1}
    assert storage.calls["read"] == reads  # unchanged: checked by stat, not downloaded

    writer.update(lambda value: value.update(n=2))
    reads = storage.calls["read"]
    loaded = reader.load_cached()
    assert loaded.value == {"n": 2}
    assert loaded.version == storage.stat(KEY).version
    assert storage.calls["read"] == reads + 1  # changed: downloaded once


def test_cached_read_sees_a_deleted_document_as_empty():
    storage = MemoryStorage()
    doc = document(storage)
    doc.update(lambda value: value.update(n=5))
    assert doc.load_cached().value == {"n": 5}
    storage.delete(KEY)
    assert doc.load_cached().value == {"n": 0}
