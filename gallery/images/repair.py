"""Repairs: put lost images back, remake thumbnails and ``meta.json``, rebuild the catalog.

``reindex`` rebuilds the whole catalog (shards and hash buckets) from the
bucket alone: each image's ``meta.json`` next to its original. It is safe
while uploads, edits and deletes go on: every shard is rewritten by
compare-and-swap from what it holds at that moment, so a record written after
the listing is kept while its original exists, an image deleted meanwhile is
not revived, and an edit newer than the ``meta.json`` read here (a higher
``rev``) wins. An image with a trash document (``trash/<id>.json``) is never
brought back: it stays in the trash, its document untouched.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping, Sequence

from gallery.catalog import Add, Change
from gallery.catalog.model import bucket_of
from gallery.clock import format_timestamp
from gallery.documents import DocumentDamaged
from gallery.errors import NotFound, ObjectNotFound
from gallery.images import trash
from gallery.images.domain import Domain
from gallery.images.record import ImageRecord, Variant
from gallery.images.results import ReindexReport
from gallery.images.store import META, ORIGINAL, TOMBSTONE, Damaged, read_many
from gallery.imaging import VARIANT_SIZES, make_variants
from gallery.keys import is_image_id
from gallery.storage.base import ObjectInfo


def _records_from_meta(d: Domain, listing: Mapping[str, Mapping[str, ObjectInfo]],
                       workers: int, trashed: set[str]
                       ) -> tuple[dict[str, ImageRecord], list[str]]:
    """Records rebuilt from ``meta.json`` for whole images without a tombstone and not
    in the trash; the ids whose ``meta.json`` is damaged."""
    wanted = [i for i, objects in listing.items()
              if ORIGINAL in objects and META in objects and TOMBSTONE not in objects
              and i not in trashed]

    def read(image_id: str) -> ImageRecord | None | bool:
        try:
            record = d.store.read_meta(image_id)
        except Damaged:
            return False
        if record is None:
            return None
        objects = listing[image_id]
        return record.with_changes(
            size=objects[ORIGINAL].size,
            variants=tuple(v for v in record.variants if f"{v.name}.webp" in objects))

    results = read_many(read, wanted, workers)
    rebuilt = {i: r for i, r in results.items() if isinstance(r, ImageRecord)}
    return rebuilt, sorted(i for i, r in results.items() if r is False)


def without_duplicates(candidates: Mapping[str, ImageRecord], indexed: set[str]
                       ) -> tuple[dict[str, ImageRecord], list[str]]:
    """Keep one image per content hash: the one already in the catalog, else the oldest."""
    order = sorted(candidates, key=lambda i: (i not in indexed, candidates[i].created_at, i))
    seen: set[str] = set()
    kept: dict[str, ImageRecord] = {}
    duplicates: list[str] = []
    for image_id in order:
        record = candidates[image_id]
        if record.hashes & seen:
            duplicates.append(image_id)
            continue
        seen |= record.hashes
        kept[image_id] = record
    return kept, duplicates


def adopt(d: Domain, image_ids: Iterable[str], *, workers: int = 8) -> tuple[list[str], list[str]]:
    """Put images back into the catalog whose entry went missing but whose objects did not.

    An image qualifies when it has its original and a readable ``meta.json``
    and no tombstone, is not in the catalog and not in the trash.

    Returns:
        The ids added, and the ids left out because the same picture is in the
        gallery under another id.

    Raises:
        DocumentDamaged, StorageUnavailable.
    """
    listing = {}
    for image_id in dict.fromkeys(image_ids):
        if is_image_id(image_id):
            listing[image_id] = d.store.objects(image_id)
    found, _ = _records_from_meta(d, listing, workers,
                                  {i for i in listing if trash.in_trash(d, i)})
    view = d.catalog.view()
    found = {i: r for i, r in found.items() if view.get(i) is None}
    if not found:
        return [], []
    claims = {sha: r.id for r in found.values() for sha in r.hashes}
    taken = d.hashes.claim(claims)
    stale = {sha: holder for sha, holder in taken.items()
             if view.get(holder) is None and not d.store.has_original(holder)}
    if stale:
        taken = {s: h for s, h in taken.items() if s not in stale} | d.hashes.claim(
            {sha: claims[sha] for sha in stale}, stale=stale)
    duplicates = sorted({claims[sha] for sha in taken})
    fresh = [r for i, r in found.items() if i not in duplicates]
    if duplicates:
        d.hashes.release({sha: r.id for i in duplicates for sha in found[i].hashes
                          for r in [found[i]]})
    outcomes = d.catalog.apply([Add(r) for r in fresh])
    added = sorted(i for i, outcome in outcomes.items() if outcome == "added")
    return added, duplicates


def restore_variants(d: Domain, image_id: str) -> list[str]:
    """Make an image's missing thumbnails again from its stored original.

    The original is validated exactly like an upload; the catalog and
    ``meta.json`` learn the new thumbnails' facts.

    Returns:
        The names of the thumbnails made (none when nothing was missing).

    Raises:
        NotFound: the image is not in the catalog, or its original is gone.
        TooLarge, UnsupportedType, DamagedImage: the original does not pass.
        StorageUnavailable: the storage did not answer.
    """
    record = d.get(image_id)
    present = d.store.objects(image_id)
    missing = [name for name in VARIANT_SIZES if f"{name}.webp" not in present]
    if not missing:
        return []
    try:
        original = d.store.original(image_id)
    except ObjectNotFound:
        raise NotFound("That image's original is gone; its thumbnails cannot be made.") from None
    made = {}
    for variant in make_variants(original, d.limits):
        if variant.name in missing:
            d.store.put_variant(image_id, variant.name, variant.data, variant.content_type)
            made[variant.name] = Variant(variant.name, variant.width, variant.height,
                                         len(variant.data),
                                         hashlib.sha256(variant.data).hexdigest())
    updated = d.catalog.apply([Change(record.key, image_id,
                                      lambda current: current.with_variants(made))]).get(image_id)
    if updated is not None:
        d.store.sync_meta(updated)
    return sorted(made)


def restore_meta(d: Domain, image_id: str) -> bool:
    """Write a missing ``meta.json`` from the image's catalog record.

    Returns:
        Whether it was written (``False``: one exists already).

    Raises:
        NotFound: the image is not in the catalog.
        StorageUnavailable: the storage did not answer.
    """
    return d.store.write_meta(d.get(image_id), if_absent=True)


def meta_behind(d: Domain, record: ImageRecord) -> bool:
    """Whether an image's ``meta.json`` disagrees with its catalog record (an edit
    whose ``meta.json`` write failed, or a ``meta.json`` from a refused edit).

    Raises:
        StorageUnavailable: the storage did not answer.
    """
    try:
        stored = d.store.read_meta(record.id)
    except Damaged:
        return True
    if stored is None:
        return False  # missing: restore_meta's business
    return (stored.rev, stored.title, stored.description) != (
        record.rev, record.title, record.description)


def sync_meta(d: Domain, image_id: str) -> bool:
    """Rewrite ``meta.json`` from the catalog where they disagree.

    Returns:
        Whether it was rewritten.

    Raises:
        NotFound: the image is not in the catalog.
        StorageUnavailable: the storage did not answer.
    """
    record = d.get(image_id)
    if not meta_behind(d, record):
        return False
    d.store.write_meta(record)
    return True


# --- reindex ------------------------------------------------------------------------------


def reindex(d: Domain, *, workers: int = 8) -> ReindexReport:
    """Rebuild the catalog from the bucket alone; a damaged catalog is replaced.

    Raises:
        Conflict: too many concurrent writers for too long.
        StorageUnavailable: the storage did not answer.
    """
    catalog = d.catalog
    catalog.forget()
    damaged_root: str | None = None
    before: dict[str, ImageRecord] = {}
    try:
        root, _ = catalog.read_root()
        if root is not None:
            for entry in root.shards:
                try:
                    before.update((r.id, r) for r in catalog.load(entry, keep=False).shard.records)
                except DocumentDamaged:
                    pass  # that shard is replaced from meta.json below
    except DocumentDamaged:
        try:
            damaged_root = d.storage.stat(d.keys.index).version
        except ObjectNotFound:
            damaged_root = None
        root = None
    known_before = set(before)
    trashed = trash.trashed_ids(d)
    listing = d.store.every_object()
    rebuilt, damaged_meta = _records_from_meta(d, listing, workers, trashed)
    candidates = {**{i: r for i, r in before.items()}, **{i: r for i, r in rebuilt.items()
                                                         if i not in before}}
    _, duplicates = without_duplicates(candidates, known_before)
    excluded = set(duplicates) - known_before
    rebuilt_at = format_timestamp(d.clock())
    kept: list[str] = []
    #: What reindex itself decided, per shard range (the last try of each counts):
    #: the records it found there and the ones it wrote.
    decided: dict[str | None, tuple[dict[str, ImageRecord], dict[str, ImageRecord]]] = {}

    if root is None:
        records = [r for i, r in rebuilt.items() if i not in excluded]
        catalog.replace_all(records, over=damaged_root, extra={"rebuilt_at": rebuilt_at})
        decided[None] = (before, {r.id: r for r in records})
        repaired = damaged_root is not None
    else:
        repaired = False
        ordered = sorted(rebuilt.values(), key=lambda r: r.key)
        keys = [r.key for r in ordered]

        def change(lo: str | None, hi: str | None, records: Sequence[ImageRecord]
                   ) -> list[ImageRecord]:
            old = {r.id: r for r in records}
            out: dict[str, ImageRecord] = {}
            for image_id, current in old.items():
                if image_id in rebuilt:
                    continue
                objects = listing.get(image_id)
                alive = (ORIGINAL in objects) if objects is not None else d.store.has_original(
                    image_id)
                if alive:
                    out[image_id] = current
                    kept.append(image_id)
            start = 0 if lo is None else bisect.bisect_left(keys, lo)
            stop = len(keys) if hi is None else bisect.bisect_left(keys, hi)
            for record in ordered[start:stop]:
                current = old.get(record.id)
                if current is None:
                    if record.id not in known_before and record.id not in excluded:
                        out[record.id] = record
                elif current.rev > record.rev:
                    out[record.id] = current  # edited since meta.json was read
                else:
                    out[record.id] = record
            decided[lo] = (old, out)
            return sorted(out.values(), key=lambda r: r.key)

        catalog.rewrite(change)
    catalog.update_root(lambda r: r.with_extra(rebuilt_at=rebuilt_at))
    catalog.forget()
    after = {r.id: r for r in catalog.view().records()}
    _rebuild_hashes(d, after, listing, trashed)
    if damaged_root is not None:
        repaired = True
    found = {i: r for old, _ in decided.values() for i, r in old.items()}
    wrote = {i: r for _, out in decided.values() for i, r in out.items()}
    return ReindexReport(
        added=sorted(i for i in wrote if i not in found),
        dropped=sorted(i for i in found if i not in wrote),
        unchanged=sum(1 for i, r in wrote.items() if found.get(i) == r),
        updated=sorted(i for i, r in wrote.items() if i in found and found[i] != r),
        kept=sorted(set(kept) & set(after)),
        duplicates=sorted(set(duplicates) - set(after)),
        damaged=damaged_meta,
        repaired=repaired,
        total=len(after),
    )


def _rebuild_hashes(d: Domain, records: Mapping[str, ImageRecord],
                    listing: Mapping[str, Mapping[str, ObjectInfo]], trashed: set[str]) -> None:
    """Every bucket holds exactly the hashes of the catalog's images, plus claims of
    uploads under way (their objects are there, their record not yet); images in the
    trash hold none."""
    wanted: dict[str, dict[str, str]] = {}
    for record in records.values():
        for sha in record.hashes:
            wanted.setdefault(bucket_of(sha), {})[sha] = record.id

    def want(bucket: str, current: dict[str, str]) -> dict[str, str]:
        out = dict(wanted.get(bucket, {}))
        for sha, holder in current.items():
            if sha in out or holder in records or holder in trashed:
                continue
            objects = listing.get(holder)
            in_flight = (TOMBSTONE not in objects and ORIGINAL in objects) if objects is not None \
                else d.store.has_original(holder)
            if in_flight:
                out[sha] = holder
        return out

    d.hashes.rebuild(want)


__all__ = ["adopt", "meta_behind", "reindex", "restore_meta", "restore_variants",
           "sync_meta", "without_duplicates"]
