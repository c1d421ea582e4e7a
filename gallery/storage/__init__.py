"""Storage backends, chosen by a ``GALLERY_STORAGE`` URL.

=====================  ==================================================
``memory://``          in this process (tests)
``file://./data``      a local folder (relative or ``file:///abs/path``)
``replit://[BUCKET]``  Replit Object Storage (default bucket when empty)
``gs://BUCKET``        Google Cloud Storage with ambient credentials
``s3://BUCKET``        AWS S3 or any S3-compatible service (``AWS_*``)
=====================  ==================================================
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from gallery.errors import ConfigError
from gallery.storage.base import ListPage, ObjectInfo, Storage, check_key

__all__ = ["ListPage", "ObjectInfo", "Storage", "check_key", "open_storage", "SCHEMES"]

SCHEMES = ("memory", "file", "replit", "gs", "s3")


def open_storage(url: str, *, timeout: float = 30.0) -> Storage:
    """Build the backend a storage URL names.

    Optional SDKs are imported here, lazily, so that a missing one only matters
    to people who choose that backend.

    Args:
        url: the storage URL (see the module docstring).
        timeout: seconds any single network call may take before it counts as
            a transient failure.

    Raises:
        ConfigError: the URL is malformed or names an unknown scheme.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "memory":
        from gallery.storage.memory import MemoryStorage

        return MemoryStorage()
    if scheme == "file":
        from gallery.storage.local import FileStorage

        # file://./data -> netloc ".", path "/data"; file:///abs -> netloc "", path "/abs"
        path = unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path)
        if not path:
            raise ConfigError(f"GALLERY_STORAGE {url!r} names no folder; try file://./data.")
        return FileStorage(path)
    if scheme == "replit":
        from gallery.storage.replit import ReplitStorage

        bucket = parts.netloc or None
        return ReplitStorage(bucket, timeout=timeout)
    if scheme in ("gs", "gcs"):
        from gallery.storage.gcs import GCSStorage

        if not parts.netloc:
            raise ConfigError(f"GALLERY_STORAGE {url!r} names no bucket; try gs://my-bucket.")
        return GCSStorage(parts.netloc, timeout=timeout)
    if scheme == "s3":
        from gallery.storage.s3 import S3Storage

        if not parts.netloc:
            raise ConfigError(f"GALLERY_STORAGE {url!r} names no bucket; try s3://my-bucket.")
        if parts.path.strip("/") or parts.query:
            raise ConfigError(
                f"GALLERY_STORAGE {url!r}: give the bucket alone (s3://{parts.netloc}); "
                "a folder inside it goes in GALLERY_PREFIX, the service's address in "
                "AWS_ENDPOINT_URL."
            )
        return S3Storage(parts.netloc, timeout=timeout)
    raise ConfigError(
        f"GALLERY_STORAGE {url!r} is not a storage URL this gallery knows; "
        "use memory://, file://PATH, replit://[BUCKET], gs://BUCKET or s3://BUCKET."
    )
