"""``gs://BUCKET``: Google Cloud Storage through ``google-cloud-storage``.

Versions are GCS generations. Conditional writes use ``ifGenerationMatch``
(``0`` for "create only"). Every request carries a timeout and Google's own
retries are switched off: transient faults are retried here, boundedly, and
only where a second try cannot do harm (reads, listings, deletes, copies,
conditional writes, and unconditional writes whose bytes can be sent again).

``timeout`` bounds the whole wait of one storage call (``stat``, ``read``,
``put`` ...), its retries included: the call gives up with
:class:`StorageUnavailable` once that many seconds have passed, and every
request it makes may wait only for the time that is left. Every failure of
the connection itself (refused, reset, timed out, a response cut short, TLS
failures, credentials that could not be fetched) is translated to
:class:`StorageUnavailable` here, at the edge, so none reaches the app as a
500.

A conditional write retried after an ambiguous failure (a lost response) may
meet its own first try as "the current object". Every conditional write
therefore carries a one-off id in its metadata; a ``412`` on a retry is read
as success when the current object carries our id.

``google-cloud-storage`` is optional (``pip install 'gallery[gcs]'``) and is
imported only when a backend is built.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from gallery.errors import (
    ObjectNotFound,
    PreconditionFailed,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)
from gallery.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    Data,
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
    from google.cloud.storage import Blob, Bucket, Client

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gallery[gcs]'"
#: Metadata key naming the write that produced an object (conditional writes only).
WRITE_ID_KEY = "gallery-write-id"
#: Chunk of a resumable upload (a multiple of 256 KiB, as GCS requires); the
#: client sends objects of up to 8 MiB in one request and larger ones resumably.
UPLOAD_CHUNK = 8 * 1024 * 1024
#: Range size when a stream is read to its end in one call.
READALL_CHUNK = 8 * 1024 * 1024
#: How often a read looks again for exact metadata when the object keeps changing.
READ_ATTEMPTS = 4
_BUCKET_MISSING = "bucket does not exist"


def _import_storage() -> Any:
    """The ``google.cloud.storage`` module, or a config error with the install hint."""
    try:
        from google.cloud import storage
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise StorageConfigError(
            f"Google Cloud Storage needs google-cloud-storage: {INSTALL_HINT}"
        ) from err
    return storage


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _status(err: BaseException) -> int | None:
    """The HTTP status behind a google or resumable-media error, if any."""
    code = getattr(err, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transport_error(err: BaseException) -> bool:
    """Whether ``err`` is a failure of the connection itself, whichever library noticed it.

    Refused, reset, timed out, a response cut short (``ChunkedEncodingError``,
    ``ProtocolError``, ``IncompleteRead``, ``RemoteDisconnected``), TLS
    failures, and credentials that could not be fetched over the network.
    """
    import http.client

    import requests
    from google.auth import exceptions as auth_errors
    from urllib3 import exceptions as urllib3_errors

    return isinstance(err, requests.RequestException | urllib3_errors.HTTPError
                      | http.client.HTTPException | auth_errors.TransportError | OSError)


def _never_sent(err: BaseException) -> bool:
    """Whether a failed request certainly did not reach the server.

    Rate limiting, credential failures and refused connections change
    nothing; timeouts, resets and 5xx answers may follow a completed write.
    """
    import requests
    from google.auth import exceptions as auth_errors
    from urllib3.exceptions import NewConnectionError

    if _status(err) == 429:
        return True
    if isinstance(err, auth_errors.GoogleAuthError | requests.ConnectTimeout):
        return True
    if isinstance(err, requests.ConnectionError):
        reason = getattr(err.args[0] if err.args else None, "reason", None)
        return isinstance(reason, NewConnectionError)
    return False


def _one_call(method: F) -> F:
    """Bound a public storage call by the backend's timeout, its retries included."""

    @functools.wraps(method)
    def wrapper(self: GCSStorage, *args: Any, **kwargs: Any) -> Any:
        with self._budget():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _RangeReader(io.RawIOBase):
    """A seekable raw stream over one generation of an object, read in ranges."""

    def __init__(self, storage: GCSStorage, info: ObjectInfo) -> None:
        super().__init__()
        self._storage = storage
        self._info = info
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
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._info.size - self._pos)
        if count <= 0:
            return 0
        try:
            data = self._storage._download(self._info, self._pos, self._pos + count - 1)
        except ObjectNotFound as err:
            key = self._info.key
            raise ObjectNotFound(key, f"{key!r} was replaced or deleted while being read.") from err
        except StorageUnavailable as err:
            if self._pos > 0:  # a response already under way is cut here
                log.warning("Reading %r broke after %d of %d bytes: %s",
                            self._info.key, self._pos, self._info.size, err.message)
            raise
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(READALL_CHUNK):
            parts.append(chunk)
        return b"".join(parts)


class GCSStorage(Storage):
    """A Google Cloud Storage bucket.

    Args:
        bucket: the bucket name.
        timeout: seconds any single request may take.
        client: a ready ``google.cloud.storage.Client`` (its owner closes it).
        credentials: credentials for a client built here (ambient ones when
            ``None``; anonymous when ``STORAGE_EMULATOR_HOST`` is set).
        project: the project for a client built here (none is needed).
        retry: how transient faults are retried.

    Raises:
        StorageConfigError: google-cloud-storage is missing, or no credentials
            can be found.
    """

    scheme = "gcs"
    #: Shown in messages; subclasses for services built on GCS change it.
    service = "Google Cloud Storage"

    #: Whether a bucket not named at start is looked up on first use (:meth:`_find_bucket`).
    _finds_bucket = False

    def __init__(
        self,
        bucket: str | None,
        *,
        timeout: float = 30.0,
        client: Client | None = None,
        credentials: Any = None,
        project: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not bucket and not self._finds_bucket:
            raise StorageConfigError(f"{self.service} needs a bucket name.")
        storage = _import_storage()
        self._timeout = timeout
        self._retry = retry or RetryPolicy(deadline=timeout)
        self._local = threading.local()  # the deadline of the call under way, per thread
        self._owns_client = client is None
        if client is None:
            from google.auth import exceptions as auth_errors

            try:
                client = storage.Client(project=project, credentials=credentials)
            except auth_errors.DefaultCredentialsError as err:
                raise StorageConfigError(
                    f"{self.service} found no credentials: set "
                    "GOOGLE_APPLICATION_CREDENTIALS or run "
                    "'gcloud auth application-default login'."
                ) from err
        self._client: Client = client
        self._bucket_handle: Bucket | None = client.bucket(bucket) if bucket else None
        self._bucket_lock = threading.Lock()

    @property
    def _bucket(self) -> Bucket:
        """The bucket handle, looked up on first use when it was not known at start.

        Raises:
            StorageUnavailable: the bucket cannot be looked up right now.
            StorageConfigError: the look-up says there is no bucket.
        """
        handle = self._bucket_handle
        if handle is None:
            with self._bucket_lock:
                if self._bucket_handle is None:
                    self._bucket_handle = self._client.bucket(self._find_bucket())
                handle = self._bucket_handle
        return handle

    def _find_bucket(self) -> str:
        """The bucket's name, for backends that look it up (see ``_finds_bucket``).

        Raises:
            StorageConfigError: this backend needs the name at start.
        """
        raise StorageConfigError(f"{self.service} needs a bucket name.")

    @property
    def bucket_name(self) -> str:
        """The bucket's name.

        Raises:
            StorageUnavailable: it is looked up on first use and that failed.
        """
        return str(self._bucket.name)

    def describe(self) -> str:
        return f"gs://{self.bucket_name} ({self.service})"

    @property
    def location(self) -> str:
        return self.bucket_name

    def close(self) -> None:
        """Close the HTTP sessions of a client this backend built."""
        if self._owns_client:
            self._client.close()

    # -- plumbing -------------------------------------------------------------

    def _blob(self, key: str, generation: int | None = None) -> Blob:
        # A fresh handle per call: a reused one pins the generation it last saw.
        return self._bucket.blob(key, generation=generation)

    def _config_error(self, what: str) -> StorageConfigError:
        return StorageConfigError(f"{self.service} bucket {self.bucket_name!r}: {what}")

    def _unavailable(self, what: str) -> StorageUnavailable:
        return StorageUnavailable(f"{self.service} is not answering ({what}); try again shortly.")

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

    def _request_timeout(self) -> float:
        """The socket timeout for the next request: the time left of the call.

        Raises:
            StorageUnavailable: no time is left.
        """
        left = self._time_left()
        if left <= 0:
            raise self._unavailable(f"no answer within {self._timeout:g} s")
        return left

    def _translate(
        self, err: BaseException, key: str | None, *, missing_bucket: bool = False
    ) -> BaseException:
        """The gallery error for a google, auth or transport error (others unchanged).

        A 404 names the object ``key``, unless ``key`` is ``None`` or
        ``missing_bucket`` is set (listings and uploads only miss buckets).
        Every failure of the connection, whichever library noticed it, is
        :class:`StorageUnavailable`.
        """
        import requests
        from google.api_core import exceptions as api_errors
        from google.auth import exceptions as auth_errors
        from google.resumable_media import common as media_errors
        from urllib3 import exceptions as urllib3_errors

        if isinstance(err, StorageError):
            return err
        if isinstance(err, api_errors.NotFound):
            if key is None or missing_bucket or _BUCKET_MISSING in str(err.message):
                return self._config_error("the bucket does not exist.")
            return ObjectNotFound(key)
        if isinstance(err, api_errors.PreconditionFailed | api_errors.NotModified):
            return PreconditionFailed(key or "", f"{key!r} changed meanwhile.")
        if isinstance(err, api_errors.Unauthorized | api_errors.Forbidden):
            return self._config_error(f"access refused ({err.code}); check the credentials.")
        if isinstance(err, auth_errors.RefreshError):
            if err.retryable or isinstance(err.__cause__, auth_errors.TransportError):
                return self._unavailable("credentials could not be refreshed")
            return self._config_error(f"the credentials were refused: {err}")
        if isinstance(err, auth_errors.DefaultCredentialsError):
            return self._config_error(f"no usable credentials: {err}")
        if isinstance(err, auth_errors.TransportError):
            return self._unavailable("fetching credentials failed")
        if isinstance(err, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema
                      | requests.exceptions.MissingSchema):
            return self._config_error(f"the storage address is not usable: {err}")
        if isinstance(err, requests.Timeout | urllib3_errors.TimeoutError | TimeoutError):
            return self._unavailable("timed out")
        if isinstance(err, requests.ConnectionError):
            return self._unavailable("connection failed")
        if isinstance(err, media_errors.DataCorruption):
            return self._unavailable("a download failed its checksum")
        status = _status(err)
        if isinstance(err, api_errors.GoogleAPICallError | media_errors.InvalidResponse):
            if status is not None and (status in (408, 429) or status >= 500):
                return self._unavailable(f"HTTP {status}")
            return self._config_error(f"the request was refused (HTTP {status}): {err}")
        # A response cut short, a reset, a TLS failure ... in requests, urllib3,
        # http.client or the socket itself.
        if is_transport_error(err):
            return self._unavailable(f"the connection broke: {type(err).__name__}")
        return err

    def _maybe_applied(self, err: BaseException, key: str | None) -> bool:
        """Whether a failed write that will be retried may have taken effect anyway."""
        transient = isinstance(self._translate(err, key), StorageUnavailable)
        return transient and not _never_sent(err)

    def _call(self, fn: Callable[[int], T], key: str | None, *, writes: bool = False) -> T:
        """Run ``fn(attempt)`` with translated errors, retrying transient ones.

        With ``writes``, a 404 means the bucket is missing (writing creates the object).
        """

        def attempt(number: int) -> T:
            try:
                return fn(number)
            except Exception as err:
                translated = self._translate(err, key, missing_bucket=writes)
                if translated is err:
                    raise
                raise translated from err

        # No new try starts once the call's time is up.
        policy = replace(self._retry, deadline=max(0.0, min(self._retry.deadline, self._time_left())))
        return call_with_retry(
            attempt, policy, transient=lambda e: isinstance(e, StorageUnavailable)
        )

    def _info(self, blob: Blob, key: str | None = None) -> ObjectInfo:
        return ObjectInfo(
            key=key or blob.name,
            size=int(blob.size or 0),
            content_type=blob.content_type or DEFAULT_CONTENT_TYPE,
            version=str(blob.generation),
            updated=_utc(blob.updated),
        )

    def _stat_generation(self, key: str, generation: int) -> ObjectInfo:
        def attempt(_: int) -> Blob:
            blob = self._blob(key, generation)
            blob.reload(timeout=self._request_timeout(), retry=None)
            return blob

        return self._info(self._call(attempt, key), key)

    def _stat_blob(self, key: str) -> Blob:
        def attempt(_: int) -> Blob:
            blob = self._blob(key)
            blob.reload(timeout=self._request_timeout(), retry=None)
            return blob

        return self._call(attempt, key)

    @_one_call
    def _download(self, info: ObjectInfo, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive) of exactly the generation in ``info``.

        Raises:
            ObjectNotFound: that generation is gone (replaced or deleted).
        """

        def attempt(_: int) -> bytes:
            blob = self._blob(info.key, int(info.version))
            return bytes(
                blob.download_as_bytes(
                    start=start, end=end, timeout=self._request_timeout(), retry=None, checksum=None
                )
            )

        return self._call(attempt, info.key)

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
        if if_version is not None and not if_version.isdigit():
            # Not a generation at all, so it cannot be the current one.
            raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.")
        generation = 0 if if_absent else (int(if_version) if if_version is not None else None)
        write_id = uuid.uuid4().hex if generation is not None else None
        stream, size, spooled = rewindable(data)
        start = stream.tell()
        maybe_written = False

        def attempt(number: int) -> ObjectInfo:
            nonlocal maybe_written
            stream.seek(start)
            blob = self._blob(key)
            blob.chunk_size = UPLOAD_CHUNK
            if write_id is not None:
                blob.metadata = {WRITE_ID_KEY: write_id}
            try:
                blob.upload_from_file(
                    stream,
                    size=size,
                    content_type=content_type or DEFAULT_CONTENT_TYPE,
                    if_generation_match=generation,
                    timeout=self._request_timeout(),
                    checksum="crc32c",
                    retry=None,
                )
            except Exception as err:
                maybe_written = maybe_written or self._maybe_applied(err, key)
                raise
            return self._info(blob, key)

        try:
            return self._call(attempt, key, writes=True)
        except PreconditionFailed as err:
            if maybe_written:
                return self._own_write(key, write_id)
            if if_absent:
                raise PreconditionFailed(key, f"{key!r} already exists.") from err
            raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.") from err
        finally:
            if spooled:
                stream.close()

    def _own_write(self, key: str, write_id: str | None) -> ObjectInfo:
        """After a retried conditional write met 412: our object, or "outcome unknown".

        Raises:
            StorageUnavailable: someone else's object is current; whether our
                first try landed before it cannot be told.
        """
        try:
            blob = self._stat_blob(key)
        except ObjectNotFound:
            blob = None
        if blob is not None and (blob.metadata or {}).get(WRITE_ID_KEY) == write_id:
            return self._info(blob, key)
        raise StorageUnavailable(
            f"Writing {key!r} was interrupted and it is not known whether it was stored; "
            "read it again before retrying."
        )

    @_one_call
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        check_key(key)
        maybe_deleted = False

        def attempt(_: int) -> None:
            nonlocal maybe_deleted
            try:
                self._blob(key).delete(timeout=self._request_timeout(), retry=None)
            except Exception as err:
                maybe_deleted = maybe_deleted or self._maybe_applied(err, key)
                raise

        try:
            self._call(attempt, key)
        except ObjectNotFound:
            # Gone is gone, even when an earlier try of ours may have removed it.
            if not (missing_ok or maybe_deleted):
                raise

    # -- reading --------------------------------------------------------------

    @_one_call
    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        """The bytes and the info of one generation.

        The object is downloaded first (the answer names its generation), then
        that generation's metadata is fetched. When the object is replaced in
        between every time, the last download is returned with its ``updated``
        taken as the time it was read.
        """
        check_key(key)
        for _ in range(READ_ATTEMPTS):
            blob = self._blob(key)

            def download(_: int, blob: Blob = blob) -> bytes:
                return bytes(
                    blob.download_as_bytes(timeout=self._request_timeout(), retry=None, checksum="crc32c")
                )

            data = self._call(download, key)
            if blob.generation is None:  # pragma: no cover - GCS always names it
                return data, self.stat(key)
            read_at = datetime.now(UTC)
            info = ObjectInfo(
                key=key,
                size=len(data),
                content_type=blob.content_type or DEFAULT_CONTENT_TYPE,
                version=str(blob.generation),
                updated=read_at,
            )
            try:
                return data, self._stat_generation(key, int(info.version))
            except ObjectNotFound:
                continue  # replaced since the download: try again for exact metadata
        return data, info

    @_one_call
    def open(self, key: str) -> BinaryIO:
        """A seekable stream over the current generation.

        The first chunk is fetched here, so a storage that does not answer
        fails the caller (a 503) before any response has started; a failure
        later on is logged and cuts the stream.
        """
        info = self.stat(key)
        stream = io.BufferedReader(_RangeReader(self, info), buffer_size=CHUNK_SIZE)
        if info.size:
            try:
                stream.peek(1)
            except BaseException:
                stream.close()
                raise
        return stream

    @_one_call
    def stat(self, key: str) -> ObjectInfo:
        check_key(key)
        return self._info(self._stat_blob(key), key)

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
        check_page_size(page_size)

        def attempt(_: int) -> ListPage:
            listing = self._client.list_blobs(
                self._bucket,
                prefix=prefix or None,
                start_offset=start_offset or None,
                end_offset=end_offset or None,
                page_size=page_size,
                page_token=page_token or None,
                fields="items(name,size,contentType,generation,updated),nextPageToken",
                timeout=self._request_timeout(),
                retry=None,
            )
            page = next(listing.pages)
            items = [self._info(blob) for blob in page]
            return ListPage(items=items, next_token=listing.next_page_token or None)

        return self._call(attempt, None)
