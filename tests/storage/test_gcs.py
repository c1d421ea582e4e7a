"""The ``gs://`` backend against a real GCS JSON API server on loopback."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from google.api_core import exceptions as api_errors
from google.auth import exceptions as auth_errors
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from gallery.errors import (
    ObjectNotFound,
    PreconditionFailed,
    StorageConfigError,
    StorageUnavailable,
)
from gallery.storage import open_storage
from gallery.storage.gcs import WRITE_ID_KEY, GCSStorage
from gallery.storage.retry import RetryPolicy, call_with_retry
from tests.storage.contract import StorageContract, StorageFactory
from tests.support.gcs_server import FaultyProxy, GCSServer

#: Retries without real waiting, so fault tests stay fast.
FAST_RETRY = RetryPolicy(attempts=4, initial=0.001, maximum=0.005, deadline=30)


@pytest.fixture
def storage_factory(gcs_bucket: str) -> Iterator[StorageFactory]:
    made: list[GCSStorage] = []

    def make() -> GCSStorage:
        made.append(GCSStorage(gcs_bucket, timeout=10, retry=FAST_RETRY))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def storage(storage_factory: StorageFactory) -> GCSStorage:
    return storage_factory()  # type: ignore[return-value]


class TestGCSStorage(StorageContract):
    """The whole storage contract, for ``gs://``."""


# --- the GCS specifics -------------------------------------------------------


def test_open_storage_builds_gcs(gcs_bucket: str) -> None:
    backend = open_storage(f"gs://{gcs_bucket}", timeout=5)
    try:
        assert isinstance(backend, GCSStorage)
        assert backend.scheme == "gcs"
        assert backend.describe() == f"gs://{gcs_bucket} (Google Cloud Storage)"
        backend.put("k", b"v")
        assert backend.get("k") == b"v"
    finally:
        backend.close()


def test_version_is_the_generation(storage: GCSStorage, gcs_bucket: str, gcs_server: GCSServer) -> None:
    info = storage.put("g", b"x")
    client = gcs.Client(credentials=AnonymousCredentials(), project="test")
    try:
        blob = client.bucket(gcs_bucket).get_blob("g")
        assert blob is not None
        assert info.version == str(blob.generation)
    finally:
        client.close()


def test_conditional_write_carries_its_id_and_plain_ones_none(storage: GCSStorage, gcs_bucket: str) -> None:
    storage.put("plain", b"x")
    storage.put("made", b"x", if_absent=True)
    client = gcs.Client(credentials=AnonymousCredentials(), project="test")
    try:
        bucket = client.bucket(gcs_bucket)
        assert not (bucket.get_blob("plain").metadata or {})
        assert len(bucket.get_blob("made").metadata[WRITE_ID_KEY]) == 32
    finally:
        client.close()


def test_read_returns_the_version_of_exactly_those_bytes(
    storage: GCSStorage, storage_factory: StorageFactory
) -> None:
    writer = storage_factory()
    written: dict[str, bytes] = {storage.put("hot", b"start").version: b"start"}
    stop = threading.Event()

    def overwrite() -> None:
        for i in range(200):  # bounded
            if stop.is_set():
                return
            payload = f"payload {i}".encode()
            written[writer.put("hot", payload).version] = payload

    thread = threading.Thread(target=overwrite)
    thread.start()
    try:
        reads = [storage.read("hot") for _ in range(40)]
    finally:
        stop.set()
        thread.join(timeout=60)
    for data, info in reads:
        assert data == written[info.version]
        assert info.size == len(data)


def test_open_reads_one_generation_only(storage: GCSStorage) -> None:
    storage.put("moving", b"a" * 600_000)
    with storage.open("moving") as stream:
        assert stream.seekable()
        assert stream.read(10) == b"a" * 10
        storage.put("moving", b"b" * 600_000)
        with pytest.raises(ObjectNotFound):
            stream.read()  # the generation being read is gone: no mixed bytes


def test_open_seeks(storage: GCSStorage) -> None:
    data = bytes(range(256)) * 2000
    storage.put("seek", data)
    with storage.open("seek") as stream:
        assert stream.seek(-10, io.SEEK_END) == len(data) - 10
        assert stream.read() == data[-10:]
        stream.seek(300_000)
        assert stream.read(5) == data[300_000:300_005]
        assert stream.tell() == 300_005


def test_non_seekable_stream_is_uploaded(storage: GCSStorage) -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    payload = b"one way " * 10_000
    info = storage.put("oneway", OneWay(payload), content_type="text/plain", if_absent=True)
    assert info.size == len(payload)
    assert storage.read("oneway") == (payload, info)


def test_stream_uploads_from_its_current_position(storage: GCSStorage) -> None:
    stream = io.BytesIO(b"skip:keep")
    stream.seek(5)
    assert storage.put("pos", stream).size == 4
    assert storage.get("pos") == b"keep"


def test_version_that_is_no_generation_fails_the_precondition(storage: GCSStorage) -> None:
    storage.put("v", b"1")
    with pytest.raises(PreconditionFailed):
        storage.put("v", b"2", if_version="not-a-generation")


def test_missing_bucket_is_a_configuration_error(gcs_server: GCSServer) -> None:
    backend = GCSStorage("no-such-bucket-here", timeout=5, retry=FAST_RETRY)
    try:
        with pytest.raises(StorageConfigError, match="does not exist"):
            backend.list_page()
        with pytest.raises(StorageConfigError, match="does not exist"):
            backend.put("k", b"v")
    finally:
        backend.close()


def test_closing_a_given_client_is_left_to_its_owner(gcs_bucket: str) -> None:
    client = gcs.Client(credentials=AnonymousCredentials(), project="test")
    backend = GCSStorage(gcs_bucket, client=client)
    backend.put("k", b"v")
    backend.close()
    assert backend.get("k") == b"v"  # the client still works
    client.close()


# --- error translation ------------------------------------------------------


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_errors.NotFound("No such object: b/k"), ObjectNotFound),
        (api_errors.NotFound("The specified bucket does not exist."), StorageConfigError),
        (api_errors.PreconditionFailed("412"), PreconditionFailed),
        (api_errors.NotModified("304"), PreconditionFailed),
        (api_errors.TooManyRequests("429"), StorageUnavailable),
        (api_errors.InternalServerError("500"), StorageUnavailable),
        (api_errors.BadGateway("502"), StorageUnavailable),
        (api_errors.ServiceUnavailable("503"), StorageUnavailable),
        (api_errors.GatewayTimeout("504"), StorageUnavailable),
        (api_errors.Forbidden("403"), StorageConfigError),
        (api_errors.Unauthorized("401"), StorageConfigError),
        (api_errors.BadRequest("400"), StorageConfigError),
        (requests.ConnectionError("reset"), StorageUnavailable),
        (requests.ReadTimeout("slow"), StorageUnavailable),
        (auth_errors.TransportError("token endpoint down"), StorageUnavailable),
        (auth_errors.RefreshError("invalid_grant"), StorageConfigError),
        (auth_errors.RefreshError("try later", retryable=True), StorageUnavailable),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_error_translation(storage: GCSStorage, error: Exception, expected: type) -> None:
    translated = storage._translate(error, "k")
    assert isinstance(translated, expected)
    if isinstance(translated, ObjectNotFound | PreconditionFailed):
        assert translated.key == "k"


def test_resumable_media_errors_are_translated(storage: GCSStorage) -> None:
    from google.resumable_media import common

    unavailable = common.InvalidResponse(_response(503), "unavailable")
    refused = common.InvalidResponse(_response(400), "refused")
    assert isinstance(storage._translate(unavailable, "k"), StorageUnavailable)
    assert isinstance(storage._translate(refused, "k"), StorageConfigError)
    assert isinstance(storage._translate(common.DataCorruption(None), "k"), StorageUnavailable)


def test_other_errors_are_left_alone(storage: GCSStorage) -> None:
    error = KeyError("bug")
    assert storage._translate(error, "k") is error


# --- retries, through a proxy that fails on purpose -------------------------


@pytest.fixture
def proxy(gcs_server: GCSServer) -> Iterator[FaultyProxy]:
    with FaultyProxy(gcs_server.url) as running:
        yield running


@pytest.fixture
def flaky(proxy: FaultyProxy, gcs_bucket: str) -> Iterator[Callable[..., GCSStorage]]:
    """Backends on the test bucket whose every request goes through the proxy."""
    clients: list[gcs.Client] = []

    def make(retry: RetryPolicy = FAST_RETRY) -> GCSStorage:
        client = gcs.Client(
            credentials=AnonymousCredentials(),
            project="test",
            client_options={"api_endpoint": proxy.url},
        )
        clients.append(client)
        return GCSStorage(gcs_bucket, timeout=10, client=client, retry=retry)

    yield make
    for client in clients:
        client.close()


def _outcomes(proxy: FaultyProxy, method: str) -> list[str]:
    return [outcome for seen, _, outcome in proxy.requests if seen == method]


def test_transient_503_is_retried_on_reads(flaky: Callable[..., GCSStorage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("r", b"data", content_type="text/plain")
    proxy.requests.clear()
    proxy.fail_next(1, method="GET", path_contains="/o/r?alt=media")  # the download
    proxy.fail_next(1, method="GET", path_contains="/o/r?generation=")  # its metadata
    proxy.fail_next(1, method="GET", path_contains="/o?")  # a listing
    data, info = backend.read("r")
    assert (data, info.content_type) == (b"data", "text/plain")
    assert [i.key for i in backend.list()] == ["r"]
    assert _outcomes(proxy, "GET") == ["fail", "forward", "fail", "forward", "fail", "forward"]


def test_transient_503_is_retried_on_unconditional_put(
    flaky: Callable[..., GCSStorage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    proxy.fail_next(2, method="POST")
    info = backend.put("u", b"again", content_type="image/png")
    assert _outcomes(proxy, "POST") == ["fail", "fail", "forward"]
    assert backend.read("u") == (b"again", info)


def test_retries_are_bounded(flaky: Callable[..., GCSStorage], proxy: FaultyProxy) -> None:
    backend = flaky(RetryPolicy(attempts=3, initial=0.001, maximum=0.001))
    proxy.fail_next(10, method="GET")
    with pytest.raises(StorageUnavailable):
        backend.stat("whatever")
    assert _outcomes(proxy, "GET") == ["fail"] * 3


def test_a_lost_precondition_is_not_retried(flaky: Callable[..., GCSStorage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("taken", b"1")
    proxy.requests.clear()
    with pytest.raises(PreconditionFailed):
        backend.put("taken", b"2", if_absent=True)
    assert _outcomes(proxy, "POST") == ["forward"]


def test_create_whose_answer_was_lost_is_recognised_as_ours(
    flaky: Callable[..., GCSStorage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    proxy.lose_next(1, method="POST")
    info = backend.put("once", b"mine", if_absent=True)  # the retry meets our own object
    assert _outcomes(proxy, "POST") == ["lose", "forward"]
    assert backend.read("once") == (b"mine", info)


def test_swap_whose_answer_was_lost_is_recognised_as_ours(
    flaky: Callable[..., GCSStorage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    first = backend.put("cas", b"1")
    proxy.lose_next(1, method="POST")
    second = backend.put("cas", b"2", if_version=first.version)
    assert second.version != first.version
    assert backend.read("cas") == (b"2", second)


def test_lost_answer_then_someone_else_wrote_is_unknown_not_lost(
    flaky: Callable[..., GCSStorage], proxy: FaultyProxy, storage: GCSStorage
) -> None:
    backend = flaky()
    first = backend.put("contended", b"1")
    # Our write fails with a 503 (it might have landed, as far as we can tell),
    # and a rival swaps the object before we try again.
    proxy.fail_next(
        1,
        method="POST",
        then=lambda: storage.put("contended", b"rival", if_version=first.version),
    )
    with pytest.raises(StorageUnavailable, match="not known"):
        backend.put("contended", b"2", if_version=first.version)
    assert storage.get("contended") == b"rival"


def test_delete_whose_answer_was_lost_succeeds(flaky: Callable[..., GCSStorage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("del", b"x")
    proxy.lose_next(1, method="DELETE")
    backend.delete("del")
    assert _outcomes(proxy, "DELETE") == ["lose", "forward"]
    assert not backend.exists("del")


# --- the retry policy itself -------------------------------------------------


class _Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_retry_backoff_grows_with_jitter_and_stays_bounded() -> None:
    policy = RetryPolicy(attempts=6, initial=0.5, multiplier=2, maximum=3)
    ceilings = [0.5, 1, 2, 3, 3]
    for _ in range(50):
        delays = list(policy.delays())
        assert len(delays) == 5
        assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))


def test_retry_stops_after_the_attempts() -> None:
    clock, calls = _Clock(), []

    def always_down(attempt: int) -> None:
        calls.append(attempt)
        raise StorageUnavailable()

    with pytest.raises(StorageUnavailable):
        call_with_retry(
            always_down,
            RetryPolicy(attempts=4, initial=1),
            transient=lambda e: isinstance(e, StorageUnavailable),
            sleep=clock.sleep,
            clock=clock,
        )
    assert calls == [0, 1, 2, 3]
    assert len(clock.sleeps) == 3


def test_retry_stops_at_the_deadline() -> None:
    clock, calls = _Clock(), []

    def slow_and_down(attempt: int) -> None:
        calls.append(attempt)
        clock.now += 10  # each try takes ten seconds
        raise StorageUnavailable()

    with pytest.raises(StorageUnavailable):
        call_with_retry(
            slow_and_down,
            RetryPolicy(attempts=100, initial=0, deadline=25),
            transient=lambda e: isinstance(e, StorageUnavailable),
            sleep=clock.sleep,
            clock=clock,
        )
    assert calls == [0, 1, 2]


def test_retry_gives_up_at_once_on_lasting_errors() -> None:
    calls = []

    def refused(attempt: int) -> None:
        calls.append(attempt)
        raise PreconditionFailed("k")

    with pytest.raises(PreconditionFailed):
        call_with_retry(refused, RetryPolicy(), transient=lambda e: isinstance(e, StorageUnavailable))
    assert calls == [0]


def test_retry_returns_the_first_success() -> None:
    clock = _Clock()
    answers = iter([StorageUnavailable(), StorageUnavailable(), "ok"])

    def flaky_call(attempt: int) -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return f"{answer} after {attempt}"

    result = call_with_retry(
        flaky_call,
        RetryPolicy(),
        transient=lambda e: isinstance(e, StorageUnavailable),
        sleep=clock.sleep,
        clock=clock,
    )
    assert result == "ok after 2"


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"initial": -1}, {"multiplier": 0.5}])
def test_retry_policy_rejects_nonsense(bad: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)
