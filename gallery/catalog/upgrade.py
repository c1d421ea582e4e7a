"""Opening a bucket written by an earlier release: ``index.json`` of format 1.

Format 1 kept every record in ``index.json`` itself. The upgrade writes the
same records as shards with names derived from the old index's storage
version (so every instance upgrading that version writes the same objects,
create-only), fills the hash buckets, keeps the old index's bytes as
``catalog/index-v1.json``, and only then replaces ``index.json`` by the new
root, conditionally on the version it read. If anything changed the old index
meanwhile (an instance of the earlier release still writing), that last write
fails and the upgrade runs again from the new version; shards of the lost
attempt are unreferenced and ``gallery cleanup`` removes them.

Instances of the earlier release that are still running read the new root as
a damaged index: they answer ``503`` instead of writing into an index nobody
reads any more.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

import orjson

from gallery.catalog.catalog import Catalog
from gallery.catalog.hashes import HashIndex
from gallery.clock import format_timestamp, utcnow
from gallery.documents import JSON_TYPE, DocumentDamaged
from gallery.errors import PreconditionFailed
from gallery.images.record import ImageRecord

log = logging.getLogger(__name__)


def upgrader(hashes: HashIndex, clock: Callable[[], datetime] = utcnow
             ) -> Callable[[Catalog, bytes, str], None]:
    """The upgrade step a :class:`Catalog` calls when it finds a format-1 index."""

    def upgrade(catalog: Catalog, raw: bytes, version: str) -> None:
        upgrade_v1(catalog, hashes, raw, version, clock())

    return upgrade


def upgrade_v1(catalog: Catalog, hashes: HashIndex, raw: bytes, version: str,
               now: datetime) -> bool:
    """Turn the format-1 index ``raw`` (stored at ``version``) into the catalog.

    Returns:
        Whether this call installed the new root (``False``: the old index
        changed, or another instance finished first; read the root again).

    Raises:
        DocumentDamaged: a record of the old index is not valid (``gallery
            reindex`` rebuilds the catalog from the ``meta.json`` objects).
        StorageUnavailable: the storage did not answer (nothing is lost: the
            old index is still in place).
    """
    keys = catalog.keys
    value = orjson.loads(raw)
    try:
        images = value["images"]
        records = [ImageRecord.from_json(record, image_id) for image_id, record in images.items()]
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise DocumentDamaged(
            f"The index {keys.index!r} of an earlier release is damaged ({err}); it was left "
            "untouched. Run `gallery reindex` to rebuild the catalog.") from err
    log.info("upgrading the index (%d images) to the sharded catalog", len(records))
    seed = hashlib.sha256(f"{keys.index}@{version}".encode()).hexdigest()

    def name(i: int) -> str:
        return hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:32]

    root = catalog.shards_for_upgrade(records, name)
    claims = {sha: r.id for r in records for sha in r.hashes}
    hashes.claim(claims)
    catalog.storage.put(keys.index_v1_backup, raw, content_type=JSON_TYPE)
    extra = {"upgraded_at": format_timestamp(now), "upgraded_from": 1}
    if isinstance(value.get("rebuilt_at"), str):
        extra["rebuilt_at"] = value["rebuilt_at"]
    root = root.with_extra(**extra)
    try:
        catalog.storage.put(keys.index, orjson.dumps(root.to_json()), content_type=JSON_TYPE,
                            if_version=version)
    except PreconditionFailed:
        return False
    log.info("the catalog is upgraded; the old index is kept as %s", keys.index_v1_backup)
    return True
