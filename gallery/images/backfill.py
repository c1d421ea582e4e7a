"""Camera details and the date taken for images stored before the gallery read them.

``gallery backfill`` reads the original of every image whose record has neither
``camera`` nor ``taken_at``, takes both from its EXIF exactly as an upload does
(:func:`gallery.imaging.exif.read_details`), and writes what it found into the
catalog, one batched write per ``batch`` images (as imports do), then into each
image's ``meta.json``. Nothing else in a record changes, and its edit counter
stays: this is what the upload would have recorded, not an edit.

It can be run again at any time: images that already have details are not read
again, and an image whose details are found is never written twice. Images with
no camera details at all (screenshots, drawings) are read again on each run,
since the record cannot tell them from images never read; GIFs, which carry no
EXIF, are never read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from gallery.catalog import Change
from gallery.errors import GalleryError, ObjectNotFound
from gallery.images.domain import Domain
from gallery.images.record import ImageRecord
from gallery.images.store import read_many
from gallery.imaging.exif import Details, read_details

log = logging.getLogger(__name__)

#: Images read, and written to the catalog, together.
BATCH = 50
#: Formats whose files cannot carry EXIF.
NO_EXIF = frozenset({"GIF"})

#: Called after each batch with (images done, images to do).
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class BackfillReport:
    """What a backfill did: images ``checked`` (originals read), ``updated`` (details
    found and written), ``nothing_found`` (no camera details in the file),
    ``missing`` (ids whose original is gone) and ``failed`` (id, reason)."""

    checked: int = 0
    updated: int = 0
    nothing_found: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report for people, one line each."""
        out = [f"Checked {_images(self.checked)}: {self.updated} got camera details or a date "
               f"taken, {self.nothing_found} have none in their file."]
        if self.skipped:
            out.append(f"Skipped {_images(self.skipped)} that had them already or cannot have "
                       "them.")
        out += [f"Missing original: {image_id} (run `gallery cleanup --dry-run`)"
                for image_id in self.missing]
        out += [f"Failed: {image_id}: {reason}" for image_id, reason in self.failed]
        return out


def _images(count: int) -> str:
    return f"{count} image" if count == 1 else f"{count} images"


def wants_details(record: ImageRecord) -> bool:
    """Whether a record lacks camera details and a date taken, and its format can have them."""
    return not record.camera and record.taken_at is None and record.format not in NO_EXIF


def _batches(items: Sequence[ImageRecord], size: int) -> Iterator[Sequence[ImageRecord]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backfill(d: Domain, *, batch: int = BATCH, workers: int = 8,
             progress: Progress | None = None) -> BackfillReport:
    """Read camera details and the date taken from the originals that lack them.

    Raises:
        DocumentDamaged: the catalog cannot be read.
        StorageUnavailable: the storage did not answer (what was written stays;
            running again goes on from there).
    """
    records = list(d.catalog.view().records())
    todo = [record for record in records if wants_details(record)]
    report = BackfillReport(skipped=len(records) - len(todo))
    if progress is not None:
        progress(0, len(todo))

    formats = {record.id: record.format for record in todo}

    def read(image_id: str) -> Details | None:
        try:
            original = d.store.original(image_id)
        except ObjectNotFound:
            return None
        return read_details(formats[image_id], original)

    done = 0
    for chunk in _batches(todo, max(1, batch)):
        found = read_many(read, [record.id for record in chunk], workers)
        ops = []
        for record in chunk:
            details = found[record.id]
            if details is None:
                report.missing.append(record.id)
                continue
            report.checked += 1
            if not details.camera and details.taken_at is None:
                report.nothing_found += 1
                continue
            ops.append(Change(record.key, record.id, _filler(details)))
        outcomes = d.catalog.apply(ops) if ops else {}
        for op in ops:
            updated = outcomes.get(op.image_id)
            if updated is None:  # deleted meanwhile
                continue
            report.updated += 1
            try:
                d.store.sync_meta(updated)
            except GalleryError as err:  # the catalog has them; reindex would lose them
                report.failed.append((op.image_id, f"meta.json not written: {err.message}"))
        done += len(chunk)
        if progress is not None:
            progress(done, len(todo))
    return report


def _filler(details: Details) -> Callable[[ImageRecord], ImageRecord | None]:
    """The change that fills in ``details``, unless the record got some meanwhile."""

    def change(current: ImageRecord) -> ImageRecord | None:
        if not wants_details(current):
            return None
        return current.with_changes(camera=details.camera, taken_at=details.taken_at)

    return change
