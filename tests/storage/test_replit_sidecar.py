"""How ``replit://`` deals with the sidecar: credentials, the default bucket, and its absence."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from replit.object_storage import Client, errors

from gallery.errors import ObjectNotFound, StorageConfigError, StorageUnavailable
from gallery.storage.replit import (
    NO_DEFAULT_BUCKET,
    SIDECAR_ABSENT,
    ReplitStorage,
    replit_sdk_errors,
    resolve_default_bucket,
    translate_replit_error,
)
from gallery.storage.retry import RetryPolicy
from tests.support import sidecar as sidecar_paths
from tests.support.gcs_server import GCSServer
from tests.support.sidecar import FakeSidecar

FAST_RETRY = RetryPolicy(attempts=2, initial=0.001, maximum=0.001, deadline=30)


@pytest.fixture
def backend(replit_bucket: dict[str, Any]) -> Iterator[ReplitStorage]:
    storage = ReplitStorage(replit_bucket["bucket"], timeout=10, retry=FAST_RETRY)
    yield storage
    storage.close()


def test_credentials_come_from_the_sidecar_token_exchange(
    backend: ReplitStorage, replit_sidecar: FakeSidecar
) -> None:
    assert replit_sidecar.hits[sidecar_paths.TOKEN] == 0  # nothing happens before first use
    backend.put("k", b"v")
    backend.get("k")
    assert replit_sidecar.hits[sidecar_paths.CREDENTIAL] == 1
    assert replit_sidecar.hits[sidecar_paths.TOKEN] == 1  # the token is kept and reused
    exchange = replit_sidecar.token_requests[0]
    assert "subject_token=fake-replit-subject-token" in exchange
    assert "audience=replit" in exchange
    assert "token-exchange" in exchange


def test_a_given_bucket_needs_no_default(replit_sidecar: FakeSidecar, gcs_bucket: str) -> None:
    replit_sidecar.default_bucket = None
    storage = ReplitStorage(gcs_bucket, timeout=10)
    try:
        assert storage.bucket_name == gcs_bucket
        assert replit_sidecar.hits[sidecar_paths.DEFAULT_BUCKET] == 0
    finally:
        storage.close()


def test_default_bucket_is_resolved(replit_default_bucket: dict[str, Any]) -> None:
    sidecar = replit_default_bucket["sidecar"]
    assert resolve_default_bucket() == replit_default_bucket["bucket"]
    storage = ReplitStorage(timeout=10)
    try:
        assert storage.bucket_name == replit_default_bucket["bucket"]
        assert sidecar.hits[sidecar_paths.DEFAULT_BUCKET] == 2
    finally:
        storage.close()


@pytest.mark.parametrize(
    ("default_bucket", "status"),
    [(None, None), ("", None), ("bucket", 403)],
    ids=["404-none-configured", "empty-bucket-id", "sidecar-refuses"],
)
def test_no_default_bucket_is_a_clear_configuration_error(
    replit_sidecar: FakeSidecar, default_bucket: str | None, status: int | None
) -> None:
    replit_sidecar.default_bucket = default_bucket
    replit_sidecar.bucket_status = status
    with pytest.raises(StorageConfigError) as caught:
        ReplitStorage()
    assert NO_DEFAULT_BUCKET in caught.value.message
    assert "Object Storage tool" in caught.value.message
    assert "replit://BUCKET_ID" in caught.value.message


def _port_is_free() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((sidecar_paths.HOST, sidecar_paths.PORT)) != 0


def test_absent_sidecar_does_not_stop_start_up(gcs_server: GCSServer, gcs_bucket: str) -> None:
    assert _port_is_free(), "something else listens on 127.0.0.1:1106"
    storage = ReplitStorage(timeout=2, retry=FAST_RETRY)  # starts: the bucket is found later
    try:
        assert "not known yet" in storage.describe()
        with pytest.raises(StorageUnavailable) as caught:
            storage.stat("k")
        assert caught.value.message == SIDECAR_ABSENT
        assert "file://./data" in caught.value.message
        with FakeSidecar(default_bucket=gcs_bucket):  # the sidecar comes up: no restart needed
            storage.put("k", b"v")
            assert storage.get("k") == b"v"
            assert storage.bucket_name == gcs_bucket
    finally:
        storage.close()


def test_failing_sidecar_is_transient_at_start(
    replit_sidecar: FakeSidecar, gcs_bucket: str
) -> None:
    replit_sidecar.default_bucket = gcs_bucket
    replit_sidecar.bucket_status = 500
    storage = ReplitStorage(timeout=2, retry=FAST_RETRY)
    try:
        with pytest.raises(StorageUnavailable, match="HTTP 500"):
            storage.stat("k")
        replit_sidecar.bucket_status = None
        storage.put("k", b"v")
        assert storage.get("k") == b"v"
    finally:
        storage.close()


def test_silent_sidecar_does_not_hang_start_up(gcs_server: GCSServer) -> None:
    # A listener that accepts connections and never answers.
    with socket.create_server((sidecar_paths.HOST, sidecar_paths.PORT)) as silent:
        silent.listen()
        storage = ReplitStorage(timeout=0.3, retry=FAST_RETRY)  # the probe waits at most this long
        try:
            with pytest.raises(StorageUnavailable, match="not answering"):
                storage.stat("k")  # and so does every call, retries included
        finally:
            storage.close()


def test_sidecar_gone_after_start_is_transient(
    replit_sidecar: FakeSidecar, gcs_bucket: str
) -> None:
    storage = ReplitStorage(gcs_bucket, timeout=5, retry=FAST_RETRY)
    try:
        replit_sidecar.stop()  # before the first token was fetched
        with pytest.raises(StorageUnavailable) as caught:
            storage.stat("k")
        assert "127.0.0.1:1106" in caught.value.message
    finally:
        storage.close()


def test_credentials_refused_is_a_configuration_error(
    replit_sidecar: FakeSidecar, gcs_bucket: str
) -> None:
    replit_sidecar.credential_status = 500
    storage = ReplitStorage(gcs_bucket, timeout=5, retry=FAST_RETRY)
    try:
        with pytest.raises(StorageConfigError, match="did not hand out credentials"):
            storage.put("k", b"v")
    finally:
        storage.close()


# --- the replit SDK's own errors --------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.ObjectNotFoundError("gone"), ObjectNotFound),
        (errors.TooManyRequestsError("slow down"), StorageUnavailable),
        (errors.DefaultBucketError("none"), StorageConfigError),
        (errors.BucketNotFoundError("none"), StorageConfigError),
        (errors.ForbiddenError("no"), StorageConfigError),
        (errors.UnauthorizedError("no"), StorageConfigError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_replit_errors_are_translated(error: Exception, expected: type) -> None:
    translated = translate_replit_error(error, "k")
    assert isinstance(translated, expected)
    with pytest.raises(expected) as caught, replit_sdk_errors("k"):
        raise error
    assert caught.value.__cause__ is error


def test_other_errors_pass_through_the_sdk_wrapper() -> None:
    with pytest.raises(KeyError), replit_sdk_errors("k"):
        raise KeyError("bug")


def test_replit_sdk_client_shares_the_bucket(backend: ReplitStorage, replit_bucket: dict) -> None:
    backend.put("shared/one", b"from the gallery", content_type="text/plain")
    client = Client(replit_bucket["bucket"])
    try:
        with replit_sdk_errors():
            assert client.download_as_bytes("shared/one") == b"from the gallery"
            assert [o.name for o in client.list(prefix="shared/")] == ["shared/one"]
            client.upload_from_bytes("shared/two", b"from the sdk")
        assert backend.get("shared/two") == b"from the sdk"
        with pytest.raises(ObjectNotFound) as caught, replit_sdk_errors("shared/none"):
            client.download_as_bytes("shared/none")
        assert caught.value.key == "shared/none"
    finally:
        client._Client__gcs_client.close()  # the SDK offers no close()


@pytest.mark.parametrize("error", [
    __import__("requests").exceptions.ChunkedEncodingError("Connection broken: cut"),
    __import__("http.client").client.RemoteDisconnected("Remote end closed connection"),
    __import__("http.client").client.IncompleteRead(b"par", 10),
    __import__("urllib3").exceptions.ProtocolError("Connection aborted."),
    ConnectionResetError(104, "Connection reset by peer"),
], ids=["chunked", "remote-disconnected", "incomplete-read", "protocol", "reset"])
def test_sdk_transport_errors_are_transient(error: BaseException) -> None:
    with pytest.raises(StorageUnavailable, match="not answering"):
        with replit_sdk_errors("k"):
            raise error
