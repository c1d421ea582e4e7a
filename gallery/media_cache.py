"""A bounded local disk cache of originals and thumbnails, for backends over the network.

On ``replit``, ``gs`` and ``s3`` every media request would otherwise be a round
trip to the bucket. The first response of an image's original or thumbnail is
copied to a local file as it streams; later requests are served from that file
exactly as the file backend serves its own (an open file handed to
``send_file``: ranges, ``ETag``, ``sendfile``).

An entry is named after what never changes: the image id, the stored name
(``original``, ``sm.webp`` ...) and the sha256 of the bytes, so a name can
never serve other bytes. Every worker process of a machine shares the folder
safely:

* a fill writes a temporary file in the same folder and moves it into place
  with :func:`os.replace` only once every byte arrived and their sha256 matched,
  so a half-written file is never served; a stream that breaks leaves nothing;
* two workers filling the same entry each write their own temporary file; the
  last move wins, with the same bytes;
* a served file stays readable after another worker evicts it (it is open);
* the writer makes room before it moves a fill into place: it evicts,
  oldest-used first (a hit touches the file's time), until the new entry fits
  the budget beside the rest, and ignores files that vanish meanwhile.

A deleted image's entries are removed on this machine; an entry surviving on
another machine is never wrong (its id will never name other bytes), only space
until it is evicted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from gallery.images.results import Media
from gallery.keys import Keys, is_image_id

log = logging.getLogger(__name__)

TEMP_PREFIX = ".fill-"
"""Temporary files being filled; never served, never counted, swept when stale."""

STALE_TEMP_SECONDS = 3600.0
"""A temporary file this old was left by a process that died while filling it."""

TOUCH_EVERY = 60.0
"""A hit refreshes the file's time at most this often (eviction takes the oldest first)."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def default_folder(describe: str, prefix: str) -> Path:
    """This user's cache folder for one bucket and prefix, in the temporary folder."""
    digest = hashlib.sha256(f"{describe}\0{prefix}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gallery-{os.geteuid()}" / "media" / digest


class MediaCache:
    """Originals and thumbnails kept in ``folder``, at most about ``budget`` bytes.

    Args:
        folder: where the entries live (created private to this user on first use).
        budget: bytes the entries may take in all; the oldest-used go beyond it.
        keys: the bucket's key layout (image id and stored name from a media key).
    """

    def __init__(self, folder: Path, budget: int, keys: Keys) -> None:
        self.folder = Path(folder)
        self.budget = budget
        self.keys = keys
        self._ready = False

    # -- names ----------------------------------------------------------------------

    def entry_name(self, media: Media) -> str | None:
        """The entry's file name for ``media`` (``None``: not something to cache)."""
        image_id = self.keys.image_id_of(media.key)
        sha = media.etag.strip('"')
        if image_id is None or not _SHA256.fullmatch(sha):
            return None
        name = media.key[len(self.keys.image_prefix(image_id)):]
        if not _NAME.fullmatch(name):
            return None
        return f"{image_id}.{name}.{sha}"

    def path(self, media: Media) -> Path | None:
        """Where ``media``'s entry is (or would be)."""
        name = self.entry_name(media)
        return None if name is None else self.folder / name

    # -- serving ----------------------------------------------------------------------

    def open(self, media: Media) -> BinaryIO | None:
        """The entry of ``media`` as an open file, or ``None`` when there is none.

        Its time is refreshed (at most once a minute), so eviction keeps it longer.
        An entry whose size is not the media's (never expected) is removed.
        """
        path = self.path(media)
        if path is None or not self._prepare():
            return None
        try:
            stream = open(path, "rb")
        except OSError:
            return None
        found = os.fstat(stream.fileno())
        if found.st_size != media.size:
            stream.close()
            self._remove(path)
            return None
        now = time.time()
        if now - found.st_mtime > TOUCH_EVERY:
            try:
                os.utime(path, (now, now))
            except OSError:
                pass  # evicted meanwhile: the open file still serves this response
        return stream

    def filling(self, media: Media, source: BinaryIO) -> BinaryIO:
        """``source``, also copied into a new entry for ``media`` as it is read.

        The entry appears once every byte was read and their sha256 matched;
        if the stream breaks, or is closed early, the copy is thrown away. When
        there is nothing to fill (too large, no folder), ``source`` comes back
        as it is.
        """
        path = self.path(media)
        if path is None or media.size > self.budget or not self._prepare():
            return source
        try:
            fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.folder)
        except OSError as err:
            log.warning("media cache: cannot write in %s: %s", self.folder, err)
            return source
        return _Tee(self, source, os.fdopen(fd, "wb"), Path(temp), path, media)

    # -- keeping it small ---------------------------------------------------------------

    def drop(self, image_ids: list[str]) -> None:
        """Remove every entry of these images (they were deleted)."""
        wanted = {f"{image_id}." for image_id in image_ids if is_image_id(image_id)}
        if not wanted:
            return
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            head, dot, _ = entry.name.partition(".")
            if dot and f"{head}." in wanted:
                self._remove(Path(entry.path))

    def evict(self, room: int = 0) -> int:
        """Remove the oldest-used entries until the rest fit the budget with ``room``
        bytes to spare; sweep temporary files left by processes that died while filling.

        Args:
            room: bytes about to be added (an entry being moved into place).

        Returns:
            The bytes the remaining entries take.
        """
        now = time.time()
        entries: list[tuple[float, int, str]] = []
        try:
            listing = list(os.scandir(self.folder))
        except OSError:
            return 0
        for entry in listing:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed by another worker meanwhile
            if not stat.S_ISREG(info.st_mode):
                continue
            if entry.name.startswith(TEMP_PREFIX):
                if now - info.st_mtime > STALE_TEMP_SECONDS:
                    self._remove(Path(entry.path))
                continue
            entries.append((info.st_mtime, info.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        allowed = self.budget - room
        if total <= allowed:
            return total
        entries.sort()
        for _, size, path in entries:
            if total <= allowed:
                break
            self._remove(Path(path))
            total -= size
        return total

    def size(self) -> int:
        """Bytes the entries take now."""
        return self.usage()[1]

    def usage(self) -> tuple[int, int]:
        """How many entries there are now, and the bytes they take (files being filled
        left out)."""
        count = total = 0
        try:
            for entry in os.scandir(self.folder):
                if not entry.name.startswith(TEMP_PREFIX):
                    try:
                        total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
                    count += 1
        except OSError:
            return 0, 0
        return count, total

    def check(self) -> None:
        """Make sure entries can be written here: the folder is this user's alone, and a
        file can be created, synced and removed in it.

        Raises:
            OSError: it cannot (the message says why).
        """
        if not self._prepare():
            raise OSError(f"{self.folder} cannot be created, or others may read or change it")
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.folder)
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(temp)

    # -- inside ---------------------------------------------------------------------------

    def _prepare(self) -> bool:
        """Make the folder (private to this user) once; whether it can be used."""
        if self._ready:
            return True
        try:
            self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.folder.mkdir(mode=0o700, exist_ok=True)
            found = self.folder.stat()
        except OSError as err:
            log.warning("media cache: cannot use %s: %s", self.folder, err)
            return False
        if not _private(found) or not _safe_parent(self.folder.parent):
            log.warning("media cache: %s is not private to this user; not caching", self.folder)
            return False
        self._ready = True
        return True

    def _remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            log.warning("media cache: cannot remove %s: %s", path, err)

    def _settle(self, temp: Path, final: Path, size: int) -> None:
        """Make room for a complete fill of ``size`` bytes, then move it into place: the
        folder never holds more than its budget for a moment (one writer at a time)."""
        self.evict(room=size)
        try:
            os.replace(temp, final)
        except OSError as err:
            log.warning("media cache: cannot keep %s: %s", final.name, err)
            self._remove(temp)


def _private(found: os.stat_result) -> bool:
    """A folder of this user's that nobody else may read or change."""
    return (stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid()
            and not found.st_mode & 0o077)


def _safe_parent(parent: Path) -> bool:
    """Whether nobody else can put another folder in the cache's place: the parent is
    this user's or root's, and others may not write in it (unless it is sticky, as the
    temporary folder is)."""
    try:
        found = parent.stat()
    except OSError:
        return False
    if found.st_uid not in (0, os.geteuid()):
        return False
    return not found.st_mode & 0o022 or bool(found.st_mode & stat.S_ISVTX)


class _Tee:
    """A read-only stream over ``source`` that copies what it reads into ``temp``;
    on close, ``temp`` becomes ``final`` if it holds exactly the media's bytes."""

    def __init__(self, cache: MediaCache, source: BinaryIO, sink: BinaryIO, temp: Path,
                 final: Path, media: Media) -> None:
        self._cache = cache
        self._source = source
        self._sink: BinaryIO | None = sink
        self._temp = temp
        self._final = final
        self._expected = media.size
        self._sha = media.etag.strip('"')
        self._hash = hashlib.sha256()
        self._count = 0
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        """Raises: whatever the source raises (the copy is then thrown away)."""
        try:
            chunk = self._source.read(size)
        except BaseException:
            self._abandon()
            raise
        if chunk and self._sink is not None:
            try:
                self._sink.write(chunk)
            except OSError as err:
                log.warning("media cache: cannot write %s: %s", self._final.name, err)
                self._abandon()
            else:
                self._hash.update(chunk)
                self._count += len(chunk)
        return chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._source.close()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Move the copy into place if it holds exactly the media's bytes, else drop it."""
        sink, self._sink = self._sink, None
        if sink is None:
            return
        whole = self._count == self._expected and self._hash.hexdigest() == self._sha
        try:
            if whole:  # on disk before it has its name: a crash never leaves a torn entry
                sink.flush()
                os.fsync(sink.fileno())
            sink.close()
        except OSError:
            whole = False
        if whole:
            self._cache._settle(self._temp, self._final, self._count)
        else:
            self._cache._remove(self._temp)

    def _abandon(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            try:
                sink.close()
            except OSError:
                pass
            self._cache._remove(self._temp)

    def __enter__(self) -> _Tee:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
