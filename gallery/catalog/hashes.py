"""Content hash -> image id, in 4096 small JSON buckets updated by compare-and-swap.

Duplicate detection reads one bucket (no shard, however large the gallery); an
upload *claims* its hashes before its record enters the catalog, so of two
uploads of the same bytes racing on any number of machines exactly one wins,
and the other is told which image it duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from gallery.catalog.catalog import backoff
from gallery.catalog.model import (
    BUCKET_DIGITS,
    bucket_json,
    bucket_of,
    group_by_bucket,
    parse_bucket,
)
from gallery.documents import JSON_TYPE, DocumentDamaged
from gallery.errors import Conflict, ObjectNotFound, PreconditionFailed
from gallery.keys import Keys
from gallery.storage.base import Storage

BUCKETS = tuple(f"{i:03x}" for i in range(16 ** BUCKET_DIGITS))
#: Buckets read or written at once (each is a storage round trip).
WORKERS = 8
MAX_ATTEMPTS = 60


class HashIndex:
    """The hash buckets of one gallery."""

    def __init__(self, storage: Storage, keys: Keys) -> None:
        self.storage = storage
        self.keys = keys

    def _read(self, bucket: str) -> tuple[dict[str, str], str | None]:
        key = self.keys.hash_bucket(bucket)
        try:
            raw, info = self.storage.read(key)
        except ObjectNotFound:
            return {}, None
        try:
            return parse_bucket(orjson.loads(raw)), info.version
        except (orjson.JSONDecodeError, ValueError) as err:
            raise DocumentDamaged(
                f"The stored document {key!r} is damaged ({err}); it was left untouched. "
                "Run `gallery reindex` to rebuild the catalog.") from err

    def lookup(self, shas: Iterable[str]) -> dict[str, str]:
        """The image id each known hash belongs to (unknown hashes are left out).

        Raises:
            DocumentDamaged: a bucket cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        found: dict[str, str] = {}
        groups = group_by_bucket(set(shas))
        for group, (hashes, _) in zip(groups.values(), _each(self._read, list(groups)),
                                      strict=True):
            found.update({sha: hashes[sha] for sha in group if sha in hashes})
        return found

    def update(self, bucket: str, change: Callable[[dict[str, str]], object]) -> object:
        """Change one bucket by compare-and-swap; ``change`` edits the mapping in place and
        returns a result (it may run several times).

        Raises:
            Conflict, DocumentDamaged, StorageUnavailable.
        """

        def compute(current: dict[str, str]) -> tuple[dict[str, str], object]:
            changed = dict(current)
            return changed, change(changed)

        return self._swap(bucket, compute)

    def _swap(self, bucket: str,
              compute: Callable[[dict[str, str]], tuple[dict[str, str], object]], *,
              replace_damaged: bool = False) -> object:
        """The compare-and-swap loop of one bucket: ``compute(current)`` gives the mapping
        to store and the caller's result; an unchanged mapping is not written. With
        ``replace_damaged``, a damaged bucket is handed over as empty and replaced."""
        key = self.keys.hash_bucket(bucket)
        for attempt in range(MAX_ATTEMPTS):
            try:
                hashes, version = self._read(bucket)
            except DocumentDamaged:
                if not replace_damaged:
                    raise
                hashes, version = {}, self.storage.stat(key).version
            wanted, result = compute(dict(hashes))
            if (wanted == hashes and version is not None) or (not wanted and version is None):
                return result
            body = orjson.dumps(bucket_json(wanted))
            try:
                if version is None:
                    self.storage.put(key, body, content_type=JSON_TYPE, if_absent=True)
                else:
                    self.storage.put(key, body, content_type=JSON_TYPE, if_version=version)
            except PreconditionFailed:
                backoff(attempt)
                continue
            return result
        raise Conflict("Too many concurrent uploads; please try again.")

    def claim(self, claims: Mapping[str, str], *,
              stale: Mapping[str, str] | None = None) -> dict[str, str]:
        """Record ``sha -> id`` for each claim whose hash is free (or held by the same id,
        or by the id ``stale`` names for it, which is then replaced).

        Returns:
            The hashes already held by another image: ``sha -> that image's id``.
        """
        stale = stale or {}
        groups = group_by_bucket(claims)

        def claim_bucket(bucket: str) -> dict[str, str]:
            def claim(hashes: dict[str, str]) -> dict[str, str]:
                lost = {}
                for sha in groups[bucket]:
                    holder = hashes.get(sha)
                    if holder is None or holder == claims[sha] or holder == stale.get(sha):
                        hashes[sha] = claims[sha]
                    else:
                        lost[sha] = holder
                return lost

            return self.update(bucket, claim)  # type: ignore[return-value]

        taken: dict[str, str] = {}
        for lost in _each(claim_bucket, list(groups)):
            taken.update(lost)
        return taken

    def release(self, claims: Mapping[str, str]) -> None:
        """Forget ``sha -> id`` for each pair still held by that id."""
        groups = group_by_bucket(claims)

        def release_bucket(bucket: str) -> None:
            def release(hashes: dict[str, str]) -> None:
                for sha in groups[bucket]:
                    if hashes.get(sha) == claims[sha]:
                        del hashes[sha]

            self.update(bucket, release)

        _each(release_bucket, list(groups))

    def entries(self) -> dict[str, str]:
        """Every ``sha -> id`` (maintenance).

        Raises:
            DocumentDamaged, StorageUnavailable.
        """
        out: dict[str, str] = {}
        present = {info.key for info in self.storage.list(self.keys.hashes_prefix)}
        wanted = [b for b in BUCKETS if self.keys.hash_bucket(b) in present]
        for hashes, _ in _each(self._read, wanted):
            out.update(hashes)
        return out

    def rebuild(self, want: Callable[[str, dict[str, str]], dict[str, str]]) -> None:
        """Rewrite every bucket: ``want(bucket, current)`` gives what it should hold.
        A damaged bucket is handed over as empty and replaced."""
        present = {info.key for info in self.storage.list(self.keys.hashes_prefix)}
        _each(lambda bucket: self._rebuild_one(bucket, want, self.keys.hash_bucket(bucket)
                                               in present), list(BUCKETS))

    def _rebuild_one(self, bucket: str, want: Callable[[str, dict[str, str]], dict[str, str]],
                     present: bool) -> None:
        if present or want(bucket, {}):
            self._swap(bucket, lambda current: (want(bucket, current), None),
                       replace_damaged=True)

def _each(work: Callable[[str], Any], buckets: list[str]) -> list[Any]:
    """``work(bucket)`` for each bucket, a few at a time, results in order."""
    if len(buckets) <= 1:
        return [work(b) for b in buckets]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(buckets))) as pool:
        return list(pool.map(work, buckets))


__all__ = ["BUCKETS", "HashIndex", "bucket_of"]
