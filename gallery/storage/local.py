"""``file://PATH``: objects kept as plain files in a local folder.

Several processes (gunicorn workers, the command line) may share one folder:
writes are atomic, conditional writes hold across processes, and a reader
always gets the bytes and the info of one and the same version.

Keys are in the port's alphabet (lower case letters, digits, ``.``, ``_``,
``-``, no segment starting with ``.``; see :func:`~gallery.storage.base.check_key`),
so each segment is a file name as it is. Layout inside the root folder::

    <seg>~/              a segment followed by more segments ("a~/" holds "a/b")
    <seg>                an object: exactly its bytes (``local_path`` points here)
    .<seg>.meta          its content type, version, time and a fingerprint of the bytes file
    .~tmp-<random>       a write in progress; never listed
    .locks/<nn>          lock files for writers (``fcntl.flock``), striped by key

Because folders carry the ``~``, which no key holds, the key ``a`` and the
key ``a/b`` live side by side; names starting with ``.`` are the backend's
own. Earlier releases used this same layout (they also percent-encoded
characters outside today's alphabet, which the gallery's own keys never held);
any other name in the folder is ignored.

Free space: writes of images (anything but small JSON and text documents)
must leave a reserve free (32 MiB, or 1/16 of a smaller filesystem) and are
refused with :class:`StorageFull` beyond it; documents (the index, accounts,
tombstones) may use the reserve, and deletes need none, so a full disk can
still be emptied through the app. :meth:`FileStorage.headroom` tells how much
room is left before the disk counts as full (less than twice the reserve free).

Interrupted writes leave ``.~tmp-<random>`` files; :meth:`FileStorage.sweep_temporary`
removes those older than an hour (``gallery cleanup`` calls it).

A write streams into a temporary file in the target folder and fsyncs it,
writes the metadata the same way, then, under an exclusive lock on the key's
stripe, checks the preconditions and renames both into place. The metadata
records the inode, size and modification time of the bytes file it belongs
to; a reader that finds them disagreeing (a writer between its two renames)
looks again under a shared lock. Left over after a crash, a disagreement is
read as a version derived from the bytes file itself.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from gallery.errors import (
    GalleryError,
    ObjectNotFound,
    PreconditionFailed,
    StorageConfigError,
    StorageFull,
    StorageUnavailable,
)
from gallery.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    SEGMENT,
    Data,
    ListPage,
    ObjectInfo,
    Storage,
    check_conditions,
    check_key,
    check_page_size,
)

_DIR_MARK = "~"
_TEMP_PREFIX = ".~tmp-"
_LOCK_DIR = ".locks"
_LOCK_STRIPES = 256
_RETRIES = 20  # attempts when a folder vanishes under a write (an empty folder was pruned)
_CACHE_MIN_ENTRIES = 2000  # folders this big keep their sorted listing between pages
_CACHE_SLOTS = 8
_CACHE_SETTLE_NS = 2_000_000_000
#: Free space that writes of images leave for documents: at most this much ...
RESERVE_BYTES = 32 * 2**20
#: ... and at most this fraction of the filesystem (1/16), for small disks.
RESERVE_FRACTION = 16
#: Content types of the small documents that may use the reserve.
DOCUMENT_TYPES = frozenset({"application/json", "text/plain"})
#: Temporary files older than this are leftovers of an interrupted write.
TEMP_MAX_AGE = 3600.0


@dataclass(frozen=True, slots=True)
class _Meta:
    """What the ``.meta`` file beside an object's bytes says."""

    key: str
    version: str
    content_type: str
    time_ns: int
    size: int
    ino: int
    mtime_ns: int

    def describes(self, st: os.stat_result) -> bool:
        """Whether this metadata was written for exactly the bytes file ``st`` describes."""
        return (self.ino, self.size, self.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def read(cls, path: str) -> _Meta | None:
        """The metadata file at ``path``; ``None`` when missing or not readable as ours."""
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read())
            return cls(key=str(doc["key"]), version=str(doc["version"]),
                       content_type=str(doc["content_type"]), time_ns=int(doc["time_ns"]),
                       size=int(doc["size"]), ino=int(doc["ino"]), mtime_ns=int(doc["mtime_ns"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None


def _info(key: str, st: os.stat_result, meta: _Meta | None, *, trust_file: bool) -> ObjectInfo | None:
    """The info of the bytes file ``st`` if ``meta`` belongs to it.

    With ``trust_file`` (used under the key's lock, where no writer is half
    way), a disagreement can only be a crash's leftover: the bytes file then
    wins and the version is derived from it, stable until the next write.
    """
    if meta is not None and meta.describes(st):
        return ObjectInfo(key=key, size=st.st_size, content_type=meta.content_type,
                          version=meta.version,
                          updated=datetime.fromtimestamp(meta.time_ns / 1e9, UTC))
    if not trust_file:
        return None
    return ObjectInfo(
        key=key,
        size=st.st_size,
        content_type=meta.content_type if meta is not None else DEFAULT_CONTENT_TYPE,
        version=f"f{st.st_ino:x}.{st.st_mtime_ns:x}.{st.st_size:x}",
        updated=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
    )


def _fsync_dir(path: str) -> None:
    """Make renames in ``path`` durable, where the platform lets a folder be fsynced."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _SourceFailed(Exception):
    """The caller's stream failed while we copied it: its error is not the storage's."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _remaining_size(data: Data) -> int:
    """The bytes a write will store, where that can be known beforehand (else 0)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return len(data)
    try:
        here = data.tell()
        end = data.seek(0, os.SEEK_END)
        data.seek(here)
        return max(0, end - here)
    except (AttributeError, OSError, ValueError):
        return 0


def _unlink_quietly(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass


@dataclass(frozen=True, slots=True)
class _Paths:
    """Where one key's files live."""

    folder: str
    data: str
    meta: str


class FileStorage(Storage):
    """A bucket kept in a local folder, shared safely by threads and processes."""

    scheme = "file"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Use ``root`` (relative paths are resolved now, against the working directory).

        Raises:
            StorageConfigError: the folder cannot be created or is not a folder.
        """
        self.root = os.path.abspath(os.fspath(root))
        self._locks = os.path.join(self.root, _LOCK_DIR)
        try:
            os.makedirs(self._locks, exist_ok=True)
        except OSError as err:
            raise StorageConfigError(
                f"Cannot use {self.root} as the storage folder: {err.strerror or err}. "
                "Point GALLERY_STORAGE at a folder the gallery may create and write."
            ) from err
        #: folder -> ((inode, mtime), its entries as (key or key prefix, name, is a folder))
        self._cache: dict[str, tuple[tuple[int, int], list[tuple[str, str, bool]]]] = {}
        self._cache_lock = threading.Lock()

    def describe(self) -> str:
        return Path(self.root).as_uri()

    @property
    def location(self) -> str:
        return str(self.root)

    # -- paths, errors and locks ---------------------------------------------------

    def _paths(self, key: str) -> _Paths:
        *dirs, last = check_key(key).split("/")
        folder = os.path.join(self.root, *(d + _DIR_MARK for d in dirs))
        return _Paths(folder, os.path.join(folder, last), os.path.join(folder, f".{last}.meta"))

    def _error(self, err: OSError, key: str | None) -> GalleryError:
        """The gallery error an operating system error stands for."""
        where = f" for {key!r}" if key is not None else ""
        reason = err.strerror or str(err)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return StorageFull(
                f"The storage folder {self.root} is full{where}: {reason}. "
                "Delete images or add space."
            )
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StorageConfigError(
                f"The gallery may not use the storage folder {self.root}{where}: {reason}. "
                "Check the folder's owner and permissions."
            )
        return StorageUnavailable(f"The storage folder {self.root} failed{where}: {reason}.")

    @contextmanager
    def _translated(self, key: str | None) -> Iterator[None]:
        """Turn OS errors into gallery errors; a missing file means a missing object."""
        try:
            yield
        except GalleryError:
            raise
        except FileNotFoundError as err:
            if key is None:
                raise StorageUnavailable(
                    f"The storage folder {self.root} changed under the gallery: {err}."
                ) from err
            raise ObjectNotFound(key) from err
        except OSError as err:
            raise self._error(err, key) from err

    @contextmanager
    def _locked(self, key: str, *, exclusive: bool) -> Iterator[None]:
        """Hold the key's stripe lock; other processes and other threads wait for it."""
        stripe = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest()) % _LOCK_STRIPES
        path = os.path.join(self._locks, f"{stripe:02x}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            os.makedirs(self._locks, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- free space --------------------------------------------------------------

    def _space(self) -> tuple[int, int]:
        """(free bytes for us, the reserve) of the storage folder's filesystem."""
        fs = os.statvfs(self.root)
        total = fs.f_blocks * fs.f_frsize
        return fs.f_bavail * fs.f_frsize, min(RESERVE_BYTES, total // RESERVE_FRACTION)

    def headroom(self) -> int:
        """Bytes left for images before the disk counts as full (may be negative).

        The disk counts as full once less than twice the reserve is free: writes
        of images are refused a little later, when they would eat into the
        reserve itself.

        Raises:
            StorageUnavailable: the folder cannot be examined.
        """
        with self._translated(None):
            free, reserve = self._space()
        return free - 2 * reserve

    def _check_room(self, key: str, size: int) -> None:
        """Refuse a large write that would eat into the reserve kept for documents.

        Raises:
            StorageFull: there is not enough room above the reserve.
        """
        free, reserve = self._space()
        if free - size < reserve:
            raise StorageFull(
                f"The storage folder {self.root} is full: {max(free, 0)} bytes free, "
                f"{reserve} kept for the gallery's own documents, {size} needed for {key!r}. "
                "Delete images or add space."
            )

    def sweep_temporary(self, older_than: float = TEMP_MAX_AGE, *, dry_run: bool = False) -> int:
        """Remove the temporary files of interrupted writes older than ``older_than`` seconds.

        Returns:
            How many were removed (or would be, with ``dry_run``).

        Raises:
            StorageUnavailable: the folder cannot be read.
        """
        cutoff = time.time() - older_than
        removed = 0
        with self._translated(None):
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = [d for d in dirs if d != _LOCK_DIR]
                for name in files:
                    if not name.startswith(_TEMP_PREFIX):
                        continue
                    path = os.path.join(folder, name)
                    try:
                        if os.lstat(path).st_mtime >= cutoff:
                            continue
                        if not dry_run:
                            os.unlink(path)
                    except FileNotFoundError:
                        continue  # finished or removed meanwhile
                    removed += 1
        return removed

    # -- writing -----------------------------------------------------------------

    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        if_absent: bool = False,
        if_version: str | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key``, atomically; streams are copied in chunks.

        Raises:
            PreconditionFailed: ``if_absent`` and the key exists, or its version is not
                ``if_version``; nothing was written.
            ValueError: both conditions given.
            InvalidKey: the key is not allowed.
            StorageFull: the disk is full (or an image would eat into the reserve).
            StorageUnavailable: the disk is failing.
            StorageConfigError: the folder may not be written.
        """
        paths = self._paths(key)
        check_conditions(if_absent, if_version)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        try:
            with self._translated(None):
                if content_type not in DOCUMENT_TYPES:
                    self._check_room(key, _remaining_size(data))
                return self._write(key, paths, data, content_type, if_absent, if_version)
        except _SourceFailed as failed:
            raise failed.error from None

    def _write(self, key: str, paths: _Paths, data: Data, content_type: str,
               if_absent: bool, if_version: str | None) -> ObjectInfo:
        """Stage bytes and metadata, then check the conditions and rename both under the lock."""
        tmp_data: str | None = None
        tmp_meta: str | None = None
        try:
            tmp_data, st = self._stage(paths.folder, data)
            meta = _Meta(key=key, version=f"{time.time_ns():x}{secrets.token_hex(4)}",
                         content_type=content_type, time_ns=time.time_ns(), size=st.st_size,
                         ino=st.st_ino, mtime_ns=st.st_mtime_ns)
            tmp_meta = self._write_temp(paths.folder, meta.to_json())[0]
            with self._locked(key, exclusive=True):
                current = self._stat_files(key, paths, locked=True)
                if if_absent and current is not None:
                    raise PreconditionFailed(key, f"{key!r} already exists.")
                if if_version is not None and (current is None or current.version != if_version):
                    raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.")
                os.replace(tmp_data, paths.data)
                tmp_data = None
                os.replace(tmp_meta, paths.meta)
                tmp_meta = None
            _fsync_dir(paths.folder)
        finally:
            _unlink_quietly(tmp_data)
            _unlink_quietly(tmp_meta)
        info = _info(key, st, meta, trust_file=False)
        assert info is not None  # the metadata was made from this very stat
        return info

    def _stage(self, folder: str, data: Data) -> tuple[str, os.stat_result]:
        """Write the bytes beside their final place, creating folders as needed.

        A folder emptied by a concurrent delete may be pruned between its
        creation and our temp file; then we create it again.
        """
        for _ in range(_RETRIES):
            try:
                if not os.path.isdir(folder):
                    os.makedirs(folder, exist_ok=True)
                    _fsync_dir(os.path.dirname(folder))
                return self._write_temp(folder, data)
            except FileNotFoundError:
                continue
        raise StorageUnavailable(f"The storage folder {self.root} keeps changing; try again.")

    @staticmethod
    def _write_temp(folder: str, data: Data) -> tuple[str, os.stat_result]:
        """Write ``data`` (bytes or a stream, copied in chunks) to a fresh, fsynced temp file."""
        path = os.path.join(folder, _TEMP_PREFIX + secrets.token_hex(8))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    out.write(data)
                else:
                    while True:
                        try:
                            chunk = data.read(CHUNK_SIZE)
                        except Exception as err:
                            raise _SourceFailed(err) from err
                        if not chunk:
                            break
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                st = os.fstat(out.fileno())
        except BaseException:
            _unlink_quietly(path)
            raise
        return path, st

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete ``key`` and prune the folders it leaves empty.

        Raises:
            ObjectNotFound: it did not exist and ``missing_ok`` is false.
            StorageUnavailable: the disk is failing.
        """
        paths = self._paths(key)
        with self._translated(None):
            with self._locked(key, exclusive=True):
                try:
                    os.unlink(paths.data)
                    found = True
                except FileNotFoundError:
                    found = False
                _unlink_quietly(paths.meta)
            if found:
                _fsync_dir(paths.folder)
                folder = paths.folder
                while folder != self.root and folder.startswith(self.root + os.sep):
                    try:
                        os.rmdir(folder)  # only while empty
                    except OSError:
                        break
                    folder = os.path.dirname(folder)
        if not found and not missing_ok:
            raise ObjectNotFound(key)

    # -- reading -----------------------------------------------------------------

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        """The whole object and the info of exactly those bytes.

        Data files are never changed in place, so once open the file keeps the
        version it was opened at even if the key is replaced meanwhile.

        Raises:
            ObjectNotFound: no such object.
            InvalidKey: the key is not allowed.
            StorageUnavailable: the disk is failing.
        """
        paths = self._paths(key)
        with self._translated(key):
            for locked in (False, True):
                with self._locked(key, exclusive=False) if locked else nullcontext():
                    with open(paths.data, "rb") as stream:
                        info = _info(key, os.fstat(stream.fileno()), _Meta.read(paths.meta),
                                     trust_file=locked)
                        if info is not None:
                            return stream.read(), info
        raise AssertionError("unreachable: the locked attempt always decides")

    def open(self, key: str) -> BinaryIO:
        """The object's bytes file, open for reading (seekable); the caller closes it.

        Raises:
            ObjectNotFound: no such object.
        """
        paths = self._paths(key)
        with self._translated(key):
            return open(paths.data, "rb")

    def stat(self, key: str) -> ObjectInfo:
        """Size, content type, version and time of the object.

        Raises:
            ObjectNotFound: no such object.
        """
        paths = self._paths(key)
        with self._translated(key):
            info = self._stat_files(key, paths)
        if info is None:
            raise ObjectNotFound(key)
        return info

    def _stat_files(self, key: str, paths: _Paths, *, locked: bool = False) -> ObjectInfo | None:
        """Consistent info for the files of ``key``; ``None`` if it does not exist.

        ``locked``: the caller holds the key's lock, so nothing is half written.
        """
        for under_lock in ((True,) if locked else (False, True)):
            with self._locked(key, exclusive=False) if under_lock and not locked else nullcontext():
                try:
                    st = os.stat(paths.data)
                except FileNotFoundError:
                    return None
                info = _info(key, st, _Meta.read(paths.meta), trust_file=under_lock)
            if info is not None:
                return info
        return None  # pragma: no cover - the locked attempt always decides

    def local_path(self, key: str) -> str:
        """The file holding exactly the object's bytes (it is replaced, never rewritten).

        Raises:
            ObjectNotFound: no such object.
        """
        path = self._paths(key).data
        if not os.path.isfile(path):
            raise ObjectNotFound(key)
        return path

    # -- listing -----------------------------------------------------------------

    def list_page(
        self,
        prefix: str = "",
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
        page_token: str | None = None,
    ) -> ListPage:
        """One page of the objects under ``prefix``, in byte order of their keys.

        Only the folders the page needs are read; large folders keep their
        sorted listing between pages while they do not change.

        Raises:
            ValueError: ``page_size`` outside 1..1000.
            StorageUnavailable: the disk is failing.
        """
        check_page_size(page_size)
        *dirs, _ = prefix.split("/")
        if not all(SEGMENT.fullmatch(d) for d in dirs):
            return ListPage()  # no key lies under such a prefix
        folder = os.path.join(self.root, *(d + _DIR_MARK for d in dirs))
        low = start_offset or ""
        exclusive = page_token is not None and page_token >= low
        if exclusive:
            low = page_token or ""
        items: list[ObjectInfo] = []
        more = False
        with self._translated(None):
            base = prefix[: prefix.rfind("/") + 1]
            for key in self._walk(folder, base, prefix, max(low, prefix), end_offset):
                if key < low or (exclusive and key == low):
                    continue
                if len(items) == page_size:
                    more = True
                    break
                info = self._stat_files(key, self._paths(key))
                if info is not None:  # deleted meanwhile
                    items.append(info)
        return ListPage(items=items, next_token=items[-1].key if more and items else None)

    def _walk(self, folder: str, base: str, want: str, low: str, high: str | None) -> Iterator[str]:
        """The keys below ``folder`` (whose keys start with ``base``) that start with
        ``want``, in order, from about ``low`` to ``high`` (exclusive).

        Keys are ASCII, so the order of strings is the order of their bytes.
        """
        entries = self._entries(folder, base)
        i = bisect.bisect_left(entries, (low,))
        # The one folder whose keys may straddle ``low`` sorts just before it.
        if i > 0 and entries[i - 1][2] and low.startswith(entries[i - 1][0]):
            i -= 1
        for full, name, is_dir in entries[i:]:
            if high is not None and full >= high:
                return
            if not full.startswith(want):
                return  # sorted: nothing further starts with it either
            if is_dir:  # every key inside starts with ``full``, so with ``want``
                yield from self._walk(os.path.join(folder, name), full, full, low, high)
            else:
                yield full

    def _entries(self, folder: str, base: str) -> list[tuple[str, str, bool]]:
        """The folder's objects and folders as (key or key prefix, name, is a folder), sorted."""
        try:
            before = os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        stamp = (before.st_ino, before.st_mtime_ns)
        with self._cache_lock:
            cached = self._cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        started = time.time_ns()
        entries: list[tuple[str, str, bool]] = []
        try:
            with os.scandir(folder) as found:
                for dirent in found:
                    name = dirent.name
                    is_dir = name.endswith(_DIR_MARK)
                    segment = name[:-1] if is_dir else name
                    if SEGMENT.fullmatch(segment):  # ours; anything else is ignored
                        entries.append((base + segment + ("/" if is_dir else ""), name, is_dir))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries.sort()
        # Cache only a folder whose last change is old enough for any later
        # change to show in its modification time, however coarse the clock.
        if len(entries) >= _CACHE_MIN_ENTRIES and started - before.st_mtime_ns > _CACHE_SETTLE_NS:
            with self._cache_lock:
                if len(self._cache) >= _CACHE_SLOTS:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[folder] = (stamp, entries)
        return entries
