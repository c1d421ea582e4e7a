"""The ``s3://`` backend against a real S3 server (SeaweedFS) on loopback."""

from __future__ import annotations

import io
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore import exceptions as bc

from gallery.errors import (
    ConfigError,
    ObjectNotFound,
    PreconditionFailed,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)
from gallery.storage import open_storage
from gallery.storage.base import InvalidKey
from gallery.storage.retry import RetryPolicy
from gallery.storage.s3 import WRITE_ID_KEY, S3Storage, configured_endpoint
from tests.storage.contract import ORDERED_KEYS, StorageContract, StorageFactory
from tests.support.gcs_server import FaultyProxy
from tests.support.s3_server import S3Server

#: Retries without real waiting, so fault tests stay fast.
FAST_RETRY = RetryPolicy(attempts=4, initial=0.001, maximum=0.005, deadline=30)

SEAWEED_ORDER = (
    "SeaweedFS lists the keys under a folder right after the folder's own name, so before "
    "sibling keys holding '-' or '.', which sort below '/' (a/b/c before a-b); AWS S3, R2, B2 "
    "and MinIO list in byte order, and the gallery's own keys never meet this case. Sorting in "
    "the adapter would mean reading every page of a prefix before answering the first"
)


@pytest.fixture
def storage_factory(s3_bucket: str) -> Iterator[StorageFactory]:
    made: list[S3Storage] = []

    def make() -> S3Storage:
        made.append(S3Storage(s3_bucket, timeout=10, retry=FAST_RETRY))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def storage(storage_factory: StorageFactory) -> S3Storage:
    return storage_factory()  # type: ignore[return-value]


class TestS3Storage(StorageContract):
    """The whole storage contract, for ``s3://``."""

    listings_carry_content_type = False
    version_is_content_hash = True

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason=SEAWEED_ORDER)
    def test_list_order_is_byte_order(self, storage: S3Storage) -> None:
        super().test_list_order_is_byte_order(storage)

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason=SEAWEED_ORDER)
    def test_list_prefix(self, storage: S3Storage) -> None:
        super().test_list_prefix(storage)

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason=SEAWEED_ORDER)
    def test_list_offsets(self, storage: S3Storage) -> None:
        super().test_list_offsets(storage)


# --- what SeaweedFS does keep of the order and key rules ------------------------

#: ORDERED_KEYS without a folder beside names that sort below '/' (see SEAWEED_ORDER).
FLAT_ORDERED_KEYS = [k for k in ORDERED_KEYS if k not in ("a/b", "a/b/c")]


def _keys(storage: S3Storage, prefix: str = "", **offsets: str) -> list[str]:
    return [info.key for info in storage.list(prefix, **offsets)]


def test_listing_is_in_byte_order(storage: S3Storage) -> None:
    assert FLAT_ORDERED_KEYS == ["0", "a", "a-b", "a.b", "a0", "a_b", "ab", "z"]
    shuffled = FLAT_ORDERED_KEYS[:]
    random.Random(5).shuffle(shuffled)
    for key in shuffled:
        storage.put(key, b"x")
    assert _keys(storage) == FLAT_ORDERED_KEYS
    assert _keys(storage, "a") == ["a", "a-b", "a.b", "a0", "a_b", "ab"]
    assert _keys(storage, start_offset="a-b") == FLAT_ORDERED_KEYS[2:]  # inclusive
    assert _keys(storage, start_offset="a-", end_offset="ab") == ["a-b", "a.b", "a0", "a_b"]
    assert _keys(storage, end_offset="a0") == ["0", "a", "a-b", "a.b"]
    assert _keys(storage, "a", start_offset="b") == []
    assert _keys(storage, "z", start_offset="a") == ["z"]
    assert _keys(storage, "a", end_offset="b") == ["a", "a-b", "a.b", "a0", "a_b", "ab"]
    assert _keys(storage, start_offset="z") == ["z"]
    assert _keys(storage, start_offset="a_b", page_size=1) == ["a_b", "ab", "z"]


def test_folders_list_in_byte_order_where_no_sibling_sorts_below_slash(storage: S3Storage) -> None:
    keys = ["images/0a/original", "images/0a/sm.webp", "images/0b/original", "index.json",
            "links/1f.json", "links/1f.usage.json"]
    for key in reversed(keys):
        storage.put(key, b"x")
    assert _keys(storage) == keys


def test_page_tokens_are_url_safe_and_checked(storage: S3Storage) -> None:
    for i in range(3):
        storage.put(f"t/{i}", b"x")
    page = storage.list_page("t/", page_size=2)
    assert page.next_token is not None and page.next_token.isascii()
    assert "/" not in page.next_token and "+" not in page.next_token
    assert [i.key for i in storage.list_page("t/", page_token=page.next_token).items] == ["t/2"]
    with pytest.raises(ValueError):
        storage.list_page("t/", page_token="not a token!")


# --- the S3 specifics ---------------------------------------------------------------


def test_open_storage_builds_s3(s3_bucket: str, s3_server: S3Server) -> None:
    backend = open_storage(f"s3://{s3_bucket}", timeout=5)
    try:
        assert isinstance(backend, S3Storage)
        assert backend.scheme == "s3"
        assert backend.describe() == f"s3://{s3_bucket} (S3 at {s3_server.url})"
        assert backend.location == s3_bucket
        backend.put("k", b"v")
        assert backend.get("k") == b"v"
    finally:
        backend.close()


@pytest.mark.parametrize(("url", "message"), [
    ("s3://", "names no bucket"),
    ("s3:///photos", "names no bucket"),
    ("s3://bucket/photos", "GALLERY_PREFIX"),
    ("s3://bucket?endpoint=x", "AWS_ENDPOINT_URL"),
    ("s3://no_such!name", "not an S3 bucket name"),
])
def test_bad_s3_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_storage(url)


def test_version_is_the_etag(storage: S3Storage, s3_bucket: str, s3_server: S3Server) -> None:
    info = storage.put("e", b"hello")
    answer = s3_server.client().head_object(Bucket=s3_bucket, Key="e")
    assert info.version == answer["ETag"].strip('"') == "5d41402abc4b2a76b9719d911017c592"
    assert storage.put("e", b"again", if_version=f'"{info.version}"').size == 5  # quoted is fine


def test_conditional_writes_carry_their_id_and_plain_ones_none(
    storage: S3Storage, s3_bucket: str, s3_server: S3Server
) -> None:
    storage.put("plain", b"x")
    made = storage.put("made", b"x", if_absent=True)
    storage.put("swapped", b"1")
    storage.put("swapped", b"2", if_version=storage.stat("swapped").version)
    client = s3_server.client()
    assert client.head_object(Bucket=s3_bucket, Key="plain")["Metadata"] == {}
    for key in ("made", "swapped"):
        assert len(client.head_object(Bucket=s3_bucket, Key=key)["Metadata"][WRITE_ID_KEY]) == 32
    assert made.version == storage.stat("plain").version  # same bytes, same ETag


def test_non_seekable_stream_is_uploaded(storage: S3Storage) -> None:
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


def test_stream_uploads_from_its_current_position(storage: S3Storage) -> None:
    stream = io.BytesIO(b"skip:keep")
    stream.seek(5)
    assert storage.put("pos", stream).size == 4
    assert storage.get("pos") == b"keep"


@pytest.mark.parametrize("version", ["", '""', "0" * 32])
def test_version_that_is_no_etag_of_it_fails_the_precondition(storage: S3Storage, version: str) -> None:
    storage.put("v", b"1")
    with pytest.raises(PreconditionFailed):
        storage.put("v", b"2", if_version=version)
    assert storage.get("v") == b"1"


def test_open_seeks_within_one_version(storage: S3Storage) -> None:
    data = bytes(range(256)) * 2000
    storage.put("seek", data)
    with storage.open("seek") as stream:
        assert stream.seekable()
        assert stream.read(5) == data[:5]
        assert stream.seek(-10, io.SEEK_END) == len(data) - 10
        assert stream.read() == data[-10:]
        stream.seek(300_000)
        assert stream.read(5) == data[300_000:300_005]
        assert stream.tell() == 300_005
        storage.put("seek", b"replaced")
        stream.seek(0)
        with pytest.raises(ObjectNotFound, match="replaced or deleted"):
            stream.read(5)  # never bytes of another version


def test_missing_bucket_is_a_configuration_error(s3_server: S3Server) -> None:
    backend = S3Storage("no-such-bucket-here", timeout=5, retry=FAST_RETRY)
    try:
        with pytest.raises(StorageConfigError, match="does not exist"):
            backend.list_page()
        with pytest.raises(StorageConfigError, match="does not exist"):
            backend.get("k")  # (SeaweedFS makes a bucket a put names: AWS says NoSuchBucket)
    finally:
        backend.close()


def test_wrong_credentials_are_a_configuration_error(s3_bucket: str) -> None:
    session = boto3.session.Session(aws_access_key_id="gallery-test", aws_secret_access_key="wrong")
    backend = S3Storage(s3_bucket, timeout=5, retry=FAST_RETRY, session=session)
    try:
        with pytest.raises(StorageConfigError, match="access refused"):
            backend.put("k", b"v")
    finally:
        backend.close()


def test_no_credentials_stop_at_start(monkeypatch: pytest.MonkeyPatch, s3_server: S3Server) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageConfigError, match="AWS_ACCESS_KEY_ID"):
        S3Storage("any-bucket")


def test_a_given_client_is_left_to_its_owner(s3_bucket: str, s3_server: S3Server) -> None:
    client = s3_server.client()
    backend = S3Storage(s3_bucket, client=client)
    backend.put("k", b"v")
    backend.close()
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"v"


# --- configuration the AWS SDK's way --------------------------------------------------

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
               "AWS_EC2_METADATA_DISABLED": "true"}


def _built(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> S3Storage:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**CREDENTIALS, **environ}.items():
        monkeypatch.setenv(name, value)
    return S3Storage("photos", timeout=7)


def test_a_custom_endpoint_is_addressed_path_style(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _built(monkeypatch, {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_S3": "https://user:pw@account.r2.example:8443/",
        "AWS_REGION": "auto",
    })
    meta = backend._client.meta
    assert meta.endpoint_url.rstrip("/") == "https://user:pw@account.r2.example:8443"
    assert meta.region_name == "auto"
    assert meta.config.s3["addressing_style"] == "path"
    assert meta.config.request_checksum_calculation == "when_required"
    assert (meta.config.connect_timeout, meta.config.read_timeout) == (7, 7)
    assert backend.describe() == "s3://photos (S3 at https://account.r2.example:8443)"
    backend.close()


def test_aws_itself_keeps_the_sdk_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _built(monkeypatch, {"AWS_DEFAULT_REGION": "eu-west-1"})
    meta = backend._client.meta
    assert meta.region_name == "eu-west-1"
    assert not (meta.config.s3 or {}).get("addressing_style")
    assert meta.config.request_checksum_calculation == "when_supported"
    assert backend.describe() == "s3://photos (AWS S3)"
    backend.close()


def test_aws_region_wins_over_the_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _built(monkeypatch, {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert backend._client.meta.region_name == "ap-south-1"
    backend.close()


def test_checksum_settings_of_the_environment_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _built(monkeypatch, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                                   "AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported"})
    assert backend._client.meta.config.request_checksum_calculation == "when_supported"
    assert backend._client.meta.config.response_checksum_validation == "when_required"
    backend.close()


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, None),
    ({"AWS_ENDPOINT_URL": "http://a"}, "http://a"),
    ({"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_S3": " http://s3 "}, "http://s3"),
    ({"AWS_ENDPOINT_URL": "http://a", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, None),
    ({"AWS_ENDPOINT_URL": ""}, None),
])
def test_configured_endpoint(environ: dict[str, str], expected: str | None) -> None:
    assert configured_endpoint(environ) == expected


# --- error translation ------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline() -> Iterator[S3Storage]:
    """A backend that is never asked anything (its endpoint is a closed port)."""
    session = boto3.session.Session(aws_access_key_id="id", aws_secret_access_key="secret",
                                    region_name="us-east-1")
    backend = S3Storage("offline", endpoint_url="http://127.0.0.1:9", session=session)
    yield backend
    backend.close()


def _answer(status: int, code: str = "", message: str = "") -> bc.ClientError:
    return bc.ClientError({"Error": {"Code": code or str(status), "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_answer(404, "NoSuchKey"), ObjectNotFound),
        (_answer(404), ObjectNotFound),  # HEAD answers have no body
        (_answer(404, "NoSuchBucket"), StorageConfigError),
        (_answer(412, "PreconditionFailed"), PreconditionFailed),
        (_answer(409, "ConditionalRequestConflict"), PreconditionFailed),
        (_answer(304), PreconditionFailed),
        (_answer(503, "SlowDown"), StorageUnavailable),
        (_answer(500, "InternalError"), StorageUnavailable),
        (_answer(502), StorageUnavailable),
        (_answer(429), StorageUnavailable),
        (_answer(400, "RequestTimeout"), StorageUnavailable),
        (_answer(409, "OperationAborted"), StorageUnavailable),
        (_answer(403, "AccessDenied"), StorageConfigError),
        (_answer(403, "SignatureDoesNotMatch"), StorageConfigError),
        (_answer(400, "ExpiredToken"), StorageConfigError),
        (_answer(403, "RequestTimeTooSkewed"), StorageConfigError),
        (_answer(501, "NotImplemented"), StorageConfigError),
        (_answer(400, "InvalidArgument"), StorageConfigError),
        (_answer(400, "KeyTooLongError"), InvalidKey),
        (bc.EndpointConnectionError(endpoint_url="http://x"), StorageUnavailable),
        (bc.ConnectTimeoutError(endpoint_url="http://x"), StorageUnavailable),
        (bc.ReadTimeoutError(endpoint_url="http://x"), StorageUnavailable),
        (bc.ConnectionClosedError(endpoint_url="http://x"), StorageUnavailable),
        (bc.ResponseStreamingError(error="reset"), StorageUnavailable),
        (bc.IncompleteReadError(actual_bytes=1, expected_bytes=2), StorageUnavailable),
        (bc.SSLError(endpoint_url="http://x", error="handshake"), StorageUnavailable),
        (bc.CredentialRetrievalError(provider="sso", error_msg="down"), StorageUnavailable),
        (bc.NoCredentialsError(), StorageConfigError),
        (ConnectionResetError(), StorageUnavailable),
    ],
    ids=lambda value: (f"{type(value).__name__}-{_code_of(value)}"
                       if isinstance(value, Exception) else ""),
)
def test_error_translation(offline: S3Storage, error: Exception, expected: type) -> None:
    translated = offline._translate(error, "k")
    assert isinstance(translated, expected)
    if isinstance(translated, ObjectNotFound | PreconditionFailed):
        assert translated.key == "k"


def _code_of(error: Exception) -> str:
    return str((getattr(error, "response", None) or {}).get("Error", {}).get("Code", ""))


def test_other_errors_are_left_alone(offline: S3Storage) -> None:
    error = KeyError("bug")
    assert offline._translate(error, "k") is error


# --- retries, through a proxy that fails on purpose -----------------------------------


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[FaultyProxy]:
    with FaultyProxy(s3_server.url, keep_host=True) as running:
        yield running


@pytest.fixture
def flaky(proxy: FaultyProxy, s3_bucket: str) -> Iterator[Callable[..., S3Storage]]:
    """Backends on the test bucket whose every request goes through the proxy."""
    made: list[S3Storage] = []

    def make(retry: RetryPolicy = FAST_RETRY) -> S3Storage:
        made.append(S3Storage(s3_bucket, timeout=10, endpoint_url=proxy.url, retry=retry))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


def _outcomes(proxy: FaultyProxy, method: str) -> list[str]:
    return [outcome for seen, _, outcome in proxy.requests if seen == method]


def test_transient_503_is_retried_on_reads(flaky: Callable[..., S3Storage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("r", b"data", content_type="text/plain")
    proxy.requests.clear()
    proxy.fail_next(1, method="GET", path_contains="/r")  # the download
    proxy.fail_next(1, method="HEAD")
    proxy.fail_next(1, method="GET", path_contains="list-type=2")
    data, info = backend.read("r")
    assert (data, info.content_type) == (b"data", "text/plain")
    assert backend.stat("r") == info
    assert [i.key for i in backend.list()] == ["r"]
    assert _outcomes(proxy, "GET") == ["fail", "forward", "fail", "forward"]
    assert _outcomes(proxy, "HEAD") == ["fail", "forward"]


def test_transient_503_is_retried_on_unconditional_put(
    flaky: Callable[..., S3Storage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    proxy.fail_next(2, method="PUT")
    info = backend.put("u", b"again", content_type="image/png")
    assert _outcomes(proxy, "PUT") == ["fail", "fail", "forward"]
    assert backend.read("u") == (b"again", info)


def test_retries_are_bounded(flaky: Callable[..., S3Storage], proxy: FaultyProxy) -> None:
    backend = flaky(RetryPolicy(attempts=3, initial=0.001, maximum=0.001))
    proxy.fail_next(10, method="HEAD")
    with pytest.raises(StorageUnavailable, match="HTTP 503"):
        backend.stat("whatever")
    assert _outcomes(proxy, "HEAD") == ["fail"] * 3


def test_a_lost_precondition_is_not_retried(flaky: Callable[..., S3Storage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("taken", b"1")
    proxy.requests.clear()
    with pytest.raises(PreconditionFailed, match="already exists"):
        backend.put("taken", b"2", if_absent=True)
    assert _outcomes(proxy, "PUT") == ["forward"]


def test_create_whose_answer_was_lost_is_recognised_as_ours(
    flaky: Callable[..., S3Storage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    proxy.lose_next(1, method="PUT")
    info = backend.put("once", b"mine", if_absent=True)  # the retry meets our own object
    assert _outcomes(proxy, "PUT") == ["lose", "forward"]
    assert backend.read("once") == (b"mine", info)


def test_swap_whose_answer_was_lost_is_recognised_as_ours(
    flaky: Callable[..., S3Storage], proxy: FaultyProxy
) -> None:
    backend = flaky()
    first = backend.put("cas", b"1")
    proxy.lose_next(1, method="PUT")
    second = backend.put("cas", b"2", if_version=first.version)
    assert second.version != first.version
    assert backend.read("cas") == (b"2", second)


def test_lost_answer_then_someone_else_wrote_is_unknown_not_lost(
    flaky: Callable[..., S3Storage], proxy: FaultyProxy, storage: S3Storage
) -> None:
    backend = flaky()
    first = backend.put("contended", b"1")
    # Our write fails with a 503 (it might have landed, as far as we can tell),
    # and a rival swaps the object before we try again.
    proxy.fail_next(
        1, method="PUT", then=lambda: storage.put("contended", b"rival", if_version=first.version)
    )
    with pytest.raises(StorageUnavailable, match="not known"):
        backend.put("contended", b"2", if_version=first.version)
    assert storage.get("contended") == b"rival"


def test_delete_whose_answer_was_lost_succeeds(flaky: Callable[..., S3Storage], proxy: FaultyProxy) -> None:
    backend = flaky()
    backend.put("del", b"x")
    proxy.lose_next(1, method="DELETE")
    backend.delete("del")
    assert _outcomes(proxy, "DELETE") == ["lose", "forward"]
    assert not backend.exists("del")


def test_a_download_cut_half_way_is_resumed(flaky: Callable[..., S3Storage], proxy: FaultyProxy) -> None:
    backend = flaky()
    data = random.Random(1).randbytes(1_500_000)
    backend.put("cut", data)
    proxy.requests.clear()
    proxy.cut_next(1, method="GET")
    with backend.open("cut") as stream:
        assert stream.read() == data
    assert _outcomes(proxy, "GET") == ["cut", "forward"]


def test_a_cut_download_is_not_resumed_on_another_version(
    flaky: Callable[..., S3Storage], proxy: FaultyProxy, storage: S3Storage
) -> None:
    backend = flaky()
    backend.put("cut", b"a" * 1_500_000)
    proxy.cut_next(1, method="GET")
    with backend.open("cut") as stream:
        assert stream.read(10) == b"a" * 10
        storage.put("cut", b"b" * 1_500_000)
        with pytest.raises(ObjectNotFound, match="replaced or deleted"):
            stream.read()


class _Silent:
    """A loopback server that accepts connections and reads, but never answers."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._open.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self._open:
            conn.close()


def test_a_storage_that_does_not_answer_gives_up_within_the_timeout(s3_bucket: str) -> None:
    silent = _Silent()
    many_tries = RetryPolicy(attempts=10, initial=0.001, maximum=0.001, deadline=60)
    backend = S3Storage(s3_bucket, timeout=1.0, endpoint_url=silent.url, retry=many_tries)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            backend.stat("k")
        assert time.monotonic() - started < 2.5  # one budget, not ten tries of it
    finally:
        backend.close()
        silent.close()


# --- races between clients ------------------------------------------------------------


def test_sixteen_creators_exactly_one_wins(storage: S3Storage, storage_factory: StorageFactory) -> None:
    writers = 16
    clients = [storage_factory() for _ in range(writers)]
    barrier = threading.Barrier(writers)
    outcomes: list[str | None] = [None] * writers

    def create(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            clients[i].put("race/sixteen", f"writer {i}".encode(), if_absent=True)
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
    assert storage.get("race/sixteen") == f"writer {outcomes.index('won')}".encode()
