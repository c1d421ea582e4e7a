"""Search packs: the search tables of many shards in one object.

A numbered search page (which shows its total), the order by date taken and
the tag suggestions need the :class:`~gallery.catalog.search_index.ShardTable`
of every shard. A process that has none yet would read every shard (at 100,000
images, some 280 objects and 80 MB of records, most of which search never
looks at); with packs it reads a listing, a few packs and the shards no pack
answers for.

A pack holds, for each shard it covers, the shard's name, the version of the
shard it was made from and its row count, then the columns of all those rows
(ids, upload times, uploaders, case-folded words and camera words, tags, dates
taken). A reader takes a shard's table from a pack only while the root names
that shard at that version; every other shard is read as before. So a pack is
never the only copy of anything: a missing, stale, damaged or deleted pack only
means more shards read, and ``gallery reindex`` needs none.

Packs are written by the readers themselves: once a process has every table,
if more than :data:`LOOSE_MAX` shards (the newest aside, which changes with
every upload) are not answered by a pack worth keeping, it packs them, then
deletes the packs of which less than half still answers, and gathers small
packs into full ones. An edit of an old
image makes one row of one pack stale; uploads make new shards; both are packed
again once enough of them have gathered.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from gallery.catalog.model import ShardEntry
from gallery.catalog.search_index import COLUMNS, ShardTable

PACK_FORMAT = 1
#: The most shards one pack covers (some 25,000 images, 5 MB).
PACK_SHARDS = 64
#: Shards no pack answers for that a reader reads itself before it packs them.
LOOSE_MAX = 8


class _Covered(msgspec.Struct, frozen=True, gc=False):
    name: str
    v: str
    count: int


class _Pack(msgspec.Struct, gc=False):
    format: int
    shards: list[_Covered]
    ids: list[str]
    created: list[str]
    owners: list[str]
    text: list[str]
    cameras: list[str]
    tags: list[str]
    taken: list[str | None]


_DECODER = msgspec.json.Decoder(_Pack)


@dataclass(frozen=True, slots=True)
class Pack:
    """A pack as read: its name and, for each shard it covers, the shard's name, the
    version the table was made from, and the table."""

    name: str
    parts: tuple[tuple[str, str, ShardTable], ...]


def encode(tables: Sequence[tuple[str, ShardTable]]) -> bytes:
    """The pack of ``(shard name, table)`` pairs (each table of its shard's current version)."""
    columns = {column: [value for _, table in tables for value in getattr(table, column)]
               for column in COLUMNS}
    return msgspec.json.encode(_Pack(
        PACK_FORMAT, [_Covered(name, table.version, len(table)) for name, table in tables],
        **columns))


def decode(name: str, raw: bytes) -> Pack:
    """The pack ``name`` from its bytes.

    Raises:
        ValueError: not a pack of this format, or its columns do not add up.
    """
    try:
        pack = _DECODER.decode(raw)
    except msgspec.DecodeError as err:  # also msgspec.ValidationError
        raise ValueError(f"not a search pack ({err})") from None
    if pack.format != PACK_FORMAT:
        raise ValueError(f"a search pack of format {pack.format}, not {PACK_FORMAT}")
    total = sum(covered.count for covered in pack.shards)
    if any(covered.count < 0 for covered in pack.shards) or any(
            len(getattr(pack, column)) != total for column in COLUMNS):
        raise ValueError("a search pack whose columns do not add up")
    whole = ShardTable("", **{column: getattr(pack, column) for column in COLUMNS})
    parts, start = [], 0
    for covered in pack.shards:
        parts.append((covered.name, covered.v,
                      whole.part(covered.v, start, start + covered.count)))
        start += covered.count
    return Pack(name, tuple(parts))


@dataclass(slots=True)
class Answer:
    """What the packs answer for the shards a root names.

    Attributes:
        tables: a table for each shard whose current version some pack holds.
        covered: the shards the packs worth keeping answer for.
        kept: those packs, each with the shards it answers for.
        poor: packs of which less than half still answers, to be replaced when the
            shards they answer for are packed again.
        useless: packs that answer for nothing (or could not be read).
    """

    tables: dict[str, ShardTable] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    kept: dict[str, list[str]] = field(default_factory=dict)
    poor: list[str] = field(default_factory=list)
    useless: list[str] = field(default_factory=list)


def answer(shards: Sequence[ShardEntry], packs: Sequence[Pack], unreadable: Sequence[str] = ()
           ) -> Answer:
    """What ``packs`` answer for ``shards`` (a root's); packs are weighed in name order,
    so that of two packs covering the same shards (written by two readers at once) the
    second answers for nothing and goes."""
    current = {entry.name: entry.version for entry in shards if entry.version is not None}
    out = Answer(useless=list(unreadable))
    for pack in sorted(packs, key=operator.attrgetter("name")):
        useful = [(shard, table) for shard, version, table in pack.parts
                  if current.get(shard) == version and shard not in out.covered]
        for shard, table in useful:
            out.tables.setdefault(shard, table)
        if not useful:
            out.useless.append(pack.name)
        elif 2 * len(useful) < len(pack.parts):
            out.poor.append(pack.name)
        else:
            out.kept[pack.name] = [shard for shard, _ in useful]
            out.covered.update(out.kept[pack.name])
    return out


def loose(shards: Sequence[ShardEntry], answered: Answer) -> list[ShardEntry]:
    """The shards worth packing: not covered by a pack worth keeping, the newest aside."""
    return [entry for entry in shards[:-1]
            if entry.version is not None and entry.name not in answered.covered]


def small(answered: Answer) -> list[str]:
    """The packs worth keeping that answer for fewer than half of :data:`PACK_SHARDS`
    shards: packed again with the loose shards whenever those are, so that packs made
    a few shards at a time as the gallery grows are gathered into full ones."""
    return [name for name, shards in answered.kept.items() if 2 * len(shards) < PACK_SHARDS]


def plan(shards: Sequence[ShardEntry], answered: Answer) -> tuple[list[ShardEntry], list[str]]:
    """What a reader that has every table of ``shards`` (a root's) does with the packs:
    the shards to pack (none unless more than :data:`LOOSE_MAX` are loose; then with
    those of the small packs), and the packs to delete afterwards (the useless ones
    always; the poor and the gathered ones when packing)."""
    found = loose(shards, answered)
    if len(found) <= LOOSE_MAX:
        return [], list(answered.useless)
    gathered = small(answered)
    names = {e.name for e in found}.union(*(answered.kept[name] for name in gathered))
    return ([e for e in shards[:-1] if e.name in names],
            answered.useless + answered.poor + gathered)


def groups(entries: Sequence[ShardEntry]) -> list[list[ShardEntry]]:
    """``entries`` in as few packs as :data:`PACK_SHARDS` allows, of even sizes."""
    count = -(-len(entries) // PACK_SHARDS)
    size = -(-len(entries) // count) if count else 0
    return [list(entries[at:at + size]) for at in range(0, len(entries), size or 1)]
