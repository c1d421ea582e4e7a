"""``gallery doctor`` proves the storage honours conditional writes, or says how to fix it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gallery.storage.base import DEFAULT_CONTENT_TYPE, Data, ListPage, ObjectInfo, Storage
from gallery.storage.memory import MemoryStorage
from gallery.storage.s3 import S3Storage
from tests.operations.conftest import build_runtime


class IgnoresConditions(Storage):
    """A storage that drops the conditions of writes, as some services silently do.

    ``ignore``: which conditions are dropped (``if_absent``, ``if_version``).
    """

    scheme = "ignores-conditions"

    def __init__(self, inner: Storage, ignore: frozenset[str]) -> None:
        self.inner = inner
        self.ignore = ignore

    def describe(self) -> str:
        return f"lax {self.inner.describe()}"

    def put(self, key: str, data: Data, *, content_type: str = DEFAULT_CONTENT_TYPE,
            if_absent: bool = False, if_version: str | None = None) -> ObjectInfo:
        return self.inner.put(
            key, data, content_type=content_type,
            if_absent=if_absent and "if_absent" not in self.ignore,
            if_version=None if "if_version" in self.ignore else if_version,
        )

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        self.inner.delete(key, missing_ok=missing_ok)

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        return self.inner.read(key)

    def open(self, key: str):  # type: ignore[no-untyped-def]
        return self.inner.open(key)

    def stat(self, key: str) -> ObjectInfo:
        return self.inner.stat(key)

    def list_page(self, prefix: str = "", **options) -> ListPage:  # type: ignore[no-untyped-def]
        return self.inner.list_page(prefix, **options)


@pytest.fixture(params=["memory", "s3"])
def bucket(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    backend = S3Storage(request.getfixturevalue("s3_bucket"), timeout=10)
    yield backend
    backend.close()


def _check(storage: Storage):  # type: ignore[no-untyped-def]
    (check,) = [c for c in build_runtime(storage).operations.doctor() if c.name == "conditional writes"]
    return check


def test_a_storage_that_honours_conditions_passes(bucket: Storage) -> None:
    check = _check(bucket)
    assert check.ok, check
    assert check.message == ("a second create and writes on a stale or deleted version were all "
                             "refused")
    assert list(bucket.list("g/doctor/")) == []  # the probe is gone


@pytest.mark.parametrize(("ignored", "said"), [
    (frozenset({"if_absent"}), "ignores If-None-Match"),
    (frozenset({"if_version"}), "ignores If-Match"),
    (frozenset({"if_absent", "if_version"}), "ignores If-None-Match"),
])
def test_a_storage_that_ignores_conditions_fails_with_the_fix(
    bucket: Storage, ignored: frozenset[str], said: str
) -> None:
    check = _check(IgnoresConditions(bucket, ignored))
    assert not check.ok
    assert said in check.message and check.message.startswith("lax ")
    assert "must not run on this storage" in check.fix
    assert "If-None-Match and If-Match on PutObject" in check.fix
    assert list(bucket.list("g/doctor/")) == []  # the probe is gone even so


def test_a_storage_that_ignores_a_version_on_a_missing_key_fails(bucket: Storage) -> None:
    class ResurrectsDeleted(IgnoresConditions):
        """Honours If-Match on objects that exist, ignores it on missing ones."""

        def put(self, key, data, *, content_type=DEFAULT_CONTENT_TYPE, if_absent=False,  # type: ignore[no-untyped-def]
                if_version=None):
            if if_version is not None and not self.inner.exists(key):
                if_version = None
            return super().put(key, data, content_type=content_type, if_absent=if_absent,
                               if_version=if_version)

    check = _check(ResurrectsDeleted(bucket, frozenset()))
    assert not check.ok
    assert "bring it back (it ignores If-Match on a missing object)" in check.message
    assert list(bucket.list("g/doctor/")) == []


def test_a_storage_that_refuses_every_conditional_write_fails() -> None:
    class Refuses(IgnoresConditions):
        def put(self, key, data, *, content_type=DEFAULT_CONTENT_TYPE, if_absent=False,  # type: ignore[no-untyped-def]
                if_version=None):
            from gallery.errors import PreconditionFailed

            if if_version is not None:
                raise PreconditionFailed(key)
            return super().put(key, data, content_type=content_type, if_absent=if_absent)

    check = _check(Refuses(MemoryStorage(), frozenset()))
    assert not check.ok
    assert "refused a write conditional on the current version" in check.message
