"""``replit://[BUCKET]``: Replit Object Storage.

Replit Object Storage is Google Cloud Storage behind a local sidecar
(``127.0.0.1:1106``) that hands out credentials and names the Repl's default
bucket. The ``replit-object-storage`` package supplies the sidecar's addresses
and the credential recipe (``google.auth.identity_pool`` with its ``REPLIT_ADC``);
its ``Client`` has no content types, preconditions, ranges or sizes in listings,
so the objects themselves are handled by :class:`~gallery.storage.gcs.GCSStorage`
with those same credentials.

The default bucket is looked up at start with a short timeout. An answer that
is certain (no default bucket, access refused) stops start-up with a clear
message; a sidecar that does not answer (yet) does not: the bucket is looked up
again on first use, and until then every call fails with
:class:`StorageUnavailable` (503), so the gallery recovers by itself. Code that calls the
``replit.object_storage.Client`` directly translates its errors with
:func:`replit_sdk_errors`.

Optional: ``pip install 'gallery[replit]'``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gallery.errors import ObjectNotFound, StorageConfigError, StorageError, StorageUnavailable
from gallery.storage.gcs import GCSStorage, is_transport_error
from gallery.storage.retry import RetryPolicy

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gallery[replit]'"
#: Seconds the sidecar gets to name the default bucket before we give up.
SIDECAR_PROBE_TIMEOUT = 3.0

NO_DEFAULT_BUCKET = (
    "Replit Object Storage has no default bucket: open the Object Storage tool in "
    "your Repl and create a bucket, or set GALLERY_STORAGE=replit://BUCKET_ID."
)
SIDECAR_ABSENT = (
    "The Replit storage sidecar at 127.0.0.1:1106 is not answering: replit:// only "
    "works inside Replit; use file://./data elsewhere."
)


def _replit_config() -> Any:
    """The ``replit.object_storage._config`` module, or a config error with the hint."""
    try:
        from replit.object_storage import _config
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise StorageConfigError(
            f"Replit Object Storage needs replit-object-storage: {INSTALL_HINT}"
        ) from err
    return _config


def resolve_default_bucket(timeout: float = SIDECAR_PROBE_TIMEOUT) -> str:
    """Ask the sidecar for the Repl's default bucket, waiting at most ``timeout``.

    Raises:
        StorageUnavailable: the sidecar does not answer, is slow, or fails (5xx).
        StorageConfigError: the sidecar answered that there is no default bucket.
    """
    import requests

    url = _replit_config().REPLIT_DEFAULT_BUCKET_URL
    try:
        with requests.Session() as session, session.get(url, timeout=timeout) as answer:
            status = answer.status_code
            try:
                body = answer.json()
            except ValueError:
                body = None
    except (requests.RequestException, OSError) as err:
        raise StorageUnavailable(SIDECAR_ABSENT) from err
    if status >= 500:
        raise StorageUnavailable(
            f"The Replit storage sidecar failed to name the default bucket (HTTP {status}); "
            "try again shortly."
        )
    bucket = body.get("bucketId") if isinstance(body, dict) else None
    if status != 200 or not isinstance(bucket, str) or not bucket:
        detail = f" (the sidecar answered HTTP {status})" if status != 200 else ""
        raise StorageConfigError(NO_DEFAULT_BUCKET + detail)
    return bucket


def replit_credentials() -> Any:
    """Credentials that the sidecar exchanges for a GCS access token on first use."""
    from google.auth import identity_pool

    return identity_pool.Credentials(**_replit_config().REPLIT_ADC)


def translate_replit_error(err: BaseException, key: str | None = None) -> BaseException:
    """The gallery error for an error of ``replit.object_storage`` (others unchanged)."""
    from replit.object_storage import errors

    if isinstance(err, errors.ObjectNotFoundError):
        return ObjectNotFound(key or "")
    if isinstance(err, errors.TooManyRequestsError):
        return StorageUnavailable("Replit Object Storage is rate limiting; try again shortly.")
    if isinstance(err, errors.DefaultBucketError):
        return StorageConfigError(NO_DEFAULT_BUCKET)
    if isinstance(err, errors.BucketNotFoundError):
        return StorageConfigError(
            "The Replit Object Storage bucket does not exist; check the bucket id in "
            "GALLERY_STORAGE or the Object Storage tool."
        )
    if isinstance(err, errors.ForbiddenError | errors.UnauthorizedError):
        return StorageConfigError(
            "Replit Object Storage refused access to the bucket; make sure this Repl "
            "has access to it in the Object Storage tool."
        )
    if is_transport_error(err):
        return StorageUnavailable(
            f"Replit Object Storage is not answering ({type(err).__name__}); try again shortly."
        )
    return err


@contextmanager
def replit_sdk_errors(key: str | None = None) -> Iterator[None]:
    """Translate errors of ``replit.object_storage.Client`` calls made in the block.

    Raises:
        ObjectNotFound, StorageUnavailable, StorageConfigError: for the SDK's errors.
    """
    try:
        yield
    except StorageError:
        raise
    except Exception as err:
        translated = translate_replit_error(err, key)
        if translated is err:
            raise
        raise translated from err


class ReplitStorage(GCSStorage):
    """A Replit Object Storage bucket (the Repl's default one when ``bucket_id`` is empty).

    Args:
        bucket_id: the bucket id; ``None`` asks the sidecar for the default.
        timeout: seconds any single request may take.
        retry: how transient faults are retried.

    Raises:
        StorageConfigError: the SDK is missing, or the sidecar says there is no
            default bucket. A sidecar that does not answer is no error here:
            the default bucket is then looked up on first use.
    """

    scheme = "replit"
    service = "Replit Object Storage"
    _finds_bucket = True

    def __init__(
        self,
        bucket_id: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        bucket = bucket_id
        if not bucket:
            try:
                bucket = resolve_default_bucket(min(timeout, SIDECAR_PROBE_TIMEOUT))
            except StorageUnavailable as err:
                log.warning("%s The default bucket is looked up again on first use.", err.message)
                bucket = None
        # The replit SDK builds its GCS client the same way: these credentials, no project.
        super().__init__(
            bucket, timeout=timeout, credentials=replit_credentials(), project=None, retry=retry
        )

    def _find_bucket(self) -> str:
        """The default bucket, asked of the sidecar within the time left of the call.

        Raises:
            StorageUnavailable: the sidecar does not answer yet.
            StorageConfigError: it says there is no default bucket.
        """
        return resolve_default_bucket(max(0.05, min(self._time_left(), SIDECAR_PROBE_TIMEOUT)))

    def describe(self) -> str:
        if self._bucket_handle is None:
            return "replit:// (Replit Object Storage; default bucket not known yet)"
        return f"replit://{self.bucket_name} (Replit Object Storage)"

    @property
    def location(self) -> str:
        return "the default bucket, not known yet" if self._bucket_handle is None \
            else self.bucket_name

    def _translate(
        self, err: BaseException, key: str | None, *, missing_bucket: bool = False
    ) -> BaseException:
        from google.auth import exceptions as auth_errors

        if isinstance(err, auth_errors.TransportError) or (
            isinstance(err, auth_errors.RefreshError)
            and isinstance(err.__cause__, auth_errors.TransportError)
        ):
            return StorageUnavailable(SIDECAR_ABSENT)
        if isinstance(err, auth_errors.RefreshError) and not err.retryable:
            return StorageConfigError(
                f"The Replit storage sidecar did not hand out credentials: {err}"
            )
        translated = translate_replit_error(err, key)
        return super()._translate(translated, key, missing_bucket=missing_bucket)
