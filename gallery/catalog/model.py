"""The catalog's stored documents: the root, its shards, and the hash buckets.

Pure data and JSON; no storage here. See ``docs/catalog.md`` for the design.

Root (``index.json``)::

    {"format": 2,
     "shards": [{"name": "<32 hex>", "lo": null | "<key>", "count": 412, "v": "<version>"}, ...],
     "rebuilt_at": "...", "upgraded_at": "..."}

Shards are listed in key order and cover every key: shard ``i`` holds the
records whose key (``created_at|id``) is at least its ``lo`` and below the next
shard's ``lo``. ``count`` and ``v`` (the shard's storage version) are hints
that writers keep up to date after every shard write; readers use ``v`` to
skip re-checking a cached shard, and ``count`` to jump to a numbered page.

Shard (``catalog/shards/<name>.json``)::

    {"format": 2, "lo": ..., "hi": ..., "images": [record, ...],   # ascending by key
     "sealed": null | {"into": [{"name": ..., "lo": ...}, ...]}}

A sealed shard is frozen: it is being split into the shards it names, and
whoever finds it so finishes the split (see :mod:`gallery.catalog.catalog`).

Hash bucket (``catalog/hashes/<xxx>.json``, 4096 of them, by the first three hex digits):
``{"format": 2, "hashes": {sha256: id}}``.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gallery.images.record import ImageRecord, is_sha256
from gallery.keys import is_image_id

FORMAT = 2
#: A shard is split when it holds more records than this, or more bytes than MAX_SHARD_BYTES.
MAX_SHARD_RECORDS = 400
MAX_SHARD_BYTES = 512 * 1024
#: The newest shard splits unevenly: this share of it stays below the split, since
#: uploads arrive at the top and the lower part will not grow again.
NEWEST_SPLIT = 0.9
_NAME_LEN = 32


def _check_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 80:
        raise ValueError("bad shard bound")
    return value


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or len(value) != _NAME_LEN or not all(
        c in "0123456789abcdef" for c in value
    ):
        raise ValueError("bad shard name")
    return value


# --- the root -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardEntry:
    """What the root says of one shard."""

    name: str
    lo: str | None
    count: int = 0
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "lo": self.lo, "count": self.count, "v": self.version}


@dataclass(frozen=True, slots=True)
class Root:
    """The catalog's root: its shards in key order, and a few facts about the catalog."""

    shards: tuple[ShardEntry, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)  # rebuilt_at, upgraded_at ...

    @classmethod
    def parse(cls, value: Any) -> Root:
        """Raises: ValueError: not a root of this format."""
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError("not a catalog root of format 2")
        shards = value.get("shards")
        if not isinstance(shards, list) or not shards:
            raise ValueError("the root names no shards")
        entries = []
        for raw in shards:
            if not isinstance(raw, dict):
                raise ValueError("bad shard entry")
            count = raw.get("count", 0)
            version = raw.get("v")
            if type(count) is not int or count < 0 or not (version is None or isinstance(version, str)):
                raise ValueError("bad shard entry")
            entries.append(ShardEntry(_check_name(raw.get("name")), _check_key(raw.get("lo")),
                                      count, version))
        if entries[0].lo is not None or any(
            a.lo is not None and (b.lo is None or b.lo <= a.lo) for a, b in itertools.pairwise(entries)
        ) or any(e.lo is None for e in entries[1:]):
            raise ValueError("the shards' ranges are out of order")
        if len({e.name for e in entries}) != len(entries):
            raise ValueError("a shard is named twice")
        extra = {k: v for k, v in value.items() if k not in ("format", "shards")}
        return cls(tuple(entries), extra)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **self.extra, "shards": [e.to_json() for e in self.shards]}

    @property
    def total(self) -> int:
        """Images in the catalog, by the shards' counts."""
        return sum(e.count for e in self.shards)

    def index_of(self, key: str) -> int:
        """The position of the shard whose range holds ``key``."""
        los = [e.lo or "" for e in self.shards]
        return max(0, bisect.bisect_right(los, key) - 1)

    def bounds(self, position: int) -> tuple[str | None, str | None]:
        """The range ``[lo, hi)`` of the shard at ``position``."""
        hi = self.shards[position + 1].lo if position + 1 < len(self.shards) else None
        return self.shards[position].lo, hi

    def position(self, name: str) -> int | None:
        for i, entry in enumerate(self.shards):
            if entry.name == name:
                return i
        return None

    def replace_entries(self, position: int, entries: Sequence[ShardEntry]) -> Root:
        shards = (*self.shards[:position], *entries, *self.shards[position + 1:])
        return Root(shards, self.extra)

    def with_extra(self, **extra: Any) -> Root:
        return Root(self.shards, {**self.extra, **extra})


# --- shards ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """A sealed shard's plan: the shards it becomes, each from its ``lo``."""

    parts: tuple[tuple[str, str | None], ...]  # (name, lo)


@dataclass(frozen=True, slots=True)
class Shard:
    """The records of one range of keys, ascending by key."""

    lo: str | None
    hi: str | None
    records: tuple[ImageRecord, ...]
    sealed: Split | None = None

    @classmethod
    def parse(cls, value: Any) -> Shard:
        """Raises: ValueError: not a shard of this format."""
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError("not a catalog shard of format 2")
        images = value.get("images")
        if not isinstance(images, list):
            raise ValueError("bad shard records")
        records = tuple(ImageRecord.from_json(r) for r in images)
        keys = [r.key for r in records]
        if any(a >= b for a, b in itertools.pairwise(keys)):
            raise ValueError("the shard's records are out of order")
        sealed = value.get("sealed")
        split = None
        if sealed is not None:
            if not isinstance(sealed, dict) or not isinstance(sealed.get("into"), list):
                raise ValueError("bad seal")
            split = Split(tuple((_check_name(p.get("name")), _check_key(p.get("lo")))
                                for p in sealed["into"] if isinstance(p, dict)))
            if not split.parts:
                raise ValueError("bad seal")
        return cls(_check_key(value.get("lo")), _check_key(value.get("hi")), records, split)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "lo": self.lo, "hi": self.hi,
                               "images": [r.to_json() for r in self.records]}
        if self.sealed is not None:
            out["sealed"] = {"into": [{"name": n, "lo": lo} for n, lo in self.sealed.parts]}
        return out

    def holds(self, key: str) -> bool:
        """Whether ``key`` falls in this shard's range."""
        return (self.lo is None or key >= self.lo) and (self.hi is None or key < self.hi)

    def part(self, lo: str | None, hi: str | None) -> Shard:
        """The unsealed shard of this one's records in ``[lo, hi)``."""
        return Shard(lo, hi, tuple(r for r in self.records
                                   if (lo is None or r.key >= lo) and (hi is None or r.key < hi)))


def plan_split(records: Sequence[ImageRecord], *, newest: bool,
               max_records: int = MAX_SHARD_RECORDS, size: int = 0,
               max_bytes: int = MAX_SHARD_BYTES) -> list[int]:
    """Where to cut an over-full shard: indexes into ``records`` at which a new part begins.

    An older shard is cut into equal parts of about half the limit; the newest
    keeps ``NEWEST_SPLIT`` of the limit per lower part and the rest on top.
    """
    n = len(records)
    if n < 2:
        return []
    per_record = max(1, size // n) if size else 1
    limit = max(2, min(max_records, max_bytes // per_record if size else max_records))
    if newest:
        step = max(1, int(limit * NEWEST_SPLIT))
        cuts = list(range(step, n, step))
        return cuts or [n - 1]
    parts = max(2, math.ceil(n / max(1, limit // 2)))
    return [round(n * i / parts) for i in range(1, parts)]


def over_full(count: int, size: int, *, max_records: int = MAX_SHARD_RECORDS,
              max_bytes: int = MAX_SHARD_BYTES) -> bool:
    """Whether a shard of ``count`` records serialised to ``size`` bytes must be split."""
    return count > 1 and (count > max_records or size > max_bytes)


# --- hash buckets -------------------------------------------------------------------


#: Hex digits of a content hash that name its bucket (4096 buckets: about 25 hashes
#: each at 100,000 images, so a claim stays a small write however large the gallery).
BUCKET_DIGITS = 3


def bucket_of(sha: str) -> str:
    """The bucket a content hash is kept in: its first three hex digits."""
    return sha[:BUCKET_DIGITS]


def parse_bucket(value: Any) -> dict[str, str]:
    """Raises: ValueError: not a hash bucket."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ValueError("not a hash bucket of format 2")
    hashes = value.get("hashes")
    if not isinstance(hashes, dict) or not all(
        is_sha256(k) and is_image_id(v) for k, v in hashes.items()
    ):
        raise ValueError("bad hash bucket")
    return hashes


def bucket_json(hashes: Mapping[str, str]) -> dict[str, Any]:
    return {"format": FORMAT, "hashes": dict(sorted(hashes.items()))}


def group_by_bucket(shas: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sha in shas:
        out.setdefault(bucket_of(sha), []).append(sha)
    return out
