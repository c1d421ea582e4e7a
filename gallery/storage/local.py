"""``file://PATH``: objects kept as plain files in a local folder.

Several processes (gunicorn workers, the command line) may share one folder:
writes are atomic, conditional writes hold across processes, and a reader
always gets the bytes and the info of one and the same version.

Layout inside the root folder, one level per key segment::

    <seg>~/              a segment followed by more segments ("a~/" holds "a/b")
    <seg>                an object: exactly its bytes (``local_path`` points here)
    .<seg>.meta          its content type, version, time and a fingerprint of the bytes file
    .~tmp-<random>       a write in progress; never listed
    .~segment            inside a directory whose name is hashed: the segment's text
    .locks/<nn>          lock files for writers (``fcntl.flock``), striped by key

Each segment is percent-encoded: only ``a-z 0-9 - _ .`` stay as they are (no
leading dot), everything else, upper case letters included, becomes ``%XX``.
So ``a/b`` and ``a%2Fb`` never meet, case-insensitive filesystems cannot merge
``A`` and ``a``, no name can climb out of the root, and the ``~`` that marks
directories and internal files never occurs in an encoded segment. Because
directories carry the ``~``, the key ``a`` and the key ``a/b`` live side by
side. A segment whose encoding is too long for a file name is cut and
completed with a hash of the whole segment; its full text is then kept in the
object's metadata (or in the directory's ``.~segment``).

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
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote_to_bytes

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
    Data,
    InvalidKey,
    ListPage,
    ObjectInfo,
    Storage,
    check_conditions,
    check_key,
    check_page_size,
    check_range,
)

_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_.")
_ESCAPES = tuple(f"%{b:02X}" for b in range(256))
_PLAIN_SEGMENT = re.compile(r"[a-z0-9_\-][a-z0-9_.\-]*")  # only _SAFE bytes, no leading dot
_MAX_NAME = 200  # longest encoded segment kept as it is (file names stop at 255 bytes)
_HASHED_HEAD = 150  # how much of a long encoded segment stays readable
_HASH_CHARS = 40
_DIR_MARK = "~"
_HASH_MARK = "~h"
_META_SUFFIX = ".meta"
_TEMP_PREFIX = ".~tmp-"
_SEGMENT_FILE = ".~segment"
_LOCK_DIR = ".locks"
_LOCK_STRIPES = 256
_RETRIES = 20  # attempts when a folder vanishes under a write (an empty folder was pruned)
_NAME_RE = re.compile(r"(?:[a-z0-9_.\-]|%[0-9A-F]{2})+(?:~h[0-9a-f]{40})?")
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
TEMP_MAX_AGE = 3600.0  # a folder unchanged this long cannot hide a change in its mtime


def _encode_segment(segment: str) -> tuple[str, bool]:
    """The file name for one key segment, and whether it had to be hashed."""
    if len(segment) <= _MAX_NAME and _PLAIN_SEGMENT.fullmatch(segment):
        return segment, False  # the common case: nothing to escape
    raw = segment.encode("utf-8")
    name = "".join(
        chr(b) if b in _SAFE and not (i == 0 and b == 0x2E) else _ESCAPES[b]
        for i, b in enumerate(raw)
    )
    if len(name) <= _MAX_NAME:
        return name, False
    head = name[:_HASHED_HEAD]
    cut = head.rfind("%", len(head) - 2)
    if cut != -1:  # do not split an escape
        head = head[:cut]
    return f"{head}{_HASH_MARK}{hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]}", True


def _decode_name(stem: str) -> bytes | None:
    """The segment (UTF-8 bytes) an unhashed name stands for, or ``None`` for a foreign name."""
    if "%" not in stem:
        return stem.encode("ascii") if _NAME_RE.fullmatch(stem) else None
    if not _NAME_RE.fullmatch(stem):
        return None
    raw = unquote_to_bytes(stem)
    try:
        canonical = _encode_segment(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return raw if canonical == (stem, False) else None


def _meta_name(stem: str) -> str:
    return f".{stem}{_META_SUFFIX}"


@dataclass(frozen=True, slots=True)
class _Location:
    """Where one key's files live."""

    folder: str
    data: str
    meta: str
    #: (folder, segment) for every hashed directory on the way, which needs a .~segment file.
    hashed_dirs: tuple[tuple[str, str], ...]


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
        return json.dumps(
            {
                "key": self.key,
                "version": self.version,
                "content_type": self.content_type,
                "time_ns": self.time_ns,
                "size": self.size,
                "ino": self.ino,
                "mtime_ns": self.mtime_ns,
            },
            ensure_ascii=False,
        ).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> _Meta | None:
        try:
            doc = json.loads(raw)
            return cls(
                key=str(doc["key"]),
                version=str(doc["version"]),
                content_type=str(doc["content_type"]),
                time_ns=int(doc["time_ns"]),
                size=int(doc["size"]),
                ino=int(doc["ino"]),
                mtime_ns=int(doc["mtime_ns"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One name in a folder, seen by a listing."""

    full: bytes  # the key (a file) or the key prefix ending in "/" (a directory)
    name: str
    is_dir: bool


def _info(key: str, st: os.stat_result, meta: _Meta | None, *, trust_file: bool) -> ObjectInfo | None:
    """The info of the bytes file ``st`` if ``meta`` belongs to it.

    With ``trust_file`` (used under the key's lock, where no writer is half
    way), a disagreement can only be a crash's leftover: the bytes file then
    wins and the version is derived from it, stable until the next write.
    """
    if meta is not None and meta.describes(st):
        return ObjectInfo(
            key=key,
            size=st.st_size,
            content_type=meta.content_type,
            version=meta.version,
            updated=datetime.fromtimestamp(meta.time_ns / 1e9, UTC),
        )
    if not trust_file:
        return None
    return ObjectInfo(
        key=key,
        size=st.st_size,
        content_type=meta.content_type if meta is not None else DEFAULT_CONTENT_TYPE,
        version=f"f{st.st_ino:x}.{st.st_mtime_ns:x}.{st.st_size:x}",
        updated=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
    )


def _read_meta(path: str) -> _Meta | None:
    """The metadata file at ``path``; ``None`` when missing or unreadable as JSON."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    return _Meta.from_json(raw)


def _new_version() -> str:
    return f"{time.time_ns():x}{secrets.token_hex(4)}"


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


def _read_source(source: BinaryIO) -> bytes:
    try:
        return source.read(CHUNK_SIZE)
    except Exception as err:
        raise _SourceFailed(err) from err


def _remaining_size(data: Data) -> int:
    """The bytes a write will store, where that can be known beforehand (else 0)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return len(data)
    try:
        if data.seekable():
            return max(0, os.fstat(data.fileno()).st_size - data.tell())
    except (AttributeError, OSError, ValueError):
        pass
    try:
        here = data.tell()
        end = data.seek(0, os.SEEK_END)
        data.seek(here)
        return max(0, end - here)
    except (AttributeError, OSError, ValueError):
        return 0


def _unlink_quietly(path: str | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except OSError:
        pass


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
        self._cache: dict[str, tuple[tuple[int, int], list[_Entry], list[bytes]]] = {}
        self._cache_lock = threading.Lock()

    def describe(self) -> str:
        return Path(self.root).as_uri()

    @property
    def location(self) -> str:
        return str(self.root)

    # -- paths and errors --------------------------------------------------------

    def _locate(self, key: str) -> _Location:
        check_key(key)
        *dirs, last = key.split("/")
        folder = self.root
        hashed: list[tuple[str, str]] = []
        for segment in dirs:
            name, is_hashed = _encode_segment(segment)
            folder = os.path.join(folder, name + _DIR_MARK)
            if is_hashed:
                hashed.append((folder, segment))
        stem, _ = _encode_segment(last)
        return _Location(
            folder=folder,
            data=os.path.join(folder, stem),
            meta=os.path.join(folder, _meta_name(stem)),
            hashed_dirs=tuple(hashed),
        )

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
        if err.errno == errno.ENAMETOOLONG and key is not None:
            return InvalidKey(f"The key {key!r} is too long for the storage folder {self.root}.")
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

    def _ensure_folders(self, loc: _Location) -> None:
        """Create the key's folders (and the segment files of hashed ones)."""
        if not os.path.isdir(loc.folder):
            created: list[str] = []
            parent = loc.folder
            while not os.path.isdir(parent):
                created.append(parent)
                parent = os.path.dirname(parent)
            os.makedirs(loc.folder, exist_ok=True)
            for folder in created:
                _fsync_dir(os.path.dirname(folder))
        for folder, segment in loc.hashed_dirs:
            marker = os.path.join(folder, _SEGMENT_FILE)
            if not os.path.exists(marker):
                tmp = self._write_temp(folder, segment.encode("utf-8"))[0]
                os.replace(tmp, marker)

    def _write_temp(self, folder: str, data: Data) -> tuple[str, os.stat_result]:
        """Write ``data`` (bytes or a stream, copied in chunks) to a fresh, fsynced temp file."""
        path = os.path.join(folder, _TEMP_PREFIX + secrets.token_hex(8))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    out.write(data)
                else:
                    while chunk := _read_source(data):
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                st = os.fstat(out.fileno())
        except BaseException:
            _unlink_quietly(path)
            raise
        return path, st

    def _stage(self, loc: _Location, data: Data) -> tuple[str, os.stat_result]:
        """Write the bytes beside their final place, creating folders as needed.

        A folder emptied by a concurrent delete may be pruned between its
        creation and our temp file; then we create it again.
        """
        for _ in range(_RETRIES):
            try:
                self._ensure_folders(loc)
                return self._write_temp(loc.folder, data)
            except FileNotFoundError:
                continue
        raise StorageUnavailable(f"The storage folder {self.root} keeps changing; try again.")

    def _current(self, key: str, loc: _Location) -> ObjectInfo | None:
        """The object's info, read while holding its lock (so nothing is half written)."""
        try:
            st = os.stat(loc.data)
        except FileNotFoundError:
            return None
        return _info(key, st, _read_meta(loc.meta), trust_file=True)

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
            StorageUnavailable: the disk is full or failing.
            StorageConfigError: the folder may not be written.
        """
        loc = self._locate(key)
        check_conditions(if_absent, if_version)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        try:
            with self._translated(None):
                if content_type not in DOCUMENT_TYPES:
                    self._check_room(key, _remaining_size(data))
                return self._write(key, loc, data, content_type, if_absent, if_version)
        except _SourceFailed as failed:
            raise failed.error from None

    def _write(
        self,
        key: str,
        loc: _Location,
        data: Data,
        content_type: str,
        if_absent: bool,
        if_version: str | None,
    ) -> ObjectInfo:
        """Stage bytes and metadata, then check the conditions and rename both under the lock."""
        tmp_data: str | None = None
        tmp_meta: str | None = None
        try:
            tmp_data, st = self._stage(loc, data)
            meta = _Meta(
                key=key,
                version=_new_version(),
                content_type=content_type,
                time_ns=time.time_ns(),
                size=st.st_size,
                ino=st.st_ino,
                mtime_ns=st.st_mtime_ns,
            )
            tmp_meta = self._write_temp(loc.folder, meta.to_json())[0]
            with self._locked(key, exclusive=True):
                current = self._current(key, loc)
                if if_absent and current is not None:
                    raise PreconditionFailed(key, f"{key!r} already exists.")
                if if_version is not None and (current is None or current.version != if_version):
                    raise PreconditionFailed(key, f"{key!r} is not at version {if_version}.")
                os.replace(tmp_data, loc.data)
                tmp_data = None
                os.replace(tmp_meta, loc.meta)
                tmp_meta = None
            _fsync_dir(loc.folder)
        finally:
            _unlink_quietly(tmp_data)
            _unlink_quietly(tmp_meta)
        info = _info(key, st, meta, trust_file=False)
        assert info is not None  # the metadata was made from this very stat
        return info

    def copy(self, src: str, dst: str) -> ObjectInfo:
        """Copy ``src`` to ``dst`` with its content type, replacing ``dst``.

        Raises:
            ObjectNotFound: ``src`` does not exist.
            InvalidKey: either key is not allowed.
            StorageUnavailable: the disk is full or failing.
        """
        check_key(dst)
        stream, info = self._open_consistent(src)
        with stream:
            return self.put(dst, stream, content_type=info.content_type)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete ``key`` and prune the folders it leaves empty.

        Raises:
            ObjectNotFound: it did not exist and ``missing_ok`` is false.
            StorageUnavailable: the disk is failing.
        """
        loc = self._locate(key)
        with self._translated(None):
            with self._locked(key, exclusive=True):
                try:
                    os.unlink(loc.data)
                except FileNotFoundError:
                    found = False
                else:
                    found = True
                _unlink_quietly(loc.meta)
            if found:
                _fsync_dir(loc.folder)
                self._prune(loc.folder)
        if not found and not missing_ok:
            raise ObjectNotFound(key)

    def _prune(self, folder: str) -> None:
        """Remove ``folder`` and its parents while they are empty (hashed folders stay)."""
        while folder != self.root and folder.startswith(self.root + os.sep):
            try:
                os.rmdir(folder)
            except OSError:
                return
            folder = os.path.dirname(folder)

    # -- reading -----------------------------------------------------------------

    def _open_consistent(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """The object's bytes file, open, and the info of exactly those bytes.

        Data files are never changed in place, so once open the stream keeps
        the version it was opened at even if the key is replaced meanwhile.

        Raises:
            ObjectNotFound: no such object.
        """
        loc = self._locate(key)
        with self._translated(key):
            for locked in (False, True):
                with self._locked(key, exclusive=False) if locked else nullcontext():
                    stream = open(loc.data, "rb")
                    try:
                        info = _info(key, os.fstat(stream.fileno()), _read_meta(loc.meta), trust_file=locked)
                    except BaseException:
                        stream.close()
                        raise
                if info is not None:
                    return stream, info
                stream.close()
        raise AssertionError("unreachable: the locked attempt always decides")

    def read(self, key: str) -> tuple[bytes, ObjectInfo]:
        """The whole object and the info of exactly those bytes.

        Raises:
            ObjectNotFound: no such object.
            InvalidKey: the key is not allowed.
            StorageUnavailable: the disk is failing.
        """
        stream, info = self._open_consistent(key)
        with stream, self._translated(key):
            return stream.read(), info

    def get_range(self, key: str, start: int, length: int | None = None) -> bytes:
        """``length`` bytes from ``start`` (to the end when ``None``); short past the end.

        Raises:
            ObjectNotFound: no such object.
            ValueError: negative ``start`` or ``length``.
        """
        check_range(start, length)
        loc = self._locate(key)
        with self._translated(key), open(loc.data, "rb") as stream:
            stream.seek(start)
            return stream.read() if length is None else stream.read(length)

    def open(self, key: str) -> BinaryIO:
        """The object's bytes file, open for reading (seekable); the caller closes it.

        Raises:
            ObjectNotFound: no such object.
        """
        loc = self._locate(key)
        with self._translated(key):
            return open(loc.data, "rb")

    def stat(self, key: str) -> ObjectInfo:
        """Size, content type, version and time of the object.

        Raises:
            ObjectNotFound: no such object.
        """
        loc = self._locate(key)
        with self._translated(key):
            info = self._stat_at(key, loc.data, loc.meta)
        if info is None:
            raise ObjectNotFound(key)
        return info

    def _stat_at(self, key: str, data: str, meta: str) -> ObjectInfo | None:
        """Consistent info for the files of ``key``; ``None`` if it does not exist."""
        for locked in (False, True):
            with self._locked(key, exclusive=False) if locked else nullcontext():
                try:
                    st = os.stat(data)
                except FileNotFoundError:
                    return None
                info = _info(key, st, _read_meta(meta), trust_file=locked)
            if info is not None:
                return info
        return None  # pragma: no cover - the locked attempt always decides

    def local_path(self, key: str) -> str:
        """The file holding exactly the object's bytes (it is replaced, never rewritten).

        Raises:
            ObjectNotFound: no such object.
        """
        loc = self._locate(key)
        if not os.path.isfile(loc.data):
            raise ObjectNotFound(key)
        return loc.data

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
        """One page of the objects under ``prefix``, in UTF-8 byte order of their keys.

        Only the folders the page needs are read; large folders keep their
        sorted listing between pages while they do not change.

        Raises:
            ValueError: ``page_size`` outside 1..1000.
            StorageUnavailable: the disk is failing.
        """
        check_page_size(page_size)
        *dirs, partial = prefix.split("/")
        if any(segment in ("", ".", "..") for segment in dirs):
            return ListPage()
        folder = self.root
        for segment in dirs:
            folder = os.path.join(folder, _encode_segment(segment)[0] + _DIR_MARK)

        low, low_inclusive = b"", True
        if start_offset is not None:
            low = start_offset.encode("utf-8")
        if page_token is not None and page_token.encode("utf-8") >= low:
            low, low_inclusive = page_token.encode("utf-8"), False
        high = end_offset.encode("utf-8") if end_offset is not None else None
        want = prefix.encode("utf-8")

        found: list[tuple[str, str, str]] = []
        more = False
        with self._translated(None):
            for key_bytes, data in self._walk(folder, want, max(low, want), high):
                if key_bytes < low or (key_bytes == low and not low_inclusive):
                    continue
                if len(found) == page_size:
                    more = True
                    break
                head, stem = os.path.split(data)
                found.append((key_bytes.decode("utf-8"), data, os.path.join(head, _meta_name(stem))))
            items = []
            for key, data, meta in found:
                info = self._stat_at(key, data, meta)
                if info is not None:  # deleted meanwhile
                    items.append(info)
        return ListPage(items=items, next_token=found[-1][0] if more else None)

    def _walk(
        self, folder: str, want: bytes, low: bytes, high: bytes | None
    ) -> Iterator[tuple[bytes, str]]:
        """(key, bytes file) of the objects below ``folder`` whose key starts with ``want``,
        in key order, from about ``low`` (``>= want``) to ``high``."""
        base = want[: want.rfind(b"/") + 1]
        entries, fulls = self._entries(folder, base)
        i = bisect.bisect_left(fulls, low)
        # The one directory whose keys may straddle ``low`` sorts just before it.
        if i > 0 and entries[i - 1].is_dir and low.startswith(fulls[i - 1]):
            i -= 1
        for entry in entries[i:]:
            if high is not None and entry.full >= high:
                return
            if not entry.full.startswith(want):
                return  # sorted: nothing further starts with it either
            path = os.path.join(folder, entry.name)
            if entry.is_dir:
                yield from self._walk(path, entry.full, low, high)
            else:
                yield entry.full, path

    def _entries(self, folder: str, base: bytes) -> tuple[list[_Entry], list[bytes]]:
        """The folder's objects and directories sorted by key, and their keys alone."""
        try:
            before = os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        stamp = (before.st_ino, before.st_mtime_ns)
        with self._cache_lock:
            cached = self._cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        started = time.time_ns()
        entries: list[_Entry] = []
        try:
            with os.scandir(folder) as it:
                for dirent in it:
                    entry = self._entry(folder, base, dirent.name)
                    if entry is not None:
                        entries.append(entry)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        entries.sort(key=lambda e: e.full)
        fulls = [e.full for e in entries]
        # Cache only a folder whose last change is old enough for any later
        # change to show in its modification time, however coarse the clock.
        if len(entries) >= _CACHE_MIN_ENTRIES and started - before.st_mtime_ns > _CACHE_SETTLE_NS:
            with self._cache_lock:
                if len(self._cache) >= _CACHE_SLOTS:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[folder] = (stamp, entries, fulls)
        return entries, fulls

    def _entry(self, folder: str, base: bytes, name: str) -> _Entry | None:
        """What one name in a folder holds; ``None`` for internal and foreign files."""
        if name.startswith("."):
            return None
        is_dir = name.endswith(_DIR_MARK)
        stem = name[:-1] if is_dir else name
        if _HASH_MARK not in stem:
            segment = _decode_name(stem)
        elif not _NAME_RE.fullmatch(stem):
            segment = None
        elif is_dir:
            segment = self._hashed_dir_segment(os.path.join(folder, name), stem)
        else:
            segment = self._hashed_file_segment(folder, stem)
        if segment is None:
            return None
        return _Entry(full=base + segment + (b"/" if is_dir else b""), name=name, is_dir=is_dir)

    @staticmethod
    def _hashed_dir_segment(path: str, stem: str) -> bytes | None:
        try:
            with open(os.path.join(path, _SEGMENT_FILE), "rb") as f:
                raw = f.read()
        except OSError:
            return None  # being created, or not ours
        try:
            ok = _encode_segment(raw.decode("utf-8")) == (stem, True)
        except UnicodeDecodeError:
            return None
        return raw if ok else None

    @staticmethod
    def _hashed_file_segment(folder: str, stem: str) -> bytes | None:
        try:
            meta = _read_meta(os.path.join(folder, _meta_name(stem)))
        except OSError:
            return None
        if meta is None:
            return None  # a crash lost the metadata, and with it the long name
        segment = meta.key.rsplit("/", 1)[-1]
        return segment.encode("utf-8") if _encode_segment(segment) == (stem, True) else None

