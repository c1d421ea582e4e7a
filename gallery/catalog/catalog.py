"""The catalog: every image's record, in shards a root names (see ``docs/catalog.md``).

Reading costs a bounded number of objects: a ``stat`` of the root (downloaded
again only when it changed) and the shards a page needs, each cached per
process and trusted while the root's hint says it has not changed. Writing
changes one shard per range touched by compare-and-swap, then refreshes that
shard's entry in the root; neither grows with the gallery, since a shard that
grows past its limit is split.

No update is lost: every write is conditional on the version it was computed
from, a split first seals the shard (so no later write can land in it), and
whoever finds a sealed shard finishes its split before writing.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from gallery.catalog import search_packs
from gallery.catalog.model import (
    FORMAT,
    Root,
    Shard,
    ShardEntry,
    Split,
    over_full,
    plan_split,
)
from gallery.catalog.search_index import SearchIndex, ShardTable
from gallery.documents import JSON_TYPE, DocumentDamaged
from gallery.errors import (
    Conflict,
    GalleryError,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
)
from gallery.images.record import ImageRecord
from gallery.keys import Keys, is_image_id
from gallery.storage.base import Storage

log = logging.getLogger(__name__)

#: A cached shard whose root hint matches is re-checked with a ``stat`` after this many
#: seconds anyway (a writer that stopped between its shard and root writes leaves a stale hint).
RECHECK_SECONDS = 2.0
#: Shards kept parsed per process (each at most a few hundred records).
CACHED_SHARDS = 48
#: Image ids whose place in the catalog a process remembers.
LOCATED_IDS = 200_000
MAX_ATTEMPTS = 60


def new_shard_name() -> str:
    return uuid.uuid4().hex


def backoff(attempt: int) -> None:
    """Wait a little before trying a lost compare-and-swap again (growing, with jitter)."""
    time.sleep(min(0.5, 0.004 * 2 ** min(attempt, 7)) * random.random())


@dataclass(slots=True)
class _Cached:
    version: str
    shard: Shard
    checked_at: float
    by_id: dict[str, ImageRecord] = field(default_factory=dict)

    @classmethod
    def of(cls, version: str, shard: Shard) -> _Cached:
        return cls(version, shard, time.monotonic(), {r.id: r for r in shard.records})


# --- what a write does to one record ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Add:
    """Put a new record in. Outcome: ``"added"``, ``"present"`` (this id with the same
    bytes is in already) or ``"taken"`` (this id holds another image)."""

    record: ImageRecord

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def image_id(self) -> str:
        return self.record.id


@dataclass(frozen=True, slots=True)
class Change:
    """Replace a record by ``change(record)``. Outcome: the new record, the old one when
    ``change`` returns ``None`` (nothing to do), or ``None`` when the image is not there.
    ``change`` may raise to refuse; it may run more than once."""

    key: str
    image_id: str
    change: Callable[[ImageRecord], ImageRecord | None]


@dataclass(frozen=True, slots=True)
class Remove:
    """Take a record out. Outcome: the removed record, or ``None`` if it was not there.
    ``check`` (optional) may raise to refuse, given the record as stored."""

    key: str
    image_id: str
    check: Callable[[ImageRecord], None] | None = None


Op = Add | Change | Remove


def _apply_ops(records: Sequence[ImageRecord], ops: Sequence[Op]) -> tuple[list[ImageRecord], dict[str, Any], bool]:
    """Apply ``ops`` to a shard's records: ``(new records, outcome by id, changed?)``."""
    by_id = {r.id: r for r in records}
    outcomes: dict[str, Any] = {}
    changed = False
    for op in ops:
        current = by_id.get(op.image_id)
        if isinstance(op, Add):
            if current is None:
                by_id[op.image_id] = op.record
                outcomes[op.image_id] = "added"
                changed = True
            else:
                outcomes[op.image_id] = "present" if current.sha256 == op.record.sha256 else "taken"
        elif isinstance(op, Change):
            if current is None:
                outcomes[op.image_id] = None
                continue
            new = op.change(current)
            if new is None or new == current:
                outcomes[op.image_id] = current
            else:
                if new.id != current.id or new.key != current.key:
                    raise ValueError("a change may not move a record")
                by_id[op.image_id] = new
                outcomes[op.image_id] = new
                changed = True
        else:
            if current is not None and op.check is not None:
                op.check(current)
            outcomes[op.image_id] = by_id.pop(op.image_id, None)
            changed = changed or current is not None
    return sorted(by_id.values(), key=lambda r: r.key), outcomes, changed


# --- reading ----------------------------------------------------------------------------


class AdminRow(msgspec.Struct, frozen=True, gc=False):
    """What the admin table sorts and filters by, for one image (kept for every image).

    Decoded straight from a shard's bytes, leaving every other field unread:
    that is what lets the table over 100,000 images be built in a fraction of
    a second from cold.
    """

    id: str
    created_at: str
    size: int
    filename: str
    title: str
    uploaded_by: str
    content_type: str

    @property
    def key(self) -> str:
        return f"{self.created_at}|{self.id}"


class _ShardRows(msgspec.Struct, gc=False):
    images: list[AdminRow]


_ROWS = msgspec.json.Decoder(_ShardRows)


class _Id(msgspec.Struct, frozen=True, gc=False):
    id: str


class _ShardIds(msgspec.Struct, gc=False):
    images: list[_Id]


class _ShardRaws(msgspec.Struct, gc=False):
    images: list[msgspec.Raw]


_IDS = msgspec.json.Decoder(_ShardIds)
_RAWS = msgspec.json.Decoder(_ShardRaws)


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Where one image stands in the gallery's order (newest first)."""

    newer: ImageRecord | None  #: shown just before it, ``None`` for the newest
    older: ImageRecord | None  #: shown just after it, ``None`` for the oldest
    position: int  #: from 1
    total: int


class CatalogView:
    """The catalog as one request sees it: one root, shards loaded as needed."""

    def __init__(self, catalog: Catalog, root: Root | None) -> None:
        self._catalog = catalog
        self.root = root

    @property
    def total(self) -> int:
        return self.root.total if self.root is not None else 0

    def get(self, image_id: str) -> ImageRecord | None:
        """The record of one image, or ``None``.

        Raises:
            DocumentDamaged: its shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        if self.root is None or not is_image_id(image_id):
            return None
        key = self._catalog.locate(image_id)
        if key is None:
            return None
        position = self.root.index_of(key)
        return self._catalog.load(self.root.shards[position]).by_id.get(image_id)

    def find(self, keys: Iterable[str]) -> dict[str, ImageRecord]:
        """The records of the images at these catalog keys (``created_at|id``), by id.

        Each shard is read once however many of the keys fall in it; keys of
        images no longer in the catalog are left out of the answer.

        Raises:
            DocumentDamaged: a shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        found: dict[str, ImageRecord] = {}
        if self.root is None:
            return found
        for position, ids in self._by_shard(keys).items():
            by_id = self._catalog.load(self.root.shards[position]).by_id
            for image_id in ids:
                record = by_id.get(image_id)
                if record is not None:
                    found[image_id] = record
        return found

    def _by_shard(self, keys: Iterable[str]) -> dict[int, list[str]]:
        """The image ids of catalog keys, grouped by the position of the shard holding each."""
        assert self.root is not None
        by_shard: dict[int, list[str]] = {}
        los = [e.lo or "" for e in self.root.shards]
        for key in keys:
            position = max(0, bisect.bisect_right(los, key) - 1)
            by_shard.setdefault(position, []).append(key.rpartition("|")[2])
        return by_shard

    def pick(self, keys: Iterable[str]) -> dict[str, ImageRecord]:
        """The records at these catalog keys, by id, as :meth:`find` gives them, but a
        shard not cached is read without being parsed whole or kept: only the records
        asked for are checked (a search's page spans many shards, a few records each).

        Raises:
            DocumentDamaged: a shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        found: dict[str, ImageRecord] = {}
        if self.root is None:
            return found
        for position, ids in self._by_shard(keys).items():
            found.update(self._catalog.pick(self.root.shards[position], ids))
        return found

    def newest(self, offset: int, limit: int) -> list[ImageRecord]:
        """``limit`` records, newest first, skipping the ``offset`` newest."""
        out: list[ImageRecord] = []
        if self.root is None or limit <= 0:
            return out
        for entry in reversed(self.root.shards):
            if offset >= entry.count and entry.count:
                offset -= entry.count
                continue
            records = self._catalog.load(entry).shard.records
            if offset >= len(records):
                offset -= len(records)
                continue
            stop = len(records) - offset
            out.extend(reversed(records[max(0, stop - (limit - len(out))):stop]))
            offset = 0
            if len(out) >= limit:
                break
        return out

    def older_than(self, key: str | None, limit: int) -> tuple[list[ImageRecord], bool]:
        """Up to ``limit`` records below ``key`` (``None``: from the newest), newest first,
        and whether more follow."""
        out: list[ImageRecord] = []
        if self.root is None:
            return out, False
        start = len(self.root.shards) - 1 if key is None else self.root.index_of(key)
        for position in range(start, -1, -1):
            records = self._catalog.load(self.root.shards[position]).shard.records
            below = [r for r in records if key is None or r.key < key]
            for record in reversed(below):
                if len(out) == limit:
                    return out, True
                out.append(record)
        return out, False

    def neighbours(self, key: str) -> Neighbours:
        """The images either side of the one at catalog key ``key`` (``created_at|id``) in
        the gallery's order, newest first: the one shown before it (newer), the one after
        (older), and its position from 1.

        Reads the shard holding ``key`` and, at a shard's edge, the next non-empty one
        each way; the position adds up the root's counts of the newer shards.

        Raises:
            NotFound: no image has that key (deleted meanwhile).
            DocumentDamaged: a shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        root = self.root
        if root is None:
            raise NotFound("That image is not in the gallery.")
        at = root.index_of(key)
        records = self._catalog.load(root.shards[at]).shard.records
        keys = [r.key for r in records]
        index = bisect.bisect_left(keys, key)
        if index >= len(keys) or keys[index] != key:
            raise NotFound("That image is not in the gallery.")
        newer = records[index + 1] if index + 1 < len(records) else self._edge(at + 1, 1)
        older = records[index - 1] if index > 0 else self._edge(at - 1, -1)
        before = sum(e.count or len(self._catalog.load(e).shard.records)
                     for e in root.shards[at + 1:])
        return Neighbours(newer, older, before + len(records) - index, self.total)

    def _edge(self, position: int, step: int) -> ImageRecord | None:
        """The first record (``step`` 1: the oldest of the shards from ``position`` up) or
        the last one (``step`` -1: the newest from ``position`` down) of the shards that way."""
        assert self.root is not None
        while 0 <= position < len(self.root.shards):
            records = self._catalog.load(self.root.shards[position]).shard.records
            if records:
                return records[0] if step > 0 else records[-1]
            position += step
        return None

    def records(self) -> Iterator[ImageRecord]:
        """Every record, oldest first (maintenance: each shard read once, not cached;
        where each image is, is remembered)."""
        if self.root is None:
            return
        for entry in self.root.shards:
            records = self._catalog.load(entry, keep=False).shard.records
            self._catalog.learn(records)
            yield from records

    def ids(self) -> set[str]:
        return {r.id for r in self.records()}

    def rows(self) -> list[AdminRow]:
        """A row for every image (the admin table), kept per shard version."""
        if self.root is None:
            return []
        return self._catalog.rows(self.root)

    def search_index(self) -> SearchIndex:
        """The searched fields of every image (see :mod:`gallery.catalog.search_index`),
        each shard's kept while its version is unchanged.

        Raises:
            DocumentDamaged: a shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        if self.root is None:
            return SearchIndex([])
        return self._catalog.search_index(self.root)

    def search_table(self, position: int) -> ShardTable:
        """The searched fields of the shard at ``position`` alone (a search that stops
        once its page is full reads no more shards than that needs).

        Raises:
            DocumentDamaged: the shard cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        assert self.root is not None
        return self._catalog.search_table(self.root.shards[position])


class Catalog:
    """The catalog over one bucket.

    Args:
        storage: the bucket.
        keys: builds every object key.
        locate: an image's upload time from its own objects (``meta.json``),
            for images this process has not seen in a shard yet; ``None`` if unknown.
        upgrade: turns a format-1 ``index.json`` into this catalog (see
            :mod:`gallery.catalog.upgrade`); called when one is found.
        max_records, max_bytes: when a shard is split.
    """

    def __init__(
        self,
        storage: Storage,
        keys: Keys,
        *,
        locate: Callable[[str], str | None] | None = None,
        upgrade: Callable[[Catalog, bytes, str], None] | None = None,
        max_records: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        from gallery.catalog import model

        self.storage = storage
        self.keys = keys
        self._locate = locate
        self._upgrade = upgrade
        self.max_records = max_records or model.MAX_SHARD_RECORDS
        self.max_bytes = max_bytes or model.MAX_SHARD_BYTES
        self._lock = threading.Lock()
        self._root: tuple[str, Root] | None = None
        #: When a ``stat`` last found ``_root`` current (``time.monotonic()``).
        self._root_checked_at = float("-inf")
        self._shards: OrderedDict[str, _Cached] = OrderedDict()
        self._located: OrderedDict[str, str] = OrderedDict()
        self._rows: dict[str, tuple[str, list[AdminRow]]] = {}
        self._tables: dict[str, ShardTable] = {}
        self._index: tuple[Root, SearchIndex] | None = None
        self._packing = threading.Lock()
        self._pack_failed = False

    # -- the root ------------------------------------------------------------------

    def read_root(self, max_age: float = 0.0) -> tuple[Root | None, str | None]:
        """The stored root and its version (``(None, None)``: no catalog yet).

        One ``stat``; the root is downloaded only when it changed. A format-1
        index is upgraded first. With ``max_age``, a root this process found
        current at most that many seconds ago is answered without asking the
        storage at all.

        Raises:
            DocumentDamaged: the root cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        cached = self._root
        checked = time.monotonic()
        if cached is not None and checked - self._root_checked_at < max_age:
            return cached[1], cached[0]
        try:
            version = self.storage.stat(self.keys.index).version
        except ObjectNotFound:
            return None, None
        cached = self._root
        if cached is not None and cached[0] == version:
            self._root_checked_at = checked
            return cached[1], version
        for _ in range(3):
            try:
                raw, info = self.storage.read(self.keys.index)
            except ObjectNotFound:
                return None, None
            value = self._parse(raw, self.keys.index)
            if isinstance(value, dict) and value.get("format") == 1 and self._upgrade is not None:
                self._upgrade(self, raw, info.version)
                continue
            root = self._check(Root.parse, value, self.keys.index)
            self._root = (info.version, root)
            self._root_checked_at = checked
            return root, info.version
        raise Conflict("The catalog is being upgraded; please try again.")

    def view(self, *, max_age: float = 0.0) -> CatalogView:
        """The catalog for one request.

        Args:
            max_age: how old (in seconds) a root this process checked may be and
                still be used without a ``stat`` (``0``: always check).
                :data:`RECHECK_SECONDS` makes a view that, in the steady state,
                needs no storage call at all: its shards are trusted as long.

        Raises:
            DocumentDamaged: the root cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        return CatalogView(self, self.read_root(max_age)[0])

    def forget(self) -> None:
        """Drop every cached document (the next read downloads again)."""
        with self._lock:
            self._root = None
            self._shards.clear()

    # -- shards ---------------------------------------------------------------------

    def load(self, entry: ShardEntry, *, fresh: bool = False, keep: bool = True) -> _Cached:
        """One shard, from the cache while the root's hint and a recent check vouch for it.

        Raises:
            DocumentDamaged: the shard cannot be read, or is missing.
            StorageUnavailable: the storage did not answer.
        """
        cached = self._shards.get(entry.name)
        now = time.monotonic()
        if cached is not None and not fresh:
            if entry.version == cached.version and now - cached.checked_at < RECHECK_SECONDS:
                return cached
            try:
                version = self.storage.stat(self.keys.shard(entry.name)).version
            except ObjectNotFound:
                version = None
            if version == cached.version:
                cached.checked_at = now
                return cached
        key = self.keys.shard(entry.name)
        try:
            raw, info = self.storage.read(key)
        except ObjectNotFound:
            raise DocumentDamaged(
                f"The catalog shard {key!r} is missing; run `gallery reindex` to rebuild the "
                "catalog from the images' meta.json objects.") from None
        loaded = _Cached.of(info.version, self._check(Shard.parse, self._parse(raw, key), key))
        if keep:
            self._keep(entry.name, loaded)
        return loaded

    def pick(self, entry: ShardEntry, ids: Sequence[str]) -> dict[str, ImageRecord]:
        """The records of ``ids`` in one shard, by id (see :meth:`CatalogView.pick`).

        Raises:
            DocumentDamaged: the shard cannot be read, or is missing.
            StorageUnavailable: the storage did not answer.
        """
        cached = self._shards.get(entry.name)
        if (cached is not None and entry.version == cached.version
                and time.monotonic() - cached.checked_at < RECHECK_SECONDS):
            return {i: cached.by_id[i] for i in ids if i in cached.by_id}
        key = self.keys.shard(entry.name)
        _, raw = self._read_shard_bytes(entry)
        try:  # the ids, and each record's bytes unparsed: only those asked for are parsed
            names = _IDS.decode(raw).images
            raws = _RAWS.decode(raw).images
        except msgspec.DecodeError as err:
            raise DocumentDamaged(f"The stored document {key!r} is damaged ({err}); "
                                  "run `gallery reindex`.") from err
        wanted = set(ids)
        found: dict[str, ImageRecord] = {}
        for name, item in zip(names, raws, strict=True):
            if name.id in wanted:
                record = self._check(ImageRecord.from_json, self._parse(bytes(item), key), key)
                found[record.id] = record
        return found

    def _keep(self, name: str, loaded: _Cached) -> None:
        with self._lock:
            self._shards[name] = loaded
            self._shards.move_to_end(name)
            while len(self._shards) > CACHED_SHARDS:
                self._shards.popitem(last=False)
            for record in loaded.shard.records:
                self._located[record.id] = record.key
            while len(self._located) > LOCATED_IDS:
                self._located.popitem(last=False)

    def learn(self, records: Iterable[ImageRecord]) -> None:
        """Remember where these images are in the catalog's order."""
        with self._lock:
            for record in records:
                self._located[record.id] = record.key
            while len(self._located) > LOCATED_IDS:
                self._located.popitem(last=False)

    def locate(self, image_id: str) -> str | None:
        """The key of an image in the catalog's order, or ``None`` if it cannot be known."""
        key = self._located.get(image_id)
        if key is None and self._locate is not None:
            created_at = self._locate(image_id)
            if created_at is not None:
                key = f"{created_at}|{image_id}"
        return key

    def rows(self, root: Root) -> list[AdminRow]:
        """A row for every image, each shard's rows kept while its version is unchanged.

        Shards not kept yet are read a few at a time and only the rows' fields
        are taken from them (the records were validated when they were written).
        """
        return self._kept_rows(root, self._rows, self._read_rows)

    def search_table(self, entry: ShardEntry) -> ShardTable:
        """The search table of one shard, read again only when its version changed.

        Raises:
            DocumentDamaged: the shard cannot be read, or is missing.
            StorageUnavailable: the storage did not answer.
        """
        kept = self._tables.get(entry.name)
        if kept is not None and entry.version is not None and kept.version == entry.version:
            return kept
        table = self._decode_table(entry, *self._read_shard_bytes(entry))
        self._tables[entry.name] = table
        return table

    def search_index(self, root: Root) -> SearchIndex:
        """The search tables of every shard of ``root``, kept as :meth:`rows` keeps rows,
        and lined up once per root.

        When many tables are missing, the search packs are read first (see
        :mod:`gallery.catalog.search_packs`); the shards they do not answer for are
        downloaded a few at a time, each decoded as it arrives; then the shards no
        pack worth keeping answers for are packed, if there are enough of them.

        Raises:
            DocumentDamaged: a shard cannot be read, or is missing.
            StorageUnavailable: the storage did not answer.
        """
        cached = self._index
        if cached is not None and cached[0] is root:
            return cached[1]
        kept = self._tables
        tables = {e.name: kept.get(e.name) for e in root.shards}
        stale = [e for e in root.shards if e.version is None
                 or getattr(tables[e.name], "version", None) != e.version]
        answered = None
        if len(stale) > search_packs.LOOSE_MAX:
            answered = self._read_packs(root)
            for entry in stale:
                found = answered.tables.get(entry.name)
                if found is not None:
                    tables[entry.name] = kept[entry.name] = found
            stale = [e for e in stale if e.name not in answered.tables]
        if len(stale) == 1:
            tables[stale[0].name] = self.search_table(stale[0])
        elif stale:
            with ThreadPoolExecutor(max_workers=min(8, len(stale))) as pool:
                for entry, (version, raw) in zip(stale, pool.map(self._read_shard_bytes, stale),
                                                 strict=True):
                    tables[entry.name] = kept[entry.name] = self._decode_table(entry, version, raw)
        for gone in set(kept) - set(tables):
            kept.pop(gone, None)
        index = SearchIndex([t for t in tables.values() if t is not None])
        self._index = (root, index)
        if answered is not None:
            self._pack(root, answered)
        return index

    def _read_packs(self, root: Root) -> search_packs.Answer:
        """What the stored search packs answer for ``root``'s shards (none, if they cannot
        be listed: the shards are read instead)."""
        prefix = self.keys.search_packs_prefix
        try:
            names = [name for info in self.storage.list(prefix)
                     if (name := self.keys.search_pack_name_of(info.key)) is not None]
        except GalleryError as err:
            log.warning("Could not list the search packs (%s); reading every shard.", err)
            return search_packs.Answer()
        packs: list[search_packs.Pack] = []
        unreadable: list[str] = []

        def read(name: str) -> search_packs.Pack | None:
            try:
                return search_packs.decode(name, self.storage.get(self.keys.search_pack(name)))
            except ObjectNotFound:
                return None  # replaced meanwhile
            except ValueError as err:
                log.warning("The search pack %r is damaged (%s); it will be replaced.",
                            name, err)
                unreadable.append(name)
                return None

        if names:
            with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
                packs = [p for p in pool.map(read, names) if p is not None]
        return search_packs.answer(root.shards, packs, unreadable)

    def _pack(self, root: Root, answered: search_packs.Answer) -> None:
        """Pack the shards of ``root`` no pack worth keeping answers for, if there are more
        than a few (with those of the small packs, gathered into full ones), then delete
        the packs that answer for too little or were gathered. Best effort: a pack that
        cannot be written only means those shards are read again next time."""
        packing, going = search_packs.plan(root.shards, answered)
        if not (packing or going) or not self._packing.acquire(blocking=False):
            return
        try:
            for group in search_packs.groups(packing):
                current = [(e.name, table) for e in group
                           if (table := self._tables.get(e.name)) is not None
                           and table.version == e.version]
                self.storage.put(self.keys.search_pack(new_shard_name()),
                                 search_packs.encode(current), content_type=JSON_TYPE,
                                 if_absent=True)
            for name in going:
                self.storage.delete(self.keys.search_pack(name), missing_ok=True)
        except GalleryError as err:
            if not self._pack_failed:  # said once per process (a read-only bucket, say)
                log.warning("Could not write the search packs (%s); searches read every "
                            "shard instead.", err)
            self._pack_failed = True
        finally:
            self._packing.release()

    def _decode_table(self, entry: ShardEntry, version: str, raw: bytes) -> ShardTable:
        try:
            return ShardTable.decode(version, raw)
        except msgspec.DecodeError as err:  # also msgspec.ValidationError
            raise DocumentDamaged(f"The stored document {self.keys.shard(entry.name)!r} is "
                                  f"damaged ({err}); run `gallery reindex`.") from err

    @staticmethod
    def _kept_rows(root: Root, kept: dict[str, tuple[str, list[Any]]],
                   read: Callable[[ShardEntry], tuple[str, list[Any]]]) -> list[Any]:
        stale = [e for e in root.shards if e.version is None
                 or kept.get(e.name, ("",))[0] != e.version]
        if stale:
            with ThreadPoolExecutor(max_workers=min(8, len(stale))) as pool:
                for entry, made in zip(stale, pool.map(read, stale), strict=True):
                    kept[entry.name] = made
        names = {e.name for e in root.shards}
        for gone in set(kept) - names:
            kept.pop(gone, None)
        out: list[Any] = []
        for entry in root.shards:
            out.extend(kept[entry.name][1])
        return out

    def _read_shard_bytes(self, entry: ShardEntry) -> tuple[str, bytes]:
        key = self.keys.shard(entry.name)
        try:
            raw, info = self.storage.read(key)
        except ObjectNotFound:
            raise DocumentDamaged(f"The catalog shard {key!r} is missing; run `gallery reindex`."
                                  ) from None
        return info.version, raw

    def _read_rows(self, entry: ShardEntry) -> tuple[str, list[AdminRow]]:
        key = self.keys.shard(entry.name)
        try:
            raw, info = self.storage.read(key)
        except ObjectNotFound:
            raise DocumentDamaged(f"The catalog shard {key!r} is missing; run `gallery reindex`."
                                  ) from None
        try:
            rows = _ROWS.decode(raw).images
        except msgspec.DecodeError as err:  # also msgspec.ValidationError
            raise DocumentDamaged(f"The stored document {key!r} is damaged ({err}); "
                                  "run `gallery reindex`.") from err
        return info.version, rows

    # -- writing --------------------------------------------------------------------

    def apply(self, ops: Iterable[Op]) -> dict[str, Any]:
        """Apply ``ops`` by compare-and-swap, one write per shard touched (plus the root).

        Returns:
            The outcome of each op, by image id (see :class:`Add`, :class:`Change`,
            :class:`Remove`).

        Raises:
            Conflict: still losing races after many tries.
            DocumentDamaged: the root or a shard touched cannot be read (nothing
                is written to it).
            StorageUnavailable: the storage did not answer; some shards may have
                been written.
            GalleryError: whatever a :class:`Change` or a check raises.
        """
        pending: dict[str, Op] = {op.image_id: op for op in ops}
        outcomes: dict[str, Any] = {}
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                return outcomes
            root, root_version = self.read_root()
            if root is None:
                if self._create(list(pending.values()), outcomes):
                    return outcomes
                backoff(attempt)
                continue
            groups: dict[int, list[Op]] = {}
            for op in pending.values():
                groups.setdefault(root.index_of(op.key), []).append(op)
            lost = False
            for position, group in sorted(groups.items()):
                done = self._write_shard(root.shards[position], root.bounds(position), group)
                if done is None:
                    lost = True
                    continue
                outcomes.update(done)
                for image_id in done:
                    pending.pop(image_id, None)
            if lost:
                backoff(attempt)
        if pending:
            raise Conflict("Too many concurrent changes to the catalog; please try again.")
        return outcomes

    def _create(self, ops: list[Op], outcomes: dict[str, Any]) -> bool:
        """Start the catalog: one shard, then the root; ``False`` if someone else started it."""
        records, done, _ = _apply_ops((), ops)
        self.learn(records)
        shards = self._split_records(records, None, None, newest=True)
        entries = []
        for lo, part in shards:
            name = new_shard_name()
            info = self._put(self.keys.shard(name), part.to_json(), if_absent=True)
            entries.append(ShardEntry(name, lo, len(part.records), info.version))
        root = Root(tuple(entries))
        try:
            info = self._put(self.keys.index, root.to_json(), if_absent=True)
        except PreconditionFailed:
            return False  # its shards are left for cleanup
        self._root = (info.version, root)
        outcomes.update(done)
        return True

    def _write_shard(self, entry: ShardEntry, bounds: tuple[str | None, str | None],
                     ops: list[Op]) -> dict[str, Any] | None:
        """One compare-and-swap of one shard; ``None`` if it lost (the caller retries)."""
        cached = self._shards.get(entry.name)
        if cached is None or cached.version != entry.version:
            cached = self.load(entry)
        shard = cached.shard
        if shard.sealed is not None:
            self._finish_split(entry.name, cached.version, shard)
            return None
        mine = [op for op in ops if shard.holds(op.key)]
        if not mine:
            self._refresh_root()
            return None
        records, outcomes, changed = _apply_ops(shard.records, mine)
        if not changed:
            return outcomes
        new = Shard(shard.lo, shard.hi, tuple(records))
        body = orjson.dumps(new.to_json())
        newest = bounds[1] is None
        if over_full(len(records), len(body), max_records=self.max_records,
                     max_bytes=self.max_bytes):
            parts = self._plan(records, len(body), new.lo, newest=newest)
            new = Shard(shard.lo, shard.hi, tuple(records), sealed=Split(parts))
            body = orjson.dumps(new.to_json())
        try:
            info = self.storage.put(self.keys.shard(entry.name), body, content_type=JSON_TYPE,
                                    if_version=cached.version)
        except PreconditionFailed:
            self.load(entry, fresh=True)
            return None
        self._keep(entry.name, _Cached.of(info.version, new))
        if new.sealed is not None:
            self._finish_split(entry.name, info.version, new)
        else:
            self._note(entry.name, cached.version, info.version, len(records))
        return outcomes

    def _plan(self, records: Sequence[ImageRecord], size: int, lo: str | None, *,
              newest: bool) -> tuple[tuple[str, str | None], ...]:
        cuts = plan_split(records, newest=newest, max_records=self.max_records, size=size,
                          max_bytes=self.max_bytes)
        los = [lo, *(records[i].key for i in cuts)]
        return tuple((new_shard_name(), part_lo) for part_lo in los)

    def _split_records(self, records: Sequence[ImageRecord], lo: str | None, hi: str | None,
                       *, newest: bool) -> list[tuple[str | None, Shard]]:
        """``records`` (ascending) as shards small enough to keep, covering ``[lo, hi)``."""
        whole = Shard(lo, hi, tuple(records))
        size = len(orjson.dumps(whole.to_json()))
        if not over_full(len(records), size, max_records=self.max_records,
                         max_bytes=self.max_bytes):
            return [(lo, whole)]
        parts = self._plan(records, size, lo, newest=newest)
        his = [p[1] for p in parts[1:]] + [hi]
        return [(plo, whole.part(plo, phi)) for (_, plo), phi in zip(parts, his, strict=True)]

    def _finish_split(self, name: str, version: str, sealed: Shard) -> None:
        """Write the parts of a sealed shard (create-only: every helper writes the same),
        then put them in the root in its place."""
        assert sealed.sealed is not None
        parts = sealed.sealed.parts
        his = [p[1] for p in parts[1:]] + [sealed.hi]
        entries = []
        for (part_name, lo), hi in zip(parts, his, strict=True):
            part = sealed.part(lo, hi)
            key = self.keys.shard(part_name)
            try:
                info = self._put(key, part.to_json(), if_absent=True)
            except PreconditionFailed:
                info = self.storage.stat(key)
            entries.append(ShardEntry(part_name, lo, len(part.records), info.version))

        def swap(root: Root) -> Root | None:
            position = root.position(name)
            return None if position is None else root.replace_entries(position, entries)

        self._update_root(swap)

    def _note(self, name: str, base: str, version: str, count: int) -> None:
        """Record a shard's new version and count in the root, unless a later write did."""

        def note(root: Root) -> Root | None:
            position = root.position(name)
            if position is None:
                return None
            entry = root.shards[position]
            if entry.version == version and entry.count == count:
                return None
            if entry.version not in (base, None):
                try:  # the hint is not the version we wrote over: is ours still current?
                    if self.storage.stat(self.keys.shard(name)).version != version:
                        return None
                except ObjectNotFound:
                    return None
            return root.replace_entries(position, [ShardEntry(name, entry.lo, count, version)])

        self._update_root(note)

    def _update_root(self, change: Callable[[Root], Root | None]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            root, version = self.read_root()
            if root is None or version is None:
                return
            new = change(root)
            if new is None:
                return
            try:
                info = self._put(self.keys.index, new.to_json(), if_version=version)
            except PreconditionFailed:
                self._root = None
                backoff(attempt)
                continue
            self._root = (info.version, new)
            return
        raise Conflict("Too many concurrent changes to the catalog; please try again.")

    def _refresh_root(self) -> None:
        self._root = None

    def update_root(self, change: Callable[[Root], Root | None]) -> None:
        """Change the root by compare-and-swap (``change`` returns ``None`` for no change).

        Raises:
            Conflict: too many concurrent writers for too long.
            DocumentDamaged: the root cannot be read.
            StorageUnavailable: the storage did not answer.
        """
        self._update_root(change)

    # -- whole-shard rewrites (reindex, repairs) -------------------------------------

    def rewrite(self, change: Callable[[str | None, str | None, Sequence[ImageRecord]],
                                       Sequence[ImageRecord] | None]) -> None:
        """Rewrite every shard by compare-and-swap: ``change(lo, hi, records)`` returns the
        records the range should hold (ascending, all within it) or ``None`` for no change.
        A damaged shard is handed over as empty and replaced.

        Raises:
            Conflict, DocumentDamaged (of the root), StorageUnavailable.
        """
        root, _ = self.read_root()
        if root is None:
            return
        done: set[str] = set()
        for attempt in range(MAX_ATTEMPTS * 4):
            root, _ = self.read_root()
            assert root is not None
            todo = [(i, e) for i, e in enumerate(root.shards) if e.lo not in done]
            if not todo:
                return
            position, entry = todo[0]
            bounds = root.bounds(position)
            if self._rewrite_one(entry, bounds, change):
                done.add(entry.lo)  # type: ignore[arg-type]
            else:
                backoff(attempt % 8)
        raise Conflict("Too many concurrent changes to the catalog; please try again.")

    def _rewrite_one(self, entry: ShardEntry, bounds: tuple[str | None, str | None],
                     change: Callable[..., Sequence[ImageRecord] | None]) -> bool:
        key = self.keys.shard(entry.name)
        try:
            raw, info = self.storage.read(key)
            shard: Shard | None = self._check(Shard.parse, self._parse(raw, key), key)
            version: str | None = info.version
        except ObjectNotFound:
            shard, version = None, None
        except DocumentDamaged:
            shard, version = None, self.storage.stat(key).version
        if shard is not None and shard.sealed is not None:
            assert version is not None
            self._finish_split(entry.name, version, shard)
            return False
        lo, hi = bounds if shard is None else (shard.lo, shard.hi)
        records = shard.records if shard is not None else ()
        wanted = change(lo, hi, records)
        if wanted is None and shard is not None:
            self._note(entry.name, version or "", version or "", len(records))
            return True
        wanted = sorted(wanted if wanted is not None else (), key=lambda r: r.key)
        new = Shard(lo, hi, tuple(wanted))
        body = orjson.dumps(new.to_json())
        if over_full(len(wanted), len(body), max_records=self.max_records,
                     max_bytes=self.max_bytes):
            new = Shard(lo, hi, tuple(wanted),
                        sealed=Split(self._plan(wanted, len(body), lo, newest=hi is None)))
            body = orjson.dumps(new.to_json())
        try:
            if version is None:
                written = self.storage.put(key, body, content_type=JSON_TYPE, if_absent=True)
            else:
                written = self.storage.put(key, body, content_type=JSON_TYPE, if_version=version)
        except PreconditionFailed:
            return False
        self._keep(entry.name, _Cached.of(written.version, new))
        if new.sealed is not None:
            self._finish_split(entry.name, written.version, new)
            return True
        self._note(entry.name, version or "", written.version, len(wanted))
        return True

    def replace_all(self, records: Sequence[ImageRecord], *, over: str | None,
                    extra: Mapping[str, Any]) -> Root:
        """A new catalog of ``records`` in new shards, installed over the root at version
        ``over`` (``None``: where there is none). The repair of a damaged root.

        Raises:
            PreconditionFailed: the root changed meanwhile.
            StorageUnavailable: the storage did not answer.
        """
        ordered = sorted(records, key=lambda r: r.key)
        entries = []
        for lo, part in self._split_records(ordered, None, None, newest=True):
            name = new_shard_name()
            info = self._put(self.keys.shard(name), part.to_json(), if_absent=True)
            entries.append(ShardEntry(name, lo, len(part.records), info.version))
        root = Root(tuple(entries), dict(extra))
        if over is None:
            info = self._put(self.keys.index, root.to_json(), if_absent=True)
        else:
            info = self._put(self.keys.index, root.to_json(), if_version=over)
        self._root = (info.version, root)
        return root

    def shards_for_upgrade(self, records: Sequence[ImageRecord],
                           names: Callable[[int], str]) -> Root:
        """Write ``records`` as shards named ``names(i)`` (create-only; the same names and
        contents for every instance upgrading the same index) and return their root."""
        ordered = sorted(records, key=lambda r: r.key)
        entries = []
        for i, (lo, part) in enumerate(self._split_records(ordered, None, None, newest=True)):
            key = self.keys.shard(names(i))
            try:
                info = self._put(key, part.to_json(), if_absent=True)
            except PreconditionFailed:
                info = self.storage.stat(key)
            entries.append(ShardEntry(names(i), lo, len(part.records), info.version))
        return Root(tuple(entries))

    # -- helpers --------------------------------------------------------------------

    def _put(self, key: str, value: Any, *, if_absent: bool = False,
             if_version: str | None = None) -> Any:
        return self.storage.put(key, orjson.dumps(value), content_type=JSON_TYPE,
                                if_absent=if_absent, if_version=if_version)

    @staticmethod
    def _parse(raw: bytes, key: str) -> Any:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise DocumentDamaged(
                f"The stored document {key!r} is damaged ({err}); it was left untouched. "
                "Run `gallery reindex` to rebuild the catalog.") from err

    @staticmethod
    def _check(parse: Callable[[Any], Any], value: Any, key: str) -> Any:
        try:
            return parse(value)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise DocumentDamaged(
                f"The stored document {key!r} is damaged ({err}); it was left untouched. "
                "Run `gallery reindex` to rebuild the catalog.") from err


def describe_format() -> int:
    return FORMAT
