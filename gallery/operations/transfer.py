"""Export a gallery to a folder or a zip, and import one (or a folder of images) into a bucket.

An export holds::

    manifest.json          {"format": 2, "exported_at", "source", "images": [full records],
                            "missing": [ids], "albums": number of albums,
                            "site": whether site.json is there}
    index.json             every record in one JSON index (the catalog, as one object)
    albums.json            every album, as stored (see gallery.operations.album_export)
    site.json              the site's settings, as stored (only once they were saved)
    originals/<id>.<ext>   every original, byte for byte

``manifest.json`` is written last, so a folder with one is a finished export.
Exports of format 1 (no albums, as earlier releases wrote them) are imported too.
Importing an export reproduces the gallery (ids, titles, descriptions,
uploaders, times, albums, the site's settings unless the target has its own); every
original still goes through the upload pipeline and thumbnails are made again. Accounts, API tokens and share links are never exported.
Importing a plain folder uploads every file in it
(judged by content, not by name) as one user; files already in the gallery
are recognised by their SHA-256, so an interrupted import can simply be run
again.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from gallery.clock import format_timestamp
from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest, GalleryError, ObjectNotFound, TooLarge
from gallery.keys import is_image_id
from gallery.operations import album_export, manifest
from gallery.operations.album_export import ALBUMS, AlbumImport
from gallery.operations.stats import backend_name
from gallery.site import MAX_DOCUMENT_BYTES as MAX_SITE_BYTES
from gallery.site import Site
from gallery.zipstream import Sink
from gallery.zipstream import entry as zip_entry

if TYPE_CHECKING:
    from gallery.images.results import UploadResult
    from gallery.operations import Operations

FORMAT = manifest.FORMAT
MANIFEST = "manifest.json"
INDEX = "index.json"
ORIGINALS = "originals"
SITE = "site.json"
EXTENSIONS = manifest.CONTENT_TYPES

#: Called after each image with (images done, images in all).
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ExportReport:
    """What an export wrote.

    Attributes:
        dest: the folder or zip file.
        images: originals written.
        bytes: their total size.
        missing: ids in the index whose original could not be found (left out).
        albums: albums written to ``albums.json``.
        damaged_albums: ids of albums whose stored document is damaged (left out).
        site: whether the site's settings were written (``site.json``).
        damaged_site: the stored ``site.json`` is damaged (left out).
        in_trash: images in the trash, which are not exported.
    """

    dest: str
    images: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    albums: int = 0
    damaged_albums: list[str] = field(default_factory=list)
    site: bool = False
    damaged_site: bool = False
    in_trash: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"dest": self.dest, "images": self.images, "bytes": self.bytes,
                "missing": list(self.missing), "albums": self.albums,
                "damaged_albums": list(self.damaged_albums), "site": self.site,
                "in_trash": self.in_trash}

    def lines(self) -> list[str]:
        """A summary for people."""
        out = [f"Exported {self.images} images ({self.bytes} bytes) and {self.albums} "
               f"album{'s' if self.albums != 1 else ''} to {self.dest}."]
        if self.missing:
            out.append(f"Left out {len(self.missing)} index entries whose original is missing "
                       "(run `gallery cleanup --dry-run`).")
        if self.damaged_albums:
            out.append(f"Left out {len(self.damaged_albums)} damaged album(s): "
                       f"{', '.join(self.damaged_albums)} (run `gallery doctor`).")
        if self.site:
            out.append("The site's settings are in site.json.")
        if self.damaged_site:
            out.append("Left out the site's settings: site.json is damaged (run `gallery doctor`).")
        if self.in_trash:
            out.append(f"Left out {self.in_trash} image{'s' if self.in_trash != 1 else ''} in the "
                       "trash (restore them first to export them).")
        return out


@dataclass(slots=True)
class ImportReport:
    """What an import did, file by file.

    Attributes:
        source: the folder or zip imported.
        imported: ``(path, image id)`` of each image stored.
        duplicates: ``(path, id of the image already in)`` of each file skipped.
        rejected: ``(path, reason)`` of each file refused.
        reassigned: ``(path, uploader in the manifest, uploader given)`` of each image
            whose uploader has no account here.
        albums: what became of the export's albums (``None``: a folder of images, or
            an export of format 1, which has none).
        site: what became of the export's site settings: ``imported``, ``kept`` (the
            gallery has its own) or ``rejected: reason``; ``None``: the export has none.
    """

    source: str
    imported: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    reassigned: list[tuple[str, str, str]] = field(default_factory=list)
    albums: AlbumImport | None = None
    site: str | None = None

    @property
    def total(self) -> int:
        return len(self.imported) + len(self.duplicates) + len(self.rejected)

    def verdict(self, name: str, verdict: UploadResult | GalleryError) -> None:
        """Note what became of one file (an upload batch calls this)."""
        if isinstance(verdict, GalleryError):
            self.rejected.append((name, verdict.message))
        elif verdict.duplicate:
            self.duplicates.append((name, verdict.image["id"]))
        else:
            self.imported.append((name, verdict.image["id"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": [{"path": p, "id": i} for p, i in self.imported],
            "duplicates": [{"path": p, "id": i} for p, i in self.duplicates],
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
            "reassigned": [{"path": p, "from": old, "to": new}
                           for p, old, new in self.reassigned],
            "albums": self.albums.to_json() if self.albums is not None else None,
            "site": self.site,
        }

    def lines(self) -> list[str]:
        """A summary for people: the counts, then each rejected file with its reason."""
        out = [f"Imported {len(self.imported)}, already there {len(self.duplicates)}, "
               f"rejected {len(self.rejected)}."]
        out += [f"  rejected {path}: {reason}" for path, reason in self.rejected]
        out += [f"  {path}: uploader {old!r} has no account here; uploaded by {new!r}"
                for path, old, new in self.reassigned]
        if self.albums is not None:
            out += self.albums.lines()
        if self.site == "imported":
            out.append("Imported the site's settings (title, about page, home page ...).")
        elif self.site == "kept":
            out.append("Kept this gallery's own site settings; those of the export were "
                       "left out.")
        elif self.site is not None:
            out.append(f"Left out the export's site settings: {self.site.removeprefix('rejected: ')}.")
        return out


def original_name(record: dict[str, Any]) -> str:
    """Where an image's original sits inside an export."""
    image_id = record.get("id")
    if not is_image_id(image_id):
        raise BadRequest(f"{image_id!r} is not an image id.")
    return f"{ORIGINALS}/{image_id}.{EXTENSIONS.get(record.get('content_type'), 'bin')}"


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    index_bytes: bytes
    records: list[dict[str, Any]]  # oldest first
    exported_at: str
    albums_bytes: bytes
    albums: int
    damaged_albums: list[str]
    site_bytes: bytes | None  # None: never saved, or damaged
    damaged_site: bool
    in_trash: int


def _plan(rt: Operations, now: datetime) -> _Plan:
    """The catalog and the albums as they are right now: the records in upload order,
    and as one index; the albums as ``albums.json`` (a damaged album is left out)."""
    records = [record.to_json() for record in rt.images.view().records()]
    index = {"format": 1, "images": {r["id"]: r for r in records}}
    damaged: list[str] = []
    albums = [album for _, album in rt.albums.shelf.all(damaged=damaged).values()]
    try:
        site = rt.site.document.load()
        site_bytes = None if site.version is None else orjson.dumps(site.value.to_json())
        damaged_site = False
    except DocumentDamaged:
        site_bytes, damaged_site = None, True
    return _Plan(orjson.dumps(index), records, format_timestamp(now),
                 album_export.dump(albums), len(albums), sorted(damaged), site_bytes,
                 damaged_site, len(rt.images.trash_ids()))


def _manifest(plan: _Plan, rt: Operations, exported: list[dict[str, Any]],
              missing: list[str]) -> bytes:
    return orjson.dumps({
        "format": FORMAT,
        "exported_at": plan.exported_at,
        "source": {"backend": backend_name(rt.storage), "prefix": rt.keys.prefix},
        "images": exported,
        "missing": missing,
        "albums": plan.albums,
        "site": plan.site_bytes is not None,
    }, option=orjson.OPT_INDENT_2)


def export_folder(rt: Operations, dest: Path, now: datetime, progress: Progress | None
                  ) -> ExportReport:
    """Write an export into ``dest``, a new or empty folder.

    Raises:
        BadRequest: ``dest`` is a file, or a folder that is not empty.
        DocumentDamaged: the index cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BadRequest(f"{dest} is not an empty folder; export into a new one.")
    plan = _plan(rt, now)
    (dest / ORIGINALS).mkdir(parents=True, exist_ok=True)
    (dest / INDEX).write_bytes(plan.index_bytes)
    (dest / ALBUMS).write_bytes(plan.albums_bytes)
    if plan.site_bytes is not None:
        (dest / SITE).write_bytes(plan.site_bytes)
    report = ExportReport(str(dest), albums=plan.albums, damaged_albums=plan.damaged_albums,
                          site=plan.site_bytes is not None, damaged_site=plan.damaged_site,
                          in_trash=plan.in_trash)
    exported: list[dict[str, Any]] = []
    for done, record in enumerate(plan.records, 1):
        target = dest / original_name(record)
        try:
            with rt.storage.open(rt.keys.original(record["id"])) as source, \
                    open(target, "wb") as out:
                report.bytes += _copy(source, out)
        except ObjectNotFound:
            target.unlink(missing_ok=True)
            report.missing.append(record["id"])
        else:
            exported.append(record)
            report.images += 1
        if progress:
            progress(done, len(plan.records))
    part = dest / (MANIFEST + ".part")
    part.write_bytes(_manifest(plan, rt, exported, report.missing))
    os.replace(part, dest / MANIFEST)
    return report


def _copy(source: BinaryIO, out: BinaryIO) -> int:
    size = 0
    while chunk := source.read(256 * 1024):
        out.write(chunk)
        size += len(chunk)
    return size


def iter_zip(rt: Operations, now: datetime, report: ExportReport,
             progress: Progress | None = None) -> Iterator[bytes]:
    """An export as a zip, in chunks, holding at most one storage chunk in memory at a time.

    Originals are stored as they are (they are compressed already); the JSON
    files are deflated. ``report`` is filled in as the zip is produced.

    Raises:
        DocumentDamaged: the index cannot be read.
        StorageUnavailable: the storage did not answer (the zip stops there).
    """
    plan = _plan(rt, now)
    report.albums, report.damaged_albums = plan.albums, plan.damaged_albums
    report.site, report.damaged_site = plan.site_bytes is not None, plan.damaged_site
    report.in_trash = plan.in_trash
    sink = Sink()
    exported: list[dict[str, Any]] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zip_entry(INDEX, plan.exported_at, zipfile.ZIP_DEFLATED), plan.index_bytes)
        archive.writestr(zip_entry(ALBUMS, plan.exported_at, zipfile.ZIP_DEFLATED),
                         plan.albums_bytes)
        if plan.site_bytes is not None:
            archive.writestr(zip_entry(SITE, plan.exported_at, zipfile.ZIP_DEFLATED),
                             plan.site_bytes)
        yield sink.take()
        for done, record in enumerate(plan.records, 1):
            try:
                source = rt.storage.open(rt.keys.original(record["id"]))
            except ObjectNotFound:
                report.missing.append(record["id"])
                continue
            entry = zip_entry(original_name(record), record["created_at"], zipfile.ZIP_STORED)
            entry.file_size = int(record.get("size", 0))
            with source, archive.open(entry, "w") as out:
                while chunk := source.read(256 * 1024):
                    out.write(chunk)
                    report.bytes += len(chunk)
                    yield sink.take()
            exported.append(record)
            report.images += 1
            if progress:
                progress(done, len(plan.records))
        archive.writestr(zip_entry(MANIFEST, plan.exported_at, zipfile.ZIP_DEFLATED),
                         _manifest(plan, rt, exported, report.missing))
    yield sink.take()


def export_zip_file(rt: Operations, dest: Path, now: datetime, progress: Progress | None
                    ) -> ExportReport:
    """Write an export as the zip file ``dest`` (complete, or not at all).

    Raises:
        BadRequest: ``dest`` exists already, or its folder does not.
        DocumentDamaged: the index cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    if dest.exists():
        raise BadRequest(f"{dest} exists already; export into a new file.")
    if not dest.parent.is_dir():
        raise BadRequest(f"The folder {dest.parent} does not exist.")
    report = ExportReport(str(dest))
    part = dest.with_name(dest.name + ".part")
    try:
        with open(part, "wb") as out:
            for chunk in iter_zip(rt, now, report, progress):
                out.write(chunk)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return report


# --- import ------------------------------------------------------------------------------------


MAX_ENTRY_RATIO = 100
"""Most a zip entry may grow when inflated (JSON shrinks about tenfold, images hardly)."""


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or "\x00" in name or (
        len(parts[0]) == 2 and parts[0][1] == ":")


class _Source:
    """An export to read: a folder or a zip file, never anything outside it.

    Raises (on creation):
        BadRequest: a zip with an entry named by an absolute path or with ``..``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.resolve()
        self.archive = zipfile.ZipFile(path) if path.is_file() else None
        if self.archive is not None:
            bad = [info.filename for info in self.archive.infolist()
                   if _unsafe_name(info.filename)]
            if bad:
                self.archive.close()
                raise BadRequest(f"{path} is not a gallery export: it holds an entry named "
                                 f"{bad[0]!r}.")

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def has(self, name: str) -> bool:
        if self.archive is not None:
            return name in self.archive.NameToInfo
        try:
            with open_inside(self.root, self.path / name):
                return True
        except (OSError, BadRequest):
            return False

    def read(self, name: str, limit: int) -> bytes:
        """The member's bytes, read as a stream and never more than ``limit`` of them.

        Raises:
            TooLarge: it is larger than ``limit`` bytes, or a zip entry would
                inflate more than :data:`MAX_ENTRY_RATIO` times.
            BadRequest: it is missing, or not a regular file inside the export.
        """
        try:
            if self.archive is not None:
                info = self.archive.getinfo(name)
                if info.file_size > limit:
                    raise TooLarge(f"{name} is larger than {limit} bytes.")
                if info.file_size > 1_000_000 and \
                        info.file_size > MAX_ENTRY_RATIO * max(1, info.compress_size):
                    raise TooLarge(f"{name} inflates {info.file_size // max(1, info.compress_size)}"
                                   " times; that is not an export.")
                stream: BinaryIO = self.archive.open(info)  # type: ignore[assignment]
            else:
                stream = open_inside(self.root, self.path / name)
        except (KeyError, FileNotFoundError):
            raise BadRequest(f"{name} is missing from the export.") from None
        with stream:
            data = _read_at_most(stream, limit + 1)
        if len(data) > limit:
            raise TooLarge(f"{name} is larger than {limit} bytes.")
        return data


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0 and (chunk := stream.read(min(left, 1 << 20))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def open_inside(root: Path, path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file within ``root`` (links resolved).

    A link that leads out of ``root``, or to a device, pipe or socket, is refused;
    the check is made on the file actually opened.

    Raises:
        BadRequest: outside ``root`` or not a regular file.
        OSError: it cannot be opened.
    """
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise BadRequest(f"{path.name} leads outside the folder imported.")
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadRequest(f"{path.name} is not a regular file.")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_export(path: Path) -> bool:
    """Whether ``path`` is an export (a zip, or a folder with a manifest)."""
    if path.is_file():
        return zipfile.is_zipfile(path)
    return (path / MANIFEST).is_file()


def import_export(rt: Operations, path: Path, progress: Progress | None,
                  fallback: str | None = None) -> ImportReport:
    """Reproduce an exported gallery: same ids, texts, uploaders, times and albums.

    The manifest and ``albums.json`` are read whole first
    (:mod:`gallery.operations.manifest`, :mod:`gallery.operations.album_export`);
    a record that fails is listed as rejected and the rest go on. An uploader (or
    album owner) without an account here becomes ``fallback`` (listed as
    reassigned); without a fallback such records are rejected. The albums are
    stored once the images are in.

    Raises:
        BadRequest: the manifest or ``albums.json`` is missing, damaged, too large, or
            of an unknown format; a zip holds an entry with an absolute path or ``..``.
        DocumentDamaged: the index cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    report = ImportReport(str(path))
    source = _Source(path)
    try:
        if not source.has(MANIFEST):
            raise BadRequest(f"{path} has no {MANIFEST}; it is not a gallery export.")
        contents = manifest.parse(source.read(MANIFEST, manifest.MAX_MANIFEST_BYTES))
        albums = None
        if contents.albums is not None:
            albums = album_export.parse(source.read(ALBUMS, album_export.MAX_ALBUMS_BYTES),
                                        contents.albums)

        def account(name: str) -> str | None:
            user = rt.accounts.get(name)
            return None if user is None else user.username

        checked = manifest.check(contents.images, account, fallback)
        report.rejected += checked.rejected
        report.reassigned += checked.reassigned
        limit = rt.images.limits.max_bytes
        total = len(checked.entries)
        with rt.images.batch(report.verdict) as batch:
            for done, entry in enumerate(checked.entries, 1):
                _attempt(report, entry.original,
                         lambda entry=entry: batch.import_record(
                             entry.original, source.read(entry.original, limit), entry.record))
                if progress:
                    progress(done, total)
        if albums is not None:
            report.albums = _put_back_albums(rt, report, checked, albums, account, fallback)
        if contents.site:
            report.site = _put_back_site(rt, source)
    finally:
        source.close()
    return report


def _put_back_albums(rt: Operations, report: ImportReport, checked: manifest.Checked,
                     albums: list[Any], account: Callable[[str], str | None],
                     fallback: str | None) -> AlbumImport:
    """Store the export's albums over the images now in the target.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    exported_id = {entry.original: entry.record["id"] for entry in checked.entries}
    moved_to = {exported_id[name]: image_id for name, image_id in report.duplicates
                if name in exported_id and exported_id[name] != image_id}
    rt.images.catalog.forget()
    present = {record.id: record.key for record in rt.images.view().records()}
    return album_export.put_back(rt.albums, albums, present=present, moved_to=moved_to,
                                 account=account, fallback=fallback)


def _put_back_site(rt: Operations, source: _Source) -> str:
    """Store the export's site settings unless the target has its own: ``imported``,
    ``kept``, or ``rejected: reason`` (a damaged ``site.json`` stops nothing else).

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    try:
        site = Site.from_json(orjson.loads(source.read(SITE, MAX_SITE_BYTES)))
    except (GalleryError, orjson.JSONDecodeError, ValueError) as err:
        reason = err.message if isinstance(err, GalleryError) else str(err)
        return f"rejected: {SITE} {reason.rstrip('.')}"
    return "imported" if rt.site.put_back(site, album_exists=rt.albums.exists) else "kept"


def _attempt(report: ImportReport, name: str, step: Callable[[], None]) -> None:
    """Stage one file in the batch (its verdict reaches the report through
    :meth:`ImportReport.verdict`); a file that cannot be read or is refused before
    staging goes into the report, a storage failure stops the run."""
    try:
        step()
    except OSError as err:
        report.rejected.append((name, f"cannot be read: {err.strerror or err}"))
    except GalleryError as err:
        if err.status >= 500:  # the storage, not the file: stop, a re-run resumes
            raise
        report.rejected.append((name, err.message))


def image_files(folder: Path, recursive: bool) -> list[Path]:
    """The files to import: hidden ones (and hidden folders) left out, sorted by path."""
    if not folder.is_dir():
        raise BadRequest(f"{folder} is not a folder.")
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):  # links to folders are not followed
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        found += [Path(root) / f for f in files if not f.startswith(".")]
    return sorted(found)


def import_folder(rt: Operations, folder: Path, username: str, recursive: bool,
                  progress: Progress | None) -> ImportReport:
    """Upload every file in ``folder`` as ``username``, through the upload pipeline.

    Raises:
        BadRequest: ``folder`` is not a folder.
        DocumentDamaged: the index cannot be read.
        StorageUnavailable: the storage did not answer.
    """
    report = ImportReport(str(folder))
    files = image_files(folder, recursive)
    limit = rt.images.limits.max_bytes
    root = folder.resolve()
    with rt.images.batch(report.verdict) as batch:

        def upload(name: str, path: Path) -> None:
            with open_inside(root, path) as stream:
                data = _read_at_most(stream, limit + 1)
            if len(data) > limit:
                raise TooLarge(f"The file is larger than {limit} bytes.")
            batch.upload(name, data, path.name, uploaded_by=username)

        for done, path in enumerate(files, 1):
            name = str(path.relative_to(folder))
            _attempt(report, name, lambda name=name, path=path: upload(name, path))
            if progress:
                progress(done, len(files))
    return report
