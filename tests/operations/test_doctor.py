"""Doctor says what is wrong and how to fix it, one check at a time."""

from __future__ import annotations

import pytest

from gallery.catalog import Remove
from gallery.storage.memory import MemoryStorage
from tests.operations.conftest import build_runtime
from tests.support.faulty import FaultyStorage


def _by_name(checks):
    return {check.name: check for check in checks}


@pytest.fixture
def healthy(runtime, upload):
    runtime.accounts.create_user("ada", "a long password", "admin")
    upload(1)
    return runtime


def test_a_healthy_gallery_passes_every_check(healthy):
    checks = healthy.operations.doctor()
    assert [c.name for c in checks] == [
        "configuration", "storage reachable", "storage writable", "conditional writes",
        "libmagic", "image codecs", "free space", "media cache", "catalog", "meta.json",
        "albums and links", "site settings",
        "accounts", "admin account",
    ]
    failed = [c for c in checks if not c.ok]
    assert failed == []
    assert "lists all 1 images" in _by_name(checks)["catalog"].message
    assert "agrees with the catalog (1 checked)" in _by_name(checks)["meta.json"].message
    assert not list(healthy.storage.list(healthy.keys.doctor_prefix))  # the probe is gone


def test_no_admin(runtime):
    runtime.accounts.create_user("bob", "a long password", "uploader")
    check = _by_name(runtime.operations.doctor())["admin account"]
    assert not check.ok
    assert "no active admin" in check.message
    assert "users create NAME --role admin" in check.fix


@pytest.mark.parametrize("damaged", ["root", "shard"])
def test_broken_catalog(healthy, damaged):
    if damaged == "root":
        key = healthy.keys.index
    else:
        (key,) = [info.key for info in healthy.storage.list(healthy.keys.shards_prefix)]
    healthy.storage.put(key, b"{not json")
    checks = _by_name(build_runtime(healthy.storage).operations.doctor())
    assert not checks["catalog"].ok
    assert "damaged" in checks["catalog"].message
    assert "gallery reindex" in checks["catalog"].fix
    assert checks["storage reachable"].ok and checks["admin account"].ok


def test_catalog_that_lost_an_image(healthy, upload):
    lost = upload(2)
    healthy.images.catalog.apply([Remove(healthy.images.record(lost).key, lost)])
    check = _by_name(healthy.operations.doctor())["catalog"]
    assert not check.ok
    assert "lists 1 images but the bucket holds 2 originals" in check.message


def test_damaged_users_file(healthy):
    healthy.storage.put(healthy.keys.users, b"[]")
    checks = _by_name(healthy.operations.doctor())
    assert not checks["accounts"].ok and not checks["admin account"].ok
    # The fix names the exact command that brings the accounts back.
    assert "flask --app app users restore --backup" in checks["accounts"].fix


def test_unreachable_storage_fails_the_storage_checks():
    down = FaultyStorage(MemoryStorage())
    runtime = build_runtime(down)
    down.fail("*")
    checks = _by_name(runtime.operations.doctor())
    for name in ("storage reachable", "storage writable", "catalog", "meta.json",
                 "albums and links", "site settings", "accounts", "admin account"):
        assert not checks[name].ok, name
        assert "did not answer" in checks[name].message
    assert checks["storage reachable"].fix.startswith("Check GALLERY_STORAGE")
    assert checks["libmagic"].ok and checks["image codecs"].ok


def test_read_only_storage_fails_the_probe(healthy):
    faulty = FaultyStorage(healthy.storage, fail_on={"put"})
    runtime = build_runtime(faulty)
    checks = _by_name(runtime.operations.doctor())
    assert checks["storage reachable"].ok
    assert not checks["storage writable"].ok
    assert "may write" in checks["storage writable"].fix


def test_settings_that_contradict_each_other(storage):
    runtime = build_runtime(storage, max_file_bytes="300MB")
    check = _by_name(runtime.operations.doctor())["configuration"]
    assert not check.ok and "GALLERY_MAX_REQUEST_BYTES" in check.fix
