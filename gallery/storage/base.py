"""The object-storage port: one small interface for a bucket of objects.

Every backend (memory, file, replit, gcs, s3) implements :class:`Storage` and passes
the shared contract suite in ``tests/storage/contract.py``. The rest of the app
only ever talks to this interface.

Semantics every backend keeps:

* Keys are built by :mod:`gallery.keys`, never from input, from a small
  alphabet that every backend and filesystem stores as it is: segments of
  ``a-z 0-9 . _ -`` (not starting with ``.``, at most 128 characters) joined
  by ``/``, at most 512 characters in all. :func:`check_key` refuses anything
  else, so no backend escapes or encodes a key.
* ``version`` is an opaque token that changes on every write of a key
  (GCS generation; a counter on the file and memory backends), except on
  ``s3``, whose version is the ETag: the MD5 of the bytes, which writing the
  same bytes again keeps.
* Listings are in byte order of the key (SeaweedFS lists a folder's keys
  right after the folder's name, before a sibling such as ``a-b`` or ``a.b``
  of a folder ``a/``; the gallery's own keys never meet that case). Their
  items carry every field of :class:`ObjectInfo`, except that ``content_type``
  is ``""`` where the service's listings do not say it (S3): ``stat`` has it.
* Conditional writes: ``if_absent=True`` creates only; ``if_version=V``
  replaces only while the current version is ``V``. Losing raises
  :class:`PreconditionFailed`. Two racing writers: exactly one wins.
* Errors are only those of :mod:`gallery.errors` (``ObjectNotFound``,
  ``PreconditionFailed``, ``StorageUnavailable``, ``Unsupported``,
  ``StorageConfigError``), translated at the backend's edge.
"""

from __future__ import annotations

import abc
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from gallery.errors import BadRequest, ObjectNotFound

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_KEY_BYTES = 512
"""The longest key (its characters are ASCII, so bytes and characters agree)."""
MAX_SEGMENT = 128
"""The longest part of a key between two ``/`` (file names stop at 255 bytes)."""
CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a backend knows about one object, without its bytes."""

    key: str
    size: int
    content_type: str
    version: str
    updated: datetime  # timezone-aware, UTC


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a listing; ``next_token`` is ``None`` on the last page."""

    items: list[ObjectInfo] = field(default_factory=list)
    next_token: str | None = None


class InvalidKey(BadRequest):
    """A key outside the alphabet every backend stores as it is."""

    code = "invalid_key"


SEGMENT = re.compile(r"[a-z0-9_-][a-z0-9._-]{0,127}")
"""One part of a key between two ``/``: lower case letters, digits, ``.``, ``_`` and ``-``,
not starting with ``.`` (so never ``.`` or ``..``, nor a hidden file)."""

_KEY = re.compile(r"(?:[a-z0-9_-][a-z0-9._-]{0,127}/)*[a-z0-9_-][a-z0-9._-]{0,127}")


def check_key(key: str) -> str:
    """Return ``key`` if it is in the key alphabet, else raise :class:`InvalidKey`.

    Allowed: segments matching :data:`SEGMENT` joined by single ``/``, at most
    :data:`MAX_KEY_BYTES` characters in all. Everything else (upper case, spaces,
    other scripts, ``%``, ``~``, empty, ``.`` or ``..`` segments, a leading or
    trailing ``/``) is refused.

    Raises:
        InvalidKey: ``key`` is not such a string.
    """
    if not isinstance(key, str) or len(key) > MAX_KEY_BYTES or not _KEY.fullmatch(key):
        raise InvalidKey(
            f"{key!r:.80} is not an object key: keys are segments of a-z, 0-9, '.', '_' and '-' "
            f"(not starting with '.', at most {MAX_SEGMENT} characters) joined by '/', at most "
            f"{MAX_KEY_BYTES} characters in all."
        )
    return key


Data = bytes | bytearray | memoryview | BinaryIO


def as_stream(data: Data) -> BinaryIO:
    """A readable binary stream over ``data`` (bytes or an already open stream)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    return data


#: Streams that cannot seek are spooled to memory up to this size, then to a temp file.
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def rewindable(data: Data) -> tuple[BinaryIO, int, bool]:
    """A seekable stream over ``data``, the bytes left in it, and whether it was made here.

    Bytes become a new stream; a seekable stream is used as it is, from its
    current position; any other stream is spooled (to memory, then to a
    temporary file), so a write can be sent again. A stream made here is the
    caller's to close.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data)), len(data), True
    try:
        if data.seekable():
            here = data.tell()
            end = data.seek(0, io.SEEK_END)
            data.seek(here)
            return data, end - here, False
    except (AttributeError, OSError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    shutil.copyfileobj(data, spool, CHUNK_SIZE)
    size = spool.tell()
    spool.seek(0)
    return spool, size, True  # type: ignore[return-value]


class Storage(abc.ABC):
    """A bucket of objects. See the module docstring for the rules."""

    #: Short scheme name shown in the admin and ``doctor`` (``file``, ``gcs`` ...).
    scheme: str = ""

    @abc.abstractmethod
    def describe(self) -> str:
        """A human description of where the objects live (no secrets)."""

    @property
    def location(self) -> str:
        """The folder or bucket the objects live in, for people (never a credential)."""
        return self.describe()

    # -- writing --------------------------------------------------------------

    @abc.abstractmethod
    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        if_absent: bool = False,
        if_version: str | None = None,
    ) -> ObjectInfo:
        """Store ``data`` (bytes or a readable stream) under ``key``.

        Args:
            if_absent: write only when no object has this key.
            if_version: write only when the current version equals this token.

        Raises:
            PreconditionFailed: a condition did not hold; nothing was written.
            ValueError: both conditions given.
        """

    @abc.abstractmethod
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete ``key``.

        Raises:
            ObjectNotFound: it did not exist and ``missing_ok`` is false.
        """

    # -- reading --------------------------------------------------------------

    @abc.abstractmethod
    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        """The whole object and the info of exactly that version.

        Raises:
            ObjectNotFound: no such object.
        """

    def get(self, key: str) -> bytes:
        """The whole object.

        Raises:
            ObjectNotFound: no such object.
        """
        return self.read(key)[0]

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable (and, where possible, seekable) stream; the caller closes it.

        Large objects are never read whole into memory.

        Raises:
            ObjectNotFound: no such object.
        """

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size, content type, version and time of the object.

        Raises:
            ObjectNotFound: no such object.
        """

    def exists(self, key: str) -> bool:
        """Whether an object has this key."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def local_path(self, key: str) -> str | None:
        """A filesystem path holding exactly the object's bytes, if the backend has one.

        Lets the web layer hand a real file to ``send_file`` (and so to
        ``sendfile``). ``None`` on backends without local files.
        """
        return None

    # -- listing --------------------------------------------------------------

    @abc.abstractmethod
    def list_page(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> ListPage:
        """One page of the objects whose key starts with ``prefix``, in key order.

        Args:
            start_offset: only keys ``>= start_offset``.
            end_offset: only keys ``< end_offset``.
            page_size: at most this many items (1 to 1000).
            page_token: the ``next_token`` of the previous page.
        """

    def list(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` in key order, fetched page by page."""
        token: str | None = None
        while True:
            page = self.list_page(
                prefix,
                start_offset=start_offset,
                end_offset=end_offset,
                page_size=page_size,
                page_token=token,
            )
            yield from page.items
            if page.next_token is None:
                return
            token = page.next_token

    # -- housekeeping ------------------------------------------------------------

    def headroom(self) -> int | None:
        """Bytes left for large writes (images) before the storage counts as full.

        ``None`` when the backend manages its own space. ``0`` or less means
        full: large writes are refused with :class:`~gallery.errors.StorageFull`
        (or soon will be), while small documents and deletes still go through,
        so space can be freed through the app.
        """
        return None

    def sweep_temporary(self, older_than: float = 3600.0, *, dry_run: bool = False) -> int:
        """Remove what interrupted writes left behind, if older than ``older_than`` seconds.

        Returns:
            How many leftovers were (or, with ``dry_run``, would be) removed.
        """
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or handles; the default has none."""


def check_conditions(if_absent: bool, if_version: str | None) -> None:
    """Reject contradictory preconditions."""
    if if_absent and if_version is not None:
        raise ValueError("Give either if_absent or if_version, not both.")


def check_page_size(page_size: int) -> None:
    """Reject page sizes outside 1..1000."""
    if not 1 <= page_size <= 1000:
        raise ValueError("page_size must be between 1 and 1000.")
