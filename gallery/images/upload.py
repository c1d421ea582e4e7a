"""Uploading: each file checked on its own, the catalog written once per batch.

One file's way in:

1. its SHA-256 as sent is looked up in the hash buckets: the same bytes as an
   image in the gallery are a duplicate at once, without decoding anything;
2. the upload pipeline validates it (libmagic and Pillow, limits, every frame)
   and makes the stored original and thumbnails; their hashes are looked up
   again;
3. its original, thumbnails and ``meta.json`` are written under a new id
   (create-only).

A batch then, once per ``size`` files or ``seconds`` (and at its end):

4. claims every staged file's hashes in the hash buckets: a hash held by
   another image makes that file a duplicate of it, and its objects go again;
5. adds the records of the rest to the catalog, one write per shard touched.

If step 4 or 5 fails, every file of the batch that did not get into the
catalog has its objects and claims removed, so the catalog never points at a
missing object and nothing is left that ``gallery cleanup`` would not remove.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gallery.catalog import Add
from gallery.clock import format_timestamp, is_timestamp
from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest, Conflict, GalleryError, PreconditionFailed
from gallery.images.domain import Domain
from gallery.images.record import (
    EDITABLE,
    MAX_TITLE,
    ImageRecord,
    Variant,
    check_changes,
)
from gallery.images.results import UploadResult
from gallery.images.store import Damaged
from gallery.images.titles import default_title
from gallery.images.trash import claim_is_stale, in_trash
from gallery.imaging import ProcessedImage, process_upload
from gallery.keys import is_image_id, new_image_id
from gallery.names import FALLBACK_NAME, sanitize_filename

log = logging.getLogger(__name__)

#: A batch writes the catalog after this many files, or this many seconds after its first.
BATCH_FILES = 50
BATCH_SECONDS = 2.0
MAX_UPLOADER = 64
#: How far back an upload's recorded time may be set (see :func:`upload_time`).
MAX_BACKDATE = timedelta(hours=24)

Verdict = UploadResult | GalleryError


@dataclass(slots=True)
class _Staged:
    tag: Any
    record: ImageRecord
    written: list[str]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_record(d: Domain, image_id: str, processed: ProcessedImage, filename: str,
               uploaded_by: str, texts: Mapping[str, Any],
               created_at: datetime | None = None) -> ImageRecord:
    """The record of a freshly processed image, uploaded now (or at ``created_at``, see
    :func:`upload_time`).

    Without a title in ``texts``, the title is the file's name, or none for a camera's
    file name on a photo that knows when it was taken (gallery/images/titles.py).
    """
    name = sanitize_filename(filename)
    extension = processed.extension.lstrip(".").lower()
    if name == FALLBACK_NAME and extension:
        name = f"{name}.{extension}"
    return ImageRecord(
        id=image_id,
        filename=name,
        content_type=processed.content_type,
        format=processed.format,
        size=len(processed.data),
        width=processed.width,
        height=processed.height,
        sha256=processed.sha256,
        upload_sha256=processed.upload_sha256 if processed.upload_sha256 != processed.sha256
        else None,
        created_at=format_timestamp(created_at or d.clock()),
        uploaded_by=uploaded_by,
        title=texts.get("title", default_title(name, processed.taken_at)[:MAX_TITLE]),
        description=texts.get("description", ""),
        tags=texts.get("tags", ()),
        frames=processed.frames,
        animated=processed.animated,
        placeholder=processed.placeholder,
        gps_removed=processed.gps_removed,
        taken_at=processed.taken_at,
        camera=processed.camera,
        variants=tuple(Variant(v.name, v.width, v.height, len(v.data), _sha256(v.data))
                       for v in processed.variants),
    )


class UploadBatch:
    """Uploads whose catalog entries are written together.

    Each file's verdict goes to ``on_result(tag, verdict)``: at once when it is
    refused or a duplicate, when its batch is written otherwise. A verdict is an
    :class:`UploadResult` or the refusal (a :class:`GalleryError` of status below
    500). A storage failure is raised instead, from the call that hit it, after
    the files of the unwritten batch were taken out again.

    Use as a context manager, or call :meth:`flush` at the end.
    """

    def __init__(self, d: Domain, on_result: Callable[[Any, Verdict], None], *,
                 size: int = BATCH_FILES, seconds: float = BATCH_SECONDS) -> None:
        self.d = d
        self.on_result = on_result
        self.size = max(1, size)
        self.seconds = seconds
        self._staged: list[_Staged] = []
        self._by_sha: dict[str, ImageRecord] = {}
        self._started = 0.0

    def __enter__(self) -> UploadBatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:
            self.flush()
        else:
            self._abandon()

    # -- staging --------------------------------------------------------------------

    def upload(self, tag: Any, data: bytes, filename: str, *, uploaded_by: str,
               title: str | None = None, description: str = "", tags: Sequence[str] = (),
               created_at: datetime | None = None) -> None:
        """Check and stage one uploaded file, with its texts and tags.

        ``created_at`` is the upload time to record instead of now, for keeping
        the order of files sent together (see :func:`upload_time`); an image
        already in the gallery keeps its own time, texts and tags.

        Raises:
            StorageUnavailable, DocumentDamaged: the storage failed (the batch is
                taken out again).
        """
        fields: dict[str, Any] = {"description": description, "tags": list(tags)}
        if title is not None:
            fields["title"] = title
        try:
            texts = check_changes(fields)
        except ValueError as err:
            self.on_result(tag, BadRequest(str(err)))
            return
        moment = None if created_at is None else upload_time(created_at, self.d.clock())
        self._stage(tag, data, lambda processed: new_record(
            self.d, new_image_id(), processed, filename, uploaded_by, texts, moment))

    def import_record(self, tag: Any, data: bytes, record: Mapping[str, Any]) -> None:
        """Check and stage an image exported from a gallery, under its old id, uploader,
        time and texts.

        The bytes go through the same validation and pipeline as an upload; the
        facts about them (type, size, dimensions, hashes, thumbnails) come from
        the pipeline, never from ``record``. Only ``id``, ``filename``,
        ``title``, ``description``, ``tags``, ``uploaded_by`` and ``created_at``
        are taken from it. An id that is in the gallery with the same bytes is a
        duplicate; with other bytes, a :class:`Conflict`.
        """
        try:
            image_id, created_at, uploaded_by, texts = check_import(record)
        except GalleryError as err:
            self.on_result(tag, err)
            return
        existing = self.d.catalog.view().get(image_id)
        if existing is None and in_trash(self.d, image_id):
            self.on_result(tag, Conflict(
                f"The image {image_id} is in this gallery's trash; restore it, or delete it "
                "for good, and import again."))
            return
        if existing is not None:
            if existing.sha256 == _sha256(data) or existing.upload_sha256 == _sha256(data):
                self.on_result(tag, UploadResult(existing.public(), True))
            else:
                self._check_bytes_then(tag, data, existing)
            return

        def make(processed: ProcessedImage) -> ImageRecord:
            made = new_record(self.d, image_id, processed, str(record.get("filename") or ""),
                              uploaded_by, texts)
            return made.with_changes(created_at=created_at)

        self._stage(tag, data, make)

    def _check_bytes_then(self, tag: Any, data: bytes, existing: ImageRecord) -> None:
        try:
            processed = process_upload(data, self.d.limits)
        except GalleryError as err:
            self._refuse(tag, err)
            return
        if existing.sha256 in (processed.sha256, processed.upload_sha256):
            self.on_result(tag, UploadResult(existing.public(), True))
        else:
            self.on_result(tag, Conflict(f"The id {existing.id} is taken by a different image."))

    def _refuse(self, tag: Any, err: GalleryError) -> None:
        if err.status >= 500:
            self._abandon()
            raise err
        self.on_result(tag, err)

    def _known(self, shas: set[str]) -> ImageRecord | None:
        """An image already in the gallery (or in this batch) with one of these hashes."""
        for sha in shas:
            if sha in self._by_sha:
                return self._by_sha[sha]
        view = None
        for holder in set(self.d.hashes.lookup(shas).values()):
            view = view or self.d.catalog.view()
            record = view.get(holder)
            if record is not None:
                return record
        return None

    def _stage(self, tag: Any, data: bytes, make: Callable[[ProcessedImage], ImageRecord]) -> None:
        try:
            self.d.catalog.view()  # a damaged catalog stops the upload before anything is stored
            known = self._known({_sha256(data)})
            if known is None:
                processed = process_upload(data, self.d.limits)
                known = self._known({processed.sha256, processed.upload_sha256})
        except GalleryError as err:
            self._refuse(tag, err)
            return
        if known is not None:
            self.on_result(tag, UploadResult(known.public(), True))
            return
        record = make(processed)
        variants = [(v.name, v.data, v.content_type) for v in processed.variants]
        try:
            written = self.d.store.write_new(record, processed.data, variants)
        except PreconditionFailed:
            self.on_result(tag, Conflict(
                f"Objects of image {record.id} are in the bucket but it is not in the catalog; "
                "run `gallery reindex` (or `gallery cleanup`) and import again."))
            return
        except GalleryError:
            self._abandon()
            raise
        if not self._staged:
            self._started = time.monotonic()
        self._staged.append(_Staged(tag, record, written))
        for sha in record.hashes:
            self._by_sha[sha] = record
        if len(self._staged) >= self.size or time.monotonic() - self._started >= self.seconds:
            self.flush()

    # -- writing the batch ------------------------------------------------------------

    def flush(self) -> None:
        """Write the staged files to the catalog and give each its verdict.

        Raises:
            StorageUnavailable, DocumentDamaged, Conflict: not every file of the
                batch is in the gallery (those whose write landed although it failed
                stay in). When every one of them got in although the write reported
                an error (its answer was lost), each gets its verdict and nothing is
                raised.
        """
        staged, self._staged, self._by_sha = self._staged, [], {}
        if not staged:
            return
        claims = {sha: s.record.id for s in staged for sha in s.record.hashes}
        try:
            taken = self._claim(claims)
            holders = {claims[sha]: holder for sha, holder in taken.items()}
            keep = [s for s in staged if s.record.id not in holders]
            outcomes = self.d.catalog.apply([Add(s.record) for s in keep]) if keep else {}
        except DocumentDamaged:
            for s in staged:  # a damaged catalog is never written: none of them got in
                self._drop(s)
            raise
        except GalleryError:
            if not self._take_out(staged):
                raise
            holders, outcomes = {}, {}  # every file got in: the write landed after all
        except BaseException:
            self._take_out(staged)
            raise
        for s in staged:
            holder = holders.get(s.record.id)
            if holder is not None:
                self._drop(s)
                self.on_result(s.tag, self._duplicate_of(holder))
            elif outcomes.get(s.record.id) == "taken":
                self._drop(s)
                self.on_result(s.tag, Conflict(
                    f"The id {s.record.id} is taken by a different image."))
            else:
                self.on_result(s.tag, UploadResult(s.record.public(), False))

    def _claim(self, claims: dict[str, str]) -> dict[str, str]:
        """Claim the hashes; a claim held by an image that is not in the catalog and either
        has no objects any more (an upload that failed half-way) or is in the trash is
        taken over."""
        taken = self.d.hashes.claim(claims)
        if not taken:
            return taken
        view = self.d.catalog.view()
        stale = {}
        for sha, holder in taken.items():  # gone half-way, or in the trash
            if claim_is_stale(self.d, view, holder):
                stale[sha] = holder
        if stale:
            still = self.d.hashes.claim({sha: claims[sha] for sha in stale}, stale=stale)
            taken = {sha: h for sha, h in taken.items() if sha not in stale} | still
        return taken

    def _meta_of(self, image_id: str) -> ImageRecord | None:
        try:
            return self.d.store.read_meta(image_id)
        except Damaged:
            return None

    def _duplicate_of(self, holder: str) -> Verdict:
        record = self.d.catalog.view().get(holder) or self._meta_of(holder)
        if record is None:
            return Conflict("The same picture is being uploaded right now; try again.")
        return UploadResult(record.public(), True)

    def _drop(self, s: _Staged) -> None:
        self.d.store.discard(s.written)
        try:
            self.d.hashes.release({sha: s.record.id for sha in s.record.hashes})
        except GalleryError as err:
            log.warning("could not release the hashes of %s (cleanup will): %s", s.record.id, err)

    def _take_out(self, staged: list[_Staged]) -> bool:
        """After a failed batch write: remove what did not get into the catalog.

        Returns:
            Whether every file of the batch is in the catalog (nothing was taken out).
        """
        try:
            self.d.catalog.forget()
            view = self.d.catalog.view()
            out = [s for s in staged if view.get(s.record.id) is None]
        except GalleryError:
            log.warning("a batch of %d upload(s) failed; cleanup will remove what is left",
                        len(staged))
            return False
        for s in out:
            self._drop(s)
        return not out

    def _abandon(self) -> None:
        staged, self._staged, self._by_sha = self._staged, [], {}
        for s in staged:
            self._drop(s)


def upload_time(asked: datetime | None, now: datetime) -> datetime | None:
    """The upload time to record for a file whose sender asked for ``asked``: that time
    when it lies within :data:`MAX_BACKDATE` before ``now`` (a time up to a minute
    ahead is taken as ``now``: clocks differ), else ``None`` (the time of storing).

    Files picked together are sent one by one and stored in whatever order they
    arrive; their sender gives each the time the batch began, less a millisecond
    per place in the batch, so that the gallery (newest first) shows them in the
    order they were picked.
    """
    if asked is None or asked.tzinfo is None:
        return None
    if asked > now:
        return now if asked - now <= timedelta(minutes=1) else None
    return asked if now - asked <= MAX_BACKDATE else None


def upload_one(d: Domain, data: bytes, filename: str, *, uploaded_by: str,
               title: str | None = None, description: str = "", tags: Sequence[str] = (),
               created_at: datetime | None = None) -> UploadResult:
    """Validate and store one image; an image already stored is reused.

    Raises:
        BadRequest: the title, description or tags are not acceptable.
        TooLarge, UnsupportedType, DamagedImage: the file is not acceptable.
        DocumentDamaged: the catalog cannot be read (nothing is stored).
        StorageUnavailable: the storage did not answer; what this upload wrote
            is removed again where possible.
    """
    verdicts: list[Verdict] = []
    with UploadBatch(d, lambda _tag, verdict: verdicts.append(verdict), size=1) as batch:
        batch.upload(None, data, filename, uploaded_by=uploaded_by, title=title,
                     description=description, tags=tags, created_at=created_at)
    verdict = verdicts[0]
    if isinstance(verdict, GalleryError):
        raise verdict
    return verdict


def import_one(d: Domain, data: bytes, record: Mapping[str, Any]) -> UploadResult:
    """:meth:`UploadBatch.import_record` for one image. Raises as :func:`upload_one`,
    and Conflict: the id is taken by a different image."""
    verdicts: list[Verdict] = []
    with UploadBatch(d, lambda _tag, verdict: verdicts.append(verdict), size=1) as batch:
        batch.import_record(None, data, record)
    verdict = verdicts[0]
    if isinstance(verdict, GalleryError):
        raise verdict
    return verdict


def check_import(record: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """The id, upload time, uploader, texts and tags an exported record brings.

    Raises:
        BadRequest: one of them is missing or not valid.
    """
    image_id, created_at, uploaded_by = (record.get(name) for name in
                                         ("id", "created_at", "uploaded_by"))
    if not is_image_id(image_id):
        raise BadRequest("The record has no valid image id.")
    if not is_timestamp(created_at):
        raise BadRequest("The record has no valid created_at time.")
    if (not isinstance(uploaded_by, str) or not uploaded_by.strip()
            or len(uploaded_by) > MAX_UPLOADER):
        raise BadRequest("The record names no valid uploader.")
    try:
        texts = check_changes({**{name: record.get(name) or "" for name in EDITABLE},
                               "tags": record.get("tags") or []})
    except ValueError as err:
        raise BadRequest(str(err)) from None
    return image_id, created_at, uploaded_by.strip(), texts
