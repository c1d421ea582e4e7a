"""Shared fixtures.

Storage emulation: a real GCS JSON API server (fake-gcs-server) and a real S3
server (SeaweedFS) on loopback, each started once per session when a test needs
it, a fake Replit sidecar on 127.0.0.1:1106 per test, and a fresh bucket per
test so tests never see each other's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.gcs_server import GCSServer, emulator_env
from tests.support.s3_server import S3Server
from tests.support.sidecar import FakeSidecar, hold_port

#: Fixtures that use the fixed sidecar port.
_SIDECAR_FIXTURES = {"replit_sidecar", "no_sidecar"}


@pytest.fixture(autouse=True)
def _sidecar_port(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that use the sidecar port (or are about replit, whose fixtures may ask
    for it on the way) hold it for their whole run, so that the suite's parallel
    workers, or another run on this machine, never see each other's sidecar."""
    uses = set(request.fixturenames)
    if _SIDECAR_FIXTURES & uses or "replit" in request.node.nodeid.lower():
        with hold_port():
            yield
    else:
        yield


# --- storage emulation ------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    """fake-gcs-server for the session, with ``STORAGE_EMULATOR_HOST`` pointing at it."""
    with GCSServer() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_env(server.url).items():
            patch.setenv(name, value)
        yield server


@pytest.fixture
def gcs_bucket(gcs_server: GCSServer) -> str:
    """The name of a fresh, empty bucket on the emulator."""
    return gcs_server.create_bucket()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS for the session, with the ``AWS_*`` environment pointing at it."""
    with S3Server() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in server.env().items():
            patch.setenv(name, value)
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """The name of a fresh, empty bucket on the S3 server, removed after the test."""
    name = s3_server.create_bucket()
    yield name
    s3_server.delete_bucket(name)


@pytest.fixture
def replit_sidecar(gcs_server: GCSServer) -> Iterator[FakeSidecar]:
    """A fake Replit sidecar on 127.0.0.1:1106 (no default bucket until one is set)."""
    with FakeSidecar() as sidecar:
        yield sidecar


def _replit_target(
    gcs_server: GCSServer, sidecar: FakeSidecar, bucket: str, url: str
) -> dict[str, Any]:
    sidecar.default_bucket = bucket
    return {
        "url": url,
        "env": emulator_env(gcs_server.url),
        "bucket": bucket,
        "sidecar": sidecar,
    }


@pytest.fixture
def replit_bucket(
    gcs_server: GCSServer, replit_sidecar: FakeSidecar, gcs_bucket: str
) -> dict[str, Any]:
    """A fresh bucket reached as ``replit://BUCKET`` through the fake sidecar.

    Keys: ``url`` (the storage URL), ``env`` (what a child process needs on top
    of ``os.environ``), ``bucket`` (its name), ``sidecar`` (the FakeSidecar,
    whose default bucket is this one too).
    """
    return _replit_target(gcs_server, replit_sidecar, gcs_bucket, f"replit://{gcs_bucket}")


@pytest.fixture
def replit_default_bucket(
    gcs_server: GCSServer, replit_sidecar: FakeSidecar, gcs_bucket: str
) -> dict[str, Any]:
    """Like ``replit_bucket``, but the URL is ``replit://``: the sidecar names the bucket."""
    return _replit_target(gcs_server, replit_sidecar, gcs_bucket, "replit://")
