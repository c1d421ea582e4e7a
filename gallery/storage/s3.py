"""``s3://BUCKET``: any S3-compatible service through ``boto3``.

Configured the AWS SDK's way, from the environment: ``AWS_ENDPOINT_URL_S3``
or ``AWS_ENDPOINT_URL`` for a service other than AWS (path-style addressing is
used there, as every S3-compatible service understands it), ``AWS_REGION``
(or ``AWS_DEFAULT_REGION``, or the profile's), and credentials from the SDK's
standard chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile,
SSO, a role...).

Versions are ETags. Conditional writes are single-part ``PutObject`` calls
with ``If-None-Match: *`` (create only) or ``If-Match: <etag>`` (replace only
that version); ``412 Precondition Failed``, and the ``409
ConditionalRequestConflict`` S3 answers while another conditional write to
the key is in flight, mean :class:`PreconditionFailed`. s3transfer's managed
uploads are never used: they split large bodies into multipart uploads, which
drop those conditions. So every object is written in one request (at most
5 GiB, far above any image).

An S3 ETag is the MD5 of the bytes for single-part writes, so unlike a GCS
generation it does not change when the same bytes are written again. A
compare-and-swap that meets equal bytes under an equal ETag computes the same
result from the same content, so no update is lost; what the ETag cannot tell
is that the object was rewritten in between (ABA), which nothing here needs.

``timeout`` bounds the whole wait of one storage call, its retries included,
as on :mod:`gallery.storage.gcs`: every request may wait only for the time
that is left (its socket read timeout is set per request; making a connection
waits at most ``CONNECT_TIMEOUT``, or ``timeout`` when shorter), and transient
faults (5xx, throttling, connection failures, timeouts) are retried with
backoff, then end as :class:`StorageUnavailable`. The SDK's own retries are
switched off. A conditional write retried after an ambiguous failure may meet
its own first try; each carries a one-off id in its metadata
(``x-amz-meta-gallery-write-id``) so that a ``412`` on the retry is read as
success when the current object is ours.

S3 listings do not carry content types: the items of :meth:`S3Storage.list_page`
have an empty ``content_type`` (``stat`` has it).

``boto3`` is optional (``pip install 'gallery[s3]'``) and is imported only
when a backend is built.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from gallery.errors import (
    ObjectNotFound,
    PreconditionFailed,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
    Unsupported,
)
from gallery.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    MAX_KEY_BYTES,
    Data,
    InvalidKey,
    ListPage,
    ObjectInfo,
    Storage,
    check_conditions,
    check_key,
    check_page_size,
    rewindable,
)
from gallery.storage.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from botocore.client import BaseClient

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gallery[s3]'"
#: User metadata naming the write that produced an object (conditional writes only).
WRITE_ID_KEY = "gallery-write-id"
#: The most one ``PutObject`` may carry.
MAX_PUT_BYTES = 5 * 1024**3
#: Seconds to wait for a connection, at most (reads wait for what is left of the call).
CONNECT_TIMEOUT = 10.0
#: Connections kept per backend (the web server's threads share one backend).
MAX_CONNECTIONS = 32
#: Tries to resume a download whose connection broke, per break.
RESUME_ATTEMPTS = 3
#: Bucket names the S3 API accepts (the SDK's own check, so the message is ours).
_BUCKET_NAME = re.compile(r"[A-Za-z0-9._-]{3,255}")
#: Error codes that mean "slow down" or "try again", whatever the status.
_TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestLimitExceeded", "TooManyRequests", "TooManyRequestsException", "RequestTimeout",
    "RequestTimeoutException", "InternalError", "ServiceUnavailable", "OperationAborted",
})
#: Error codes that deny access: wrong, expired or insufficient credentials.
_ACCESS_CODES = frozenset({
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
    "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem",
    "Unauthorized", "Forbidden",
})
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_CHECKSUM_VARIABLES = {
    "request_checksum_calculation": "AWS_REQUEST_CHECKSUM_CALCULATION",
    "response_checksum_validation": "AWS_RESPONSE_CHECKSUM_VALIDATION",
}


def _import_boto3() -> Any:
    """The ``boto3`` module, or a config error with the install hint."""
    try:
        import boto3
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise StorageConfigError(f"S3 storage needs boto3: {INSTALL_HINT}") from err
    return boto3


_loader_lock = threading.Lock()
_loader: Any = None


def _new_session() -> Any:
    """A boto3 session of its own (it reads the environment and profile now), sharing
    the SDK's parsed service models with every other one: a fresh session would
    parse them again, a fifth of a second each time."""
    global _loader
    boto3 = _import_boto3()
    import botocore.loaders
    import botocore.session

    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        core = botocore.session.Session()
        core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core)


def configured_endpoint(environ: Mapping[str, str]) -> str | None:
    """The S3 endpoint the environment names, as the AWS SDKs read it, or ``None`` for AWS.

    ``AWS_ENDPOINT_URL_S3`` wins over ``AWS_ENDPOINT_URL``; both are ignored
    when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true.
    """
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    for name in _ENDPOINT_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _shown_endpoint(url: str) -> str:
    """An endpoint URL fit to show: scheme, host and port only (never a user or password)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}" if parts.scheme else host


def _etag(value: str | None) -> str:
    """An ETag as a version token: without quotes (services differ in sending them)."""
    return (value or "").removeprefix("W/").strip('"')


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _code(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code") or "")


def _never_sent(err: BaseException) -> bool:
    """Whether a failed request certainly changed nothing on the server.

    Throttling answers and connections that were never made change nothing;
    timeouts, resets and other 5xx answers may follow a completed write.
    """
    from botocore import exceptions as bc

    if _status(err) == 429 or _code(err) in ("SlowDown", "Throttling", "ThrottlingException",
                                              "RequestLimitExceeded", "TooManyRequests"):
        return True
    return isinstance(err, bc.EndpointConnectionError | bc.ConnectTimeoutError
                      | bc.NoCredentialsError | bc.CredentialRetrievalError)


def _before(key: str) -> str:
    """A ``StartAfter`` such that the keys listed after it are those ``>= key``.

    S3 lists keys strictly after ``StartAfter``; no finite string sits just
    below ``key``, but one does among keys of at most 1024 bytes: ``key`` with
    its last character lowered by one, then filled up with U+10FFFF (the
    highest character). The few keys that could still fall between are
    dropped by the caller, which compares every key with ``key`` anyway.
    """
    head, last = key[:-1], ord(key[-1])
    if last == 0:
        return head
    lowered = last - 1
    if 0xD800 <= lowered <= 0xDFFF:  # no surrogates in UTF-8
        lowered = 0xD7FF
    out = head + chr(lowered)
    room = (MAX_KEY_BYTES - len(out.encode("utf-8", "surrogatepass"))) // 4
    return out + "\U0010ffff" * max(0, room)


def _one_call(method: F) -> F:
    """Bound a public storage call by the backend's timeout, its retries included."""

    @functools.wraps(method)
    def wrapper(self: S3Storage, *args: Any, **kwargs: Any) -> Any:
        with self._budget():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _BodyReader(io.RawIOBase):
    """A raw stream over one version (ETag) of an object, from a ``GetObject`` body.

    A connection that breaks while the body is read is resumed from where it
    broke with a ranged ``GetObject`` conditional on the same ETag, so the
    bytes never mix two versions. Seeking drops the body; the next read
    starts a ranged request there.
    """

    def __init__(self, storage: S3Storage, info: ObjectInfo, body: Any) -> None:
        super().__init__()
        self._storage = storage
        self._info = info
        self._body: Any = body
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._info.size}[whence]
        if base + offset < 0:
            raise ValueError("Cannot seek before the start of the object.")
        if base + offset != self._pos:
            self._drop_body()
            self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._info.size or not len(view):
            return 0
        for attempt in range(RESUME_ATTEMPTS + 1):
            if self._body is None:
                self._body = self._storage._open_body(self._info, self._pos)
            try:
                count = self._body.readinto(view)
            except Exception as err:
                translated = self._storage._translate(err, self._info.key)
                self._drop_body()
                if not isinstance(translated, StorageUnavailable) or attempt == RESUME_ATTEMPTS:
                    log.warning("Reading %r broke after %d of %d bytes: %s", self._info.key,
                                self._pos, self._info.size, getattr(translated, "message", err))
                    if translated is err:
                        raise
                    raise translated from err
                continue
            if count == 0:  # the body ended before the object did: a connection cut short
                self._drop_body()
                if attempt == RESUME_ATTEMPTS:
                    raise StorageUnavailable(
                        f"Reading {self._info.key!r} broke after {self._pos} of "
                        f"{self._info.size} bytes; try again shortly.")
                continue
            self._pos += count
            return count
        raise AssertionError("unreachable")  # pragma: no cover

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK_SIZE):
            parts.append(chunk)
        return b"".join(parts)

    def _drop_body(self) -> None:
        if self._body is not None:
            try:
                self._body.close()
            except Exception:  # closing a broken connection may fail: it is dropped anyway
                pass
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


class S3Storage(Storage):
    """A bucket on AWS S3 or any S3-compatible service.

    Args:
        bucket: the bucket name.
        timeout: seconds one storage call may take, its retries included.
        endpoint_url: the service's address; ``None`` reads the environment
            (:func:`configured_endpoint`), and without one there it is AWS.
        region: the region to sign for; ``None`` reads ``AWS_REGION``, then
            the SDK's own sources (``AWS_DEFAULT_REGION``, the profile), and
            falls back to ``us-east-1`` for a service other than AWS.
        client: a ready boto3 S3 client (its owner closes it).
        session: a ``boto3.session.Session`` to build the client from.
        retry: how transient faults are retried.
        environ: where the ``AWS_*`` settings are read (``os.environ``).

    Raises:
        StorageConfigError: boto3 is missing, the bucket name is not one S3
            accepts, or no credentials can be found.
    """

    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        timeout: float = 30.0,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: BaseClient | None = None,
        session: Any = None,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not bucket or not _BUCKET_NAME.fullmatch(bucket):
            raise StorageConfigError(
                f"{bucket!r} is not an S3 bucket name: use 3 to 63 lower-case letters, "
                "digits, dots and hyphens.")
        environ = os.environ if environ is None else environ
        self.bucket = bucket
        self._timeout = timeout
        self._retry = retry or RetryPolicy(deadline=timeout)
        self._local = threading.local()  # the deadline of the call under way, per thread
        self._owns_client = client is None
        if client is None:
            client = self._build_client(endpoint_url, region, session, environ)
        self._client: BaseClient = client
        self.endpoint_url: str | None = endpoint_url or configured_endpoint(environ)
        self.service = f"S3 at {_shown_endpoint(self.endpoint_url)}" if self.endpoint_url else "AWS S3"
        # Every request waits only for what is left of its call.
        client.meta.events.register("before-call.s3", self._set_request_timeout)

    def _build_client(
        self, endpoint_url: str | None, region: str | None, session: Any,
        environ: Mapping[str, str],
    ) -> BaseClient:
        session = session or _new_session()
        from botocore import exceptions as bc
        from botocore.config import Config

        endpoint = endpoint_url or configured_endpoint(environ)
        region = (region or environ.get("AWS_REGION", "").strip() or session.region_name
                  or ("us-east-1" if endpoint else None))
        options: dict[str, Any] = {
            "connect_timeout": min(self._timeout, CONNECT_TIMEOUT),
            "read_timeout": self._timeout,
            "retries": {"total_max_attempts": 1, "mode": "standard"},  # retried here
            "max_pool_connections": MAX_CONNECTIONS,
            "user_agent_extra": "gallery",
        }
        if endpoint:
            # Every S3-compatible service answers path-style requests; not all
            # have a DNS name per bucket. Nor do all accept the checksums the
            # SDK adds by default since 2025: send them only where required,
            # unless the environment says otherwise.
            options["s3"] = {"addressing_style": "path"}
            for option, variable in _CHECKSUM_VARIABLES.items():
                if not environ.get(variable):
                    options[option] = "when_required"
        try:
            if session.get_credentials() is None:
                raise StorageConfigError(
                    "S3 found no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    "(or AWS_PROFILE, or any other source of the AWS credential chain).")
            return session.client("s3", endpoint_url=endpoint, region_name=region,
                                  config=Config(**options))
        except ValueError as err:  # a malformed endpoint URL
            raise StorageConfigError(f"The S3 endpoint {endpoint!r} is not usable: {err}") from err
        except bc.BotoCoreError as err:
            raise StorageConfigError(f"S3 is not configured correctly: {err}") from err

    def describe(self) -> str:
        return f"s3://{self.bucket} ({self.service})"

    @property
    def location(self) -> str:
        return self.bucket

    def close(self) -> None:
        """Close the connections of a client this backend built (a given one is only let go)."""
        self._client.meta.events.unregister("before-call.s3", self._set_request_timeout)
        if self._owns_client:
            self._client.close()

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _budget(self) -> Iterator[None]:
        """Start the deadline of one storage call, unless one is already running."""
        if getattr(self._local, "deadline", None) is not None:
            yield
            return
        self._local.deadline = time.monotonic() + self._timeout
        try:
            yield
        finally:
            self._local.deadline = None

    def _time_left(self) -> float:
        """Seconds left of the call under way (the whole timeout outside one)."""
        deadline = getattr(self._local, "deadline", None)
        return self._timeout if deadline is None else deadline - time.monotonic()

    def _set_request_timeout(self, context: dict[str, Any], **_: Any) -> None:
        """Give the request about to be sent the time left of its call as read timeout.

        Raises:
            StorageUnavailable: no time is left.
        """
        left = self._time_left()
        if left <= 0:
            raise self._unavailable(f"no answer within {self._timeout:g} s")
        context["read_timeout"] = left

    def _config_error(self, what: str) -> StorageConfigError:
        return StorageConfigError(f"{self.service} bucket {self.bucket!r}: {what}")

    def _unavailable(self, what: str) -> StorageUnavailable:
        return StorageUnavailable(f"{self.service} is not answering ({what}); try again shortly.")

    def _translate(self, err: BaseException, key: str | None) -> BaseException:
        """The gallery error for a botocore, urllib3 or socket error (others unchanged).

        A 404 names the object ``key`` unless it says the bucket is missing
        (or ``key`` is ``None``: listings only miss buckets).
        """
        import http.client

        from botocore import exceptions as bc
        from urllib3 import exceptions as urllib3_errors

        if isinstance(err, StorageError):
            return err
        if isinstance(err, bc.ClientError):
            return self._translate_answer(err, key)
        if isinstance(err, bc.NoCredentialsError | bc.PartialCredentialsError):
            return self._config_error(f"no usable credentials: {err}")
        if isinstance(err, bc.CredentialRetrievalError | bc.TokenRetrievalError):
            return self._unavailable("credentials could not be fetched")
        if isinstance(err, bc.ConnectTimeoutError | bc.ReadTimeoutError | TimeoutError
                      | urllib3_errors.TimeoutError):
            return self._unavailable("timed out")
        if isinstance(err, bc.SSLError):
            return self._unavailable("the TLS connection failed")
        if isinstance(err, bc.ConnectionError):
            return self._unavailable("connection failed")
        if isinstance(err, bc.HTTPClientError | bc.IncompleteReadError):
            return self._unavailable(f"the connection broke: {type(err).__name__}")
        if isinstance(err, bc.NoRegionError | bc.ProfileNotFound | bc.InvalidRegionError
                      | bc.EndpointResolutionError):
            return self._config_error(f"the client is not configured correctly: {err}")
        # A response cut short, a reset ... in urllib3, http.client or the socket itself.
        if isinstance(err, urllib3_errors.HTTPError | http.client.HTTPException | OSError):
            return self._unavailable(f"the connection broke: {type(err).__name__}")
        return err

    def _translate_answer(self, err: BaseException, key: str | None) -> StorageError | InvalidKey:
        """The gallery error for an error answer of the service."""
        status, code = _status(err), _code(err)
        message = str(getattr(err, "response", {}).get("Error", {}).get("Message") or code)
        if code == "NoSuchBucket":
            return self._config_error("the bucket does not exist.")
        if status == 404 or code in ("NoSuchKey", "NotFound"):
            if key is None:
                return self._config_error("the bucket does not exist.")
            return ObjectNotFound(key)
        if status in (304, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return PreconditionFailed(key or "", f"{key!r} changed meanwhile.")
        if code == "KeyTooLongError":
            return InvalidKey(f"{self.service} refuses {key!r} as too long ({message}).")
        if code == "NotImplemented" or status == 501:
            return self._config_error(
                f"the service does not support this request ({message}); see the README's "
                "notes on S3-compatible services.")
        if code in _TRANSIENT_CODES or status in (408, 429) or (status or 0) >= 500:
            return self._unavailable(f"HTTP {status} {code}".strip())
        if code == "RequestTimeTooSkewed":
            return self._config_error("this machine's clock is off; set it right (NTP).")
        if status in (401, 403) or code in _ACCESS_CODES:
            return self._config_error(f"access refused ({status} {code}); check the credentials "
                                      "and that they may read, write, list and delete objects.")
        return self._config_error(f"the request was refused (HTTP {status} {code}): {message}")

    def _maybe_applied(self, err: BaseException, key: str | None) -> bool:
        """Whether a failed write that will be retried may have taken effect anyway."""
        transient = isinstance(self._translate(err, key), StorageUnavailable)
        return transient and not _never_sent(err)

    def _call(self, fn: Callable[[int], T], key: str | None) -> T:
        """Run ``fn(attempt)`` with translated errors, retrying transient ones."""

        def attempt(number: int) -> T:
            try:
                return fn(number)
            except Exception as err:
                translated = self._translate(err, key)
                if translated is err:
                    raise
                raise translated from err

        # No new try starts once the call's time is up.
        policy = replace(self._retry, deadline=max(0.0, min(self._retry.deadline, self._time_left())))
        return call_with_retry(
            attempt, policy, transient=lambda e: isinstance(e, StorageUnavailable)
        )

    def _info(self, key: str, answer: Mapping[str, Any]) -> ObjectInfo:
        """The info in a ``HeadObject`` or ``GetObject`` answer."""
        return ObjectInfo(
            key=key,
            size=int(answer.get("ContentLength") or 0),
            content_type=answer.get("ContentType") or DEFAULT_CONTENT_TYPE,
            version=_etag(answer.get("ETag")),
            updated=_utc(answer.get("LastModified")),
        )

    def _head(self, key: str, etag: str | None = None) -> dict[str, Any]:
        """``HeadObject``, of exactly the version ``etag`` when one is given.

        Raises:
            ObjectNotFound: no such object.
            PreconditionFailed: the object is no longer at ``etag``.
        """

        def attempt(_: int) -> dict[str, Any]:
            extra = {"IfMatch": f'"{etag}"'} if etag else {}
            return dict(self._client.head_object(Bucket=self.bucket, Key=key, **extra))

        return self._call(attempt, key)

    def _written(self, key: str, etag: str, size: int, content_type: str) -> ObjectInfo:
        """The info of the version just written: its own ``updated`` when it is still there."""
        try:
            return self._info(key, self._head(key, etag or None))
        except (ObjectNotFound, PreconditionFailed):  # replaced or deleted already
            return ObjectInfo(key, size, content_type, etag, datetime.now(UTC))

    @_one_call
    def _open_body(self, info: ObjectInfo, start: int) -> Any:
        """The body of exactly the version in ``info``, from byte ``start`` on.

        Raises:
            ObjectNotFound: that version is gone (replaced or deleted).
        """

        def attempt(_: int) -> Any:
            answer = self._client.get_object(Bucket=self.bucket, Key=info.key,
                                             Range=f"bytes={start}-", IfMatch=f'"{info.version}"')
            return answer["Body"]

        try:
            return self._call(attempt, info.key)
        except (ObjectNotFound, PreconditionFailed) as err:
            key = info.key
            raise ObjectNotFound(key, f"{key!r} was replaced or deleted while being read.") from err

    # -- writing --------------------------------------------------------------

    @_one_call
    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        if_absent: bool = False,
        if_version: str | None = None,
    ) -> ObjectInfo:
        check_key(key)
        check_conditions(if_absent, if_version)
        if if_version is not None and not _etag(if_version):
            raise PreconditionFailed(key, f"{key!r} is not at version {if_version!r}.")
        content_type = content_type or DEFAULT_CONTENT_TYPE
        conditional = if_absent or if_version is not None
        write_id = uuid.uuid4().hex if conditional else None
        stream, size, spooled = rewindable(data)
        start = stream.tell()
        maybe_written = False
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": content_type,
                                  "ContentLength": size}
        if if_absent:
            params["IfNoneMatch"] = "*"
        elif if_version is not None:
            params["IfMatch"] = f'"{_etag(if_version)}"'
        if write_id is not None:
            params["Metadata"] = {WRITE_ID_KEY: write_id}

        def attempt(_: int) -> str:
            nonlocal maybe_written
            stream.seek(start)
            try:
                answer = self._client.put_object(Body=stream, **params)
            except Exception as err:
                maybe_written = maybe_written or self._maybe_applied(err, key)
                raise
            return _etag(answer.get("ETag"))

        try:
            if size > MAX_PUT_BYTES:
                raise Unsupported(f"{key!r}: S3 takes at most 5 GiB in one write.")
            etag = self._call(attempt, key)
        except (PreconditionFailed, ObjectNotFound) as err:
            if isinstance(err, ObjectNotFound) and if_version is None:
                raise
            # AWS answers If-Match on a missing key with 404: the version is not there.
            if maybe_written:
                return self._own_write(key, write_id)
            if if_absent:
                raise PreconditionFailed(key, f"{key!r} already exists.") from err
            raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.") from err
        finally:
            if spooled:
                stream.close()
        return self._written(key, etag, size, content_type)

    def _own_write(self, key: str, write_id: str | None) -> ObjectInfo:
        """After a retried conditional write met 412: our object, or "outcome unknown".

        Raises:
            StorageUnavailable: someone else's object is current; whether our
                first try landed before it cannot be told.
        """
        try:
            answer = self._head(key)
        except ObjectNotFound:
            answer = None
        if answer is not None and (answer.get("Metadata") or {}).get(WRITE_ID_KEY) == write_id:
            return self._info(key, answer)
        raise StorageUnavailable(
            f"Writing {key!r} was interrupted and it is not known whether it was stored; "
            "read it again before retrying."
        )

    @_one_call
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete ``key``; S3 answers a delete of a missing key as a success, so a
        ``HeadObject`` first tells whether it was there (unless ``missing_ok``)."""
        check_key(key)
        if not missing_ok:
            self._head(key)  # raises ObjectNotFound

        def attempt(_: int) -> None:
            self._client.delete_object(Bucket=self.bucket, Key=key)

        self._call(attempt, key)

    # -- reading --------------------------------------------------------------

    @_one_call
    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        check_key(key)

        def attempt(_: int) -> tuple[bytes, ObjectInfo]:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            with answer["Body"] as body:
                data = body.read()
            return data, self._info(key, answer)

        return self._call(attempt, key)

    @_one_call
    def open(self, key: str) -> BinaryIO:
        """A seekable stream over the current version.

        The download starts here, so a storage that does not answer fails the
        caller (a 503) before any response has started; a connection that
        breaks later is resumed from where it broke (same ETag), and past
        that it is logged and cuts the stream.
        """
        check_key(key)

        def attempt(_: int) -> tuple[Any, ObjectInfo]:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            return answer["Body"], self._info(key, answer)

        body, info = self._call(attempt, key)
        return io.BufferedReader(_BodyReader(self, info, body), buffer_size=CHUNK_SIZE)

    @_one_call
    def stat(self, key: str) -> ObjectInfo:
        check_key(key)
        return self._info(key, self._head(key))

    # -- listing --------------------------------------------------------------

    @_one_call
    def list_page(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> ListPage:
        """One ``ListObjectsV2`` page; the offsets are applied to the keys it returns.

        The page token is the service's continuation token. The items carry
        no content type (``""``): S3 listings do not say it.
        """
        check_page_size(page_size)
        start_offset, end_offset = start_offset or None, end_offset or None
        # Offsets that every key under the prefix passes anyway are dropped.
        if start_offset and start_offset <= prefix:
            start_offset = None
        if end_offset and not end_offset.startswith(prefix) and end_offset > prefix:
            end_offset = None
        if ((end_offset is not None and end_offset <= prefix)
                or (start_offset and not start_offset.startswith(prefix))
                or (start_offset and end_offset and start_offset >= end_offset)):
            return ListPage()  # nothing under the prefix lies between the offsets
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": page_size}
        if prefix:
            params["Prefix"] = prefix
        if page_token:
            params["ContinuationToken"] = _decode_token(page_token)
        elif start_offset:
            params["StartAfter"] = _before(start_offset)

        def attempt(_: int) -> dict[str, Any]:
            return dict(self._client.list_objects_v2(**params))

        answer = self._call(attempt, None)
        items: list[ObjectInfo] = []
        for entry in answer.get("Contents") or []:
            key = entry["Key"]
            if start_offset and key < start_offset:
                continue
            if end_offset is not None and key >= end_offset:
                return ListPage(items=items)
            items.append(ObjectInfo(key=key, size=int(entry.get("Size") or 0), content_type="",
                                    version=_etag(entry.get("ETag")),
                                    updated=_utc(entry.get("LastModified"))))
        token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        return ListPage(items=items, next_token=_encode_token(token) if token else None)


def _encode_token(token: str) -> str:
    """The service's continuation token in URL-safe form (they are opaque and may hold ``/``)."""
    return base64.urlsafe_b64encode(token.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_token(token: str) -> str:
    """A continuation token from :func:`_encode_token`.

    Raises:
        ValueError: it is not one.
    """
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError("That is not a page token of this listing.") from err
