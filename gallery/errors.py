"""One family of errors, each carrying the HTTP status and code it is shown with.

Domain and storage code raise these; the web layer renders them as a page or as
the API's ``{"error": {"code": ..., "message": ...}}`` shape. Nothing here
imports Flask.
"""

from __future__ import annotations


class GalleryError(Exception):
    """Base of every error the gallery shows to a person or a script."""

    status: int = 500
    code: str = "internal_error"
    default_message: str = "Something went wrong on our side."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """Extra response headers that go with this error."""
        return {}


class BadRequest(GalleryError):
    status, code = 400, "bad_request"
    default_message = "The request was not understood."


class NotSignedIn(GalleryError):
    status, code = 401, "not_signed_in"
    default_message = "Please sign in first."


class Forbidden(GalleryError):
    status, code = 403, "forbidden"
    default_message = "You are not allowed to do that."


class NotFound(GalleryError):
    status, code = 404, "not_found"
    default_message = "There is nothing here."


class Conflict(GalleryError):
    status, code = 409, "conflict"
    default_message = "That conflicts with the current state; try again."


class Gone(GalleryError):
    status, code = 410, "gone"
    default_message = "That is no longer available."


class TooLarge(GalleryError):
    status, code = 413, "too_large"
    default_message = "That is too large."


class UnsupportedType(GalleryError):
    status, code = 415, "unsupported_type"
    default_message = "That is not an allowed image type (JPEG, PNG, GIF, WebP, HEIC or AVIF)."


class DamagedImage(GalleryError):
    status, code = 422, "damaged_image"
    default_message = "The image is damaged or could not be decoded."


class TooManyAttempts(GalleryError):
    status, code = 429, "too_many_attempts"
    default_message = "Too many attempts; wait a little and try again."

    def __init__(self, message: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ConfigError(GalleryError):
    """The settings are wrong; raised at start-up with a message saying how to fix them."""

    status, code = 500, "configuration_error"
    default_message = "The gallery is not configured correctly."


# --- storage -----------------------------------------------------------------


class StorageError(GalleryError):
    """Base of every error a storage backend raises."""

    status, code = 500, "storage_error"
    default_message = "The storage failed."


class ObjectNotFound(StorageError):
    """The object does not exist."""

    status, code = 404, "not_found"
    default_message = "The object does not exist."

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"No object at {key!r}.")
        self.key = key


class PreconditionFailed(StorageError):
    """A conditional write lost: the object exists, or its version moved on."""

    status, code = 409, "conflict"
    default_message = "The object changed meanwhile."

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"Precondition failed for {key!r}.")
        self.key = key


class StorageUnavailable(StorageError):
    """A transient fault (timeout, 429, 5xx, sidecar down): worth retrying later."""

    status, code = 503, "storage_unavailable"
    default_message = "The storage is not answering right now; try again shortly."

    def __init__(self, message: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class StorageFull(StorageUnavailable):
    """The storage has no room for this write (small documents and deletes still work)."""

    code = "storage_full"
    default_message = "The storage is full; delete images to free space, or add space."

    def __init__(self, message: str | None = None, retry_after: int = 300) -> None:
        super().__init__(message, retry_after)


class Unsupported(StorageError):
    """The backend cannot do this operation."""

    status, code = 501, "unsupported"
    default_message = "The storage backend does not support that."


class StorageConfigError(StorageError, ConfigError):
    """The storage URL or its credentials are wrong (bucket missing, not allowed, ...)."""

    status, code = 500, "storage_configuration_error"
    default_message = "The storage is not configured correctly."
