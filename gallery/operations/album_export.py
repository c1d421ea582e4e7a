"""Albums in an export: ``albums.json``, checked as strictly as the manifest, and put back.

An export of format 2 holds ``albums.json``::

    {"format": 1, "albums": [album document, ...]}   oldest album first

each album document exactly as the bucket stores it (``albums/<id>.json``: id,
texts, visibility, sort, cover, owner, times and its members as catalog keys
``created_at|id`` in the album's own order). Share links are not exported: a
link is a key to the photos, and an export may travel further than the bucket.

An import puts each album back under its id once the images are in: a member
whose image is not in the target gallery (left out of the export, rejected by
the import, or never there) is dropped and listed; a member whose picture the
target held already under another id points at that image instead. An album
whose id the target has already is left as it is, so importing twice changes
nothing. An owner without an account here is reassigned like an uploader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from gallery.albums.model import MAX_ALBUM_IMAGES, Album, id_of
from gallery.errors import BadRequest, PreconditionFailed

if TYPE_CHECKING:
    from gallery.albums import Albums

ALBUMS = "albums.json"
FORMAT = 1

MAX_ALBUMS_BYTES = 256 * 1024 * 1024
"""Largest ``albums.json`` read (hundreds of albums of the largest size)."""
MAX_ALBUMS = 100_000
MAX_OWNER = 64

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def dump(albums: Iterable[Album]) -> bytes:
    """The bytes of ``albums.json`` for these albums (oldest first)."""
    ordered = sorted(albums, key=lambda a: a.sort_key)
    return orjson.dumps({"format": FORMAT, "albums": [a.to_json() for a in ordered]})


def parse(raw: bytes, expected: int | None) -> list[Any]:
    """The album documents in ``albums.json``, not yet checked one by one.

    Args:
        raw: the file's bytes.
        expected: how many albums the manifest says it holds (``None``: not said).

    Raises:
        BadRequest: larger than :data:`MAX_ALBUMS_BYTES`, not JSON, of an unknown
            format, or holding another number of albums than the manifest says.
    """
    if len(raw) > MAX_ALBUMS_BYTES:
        raise BadRequest(f"{ALBUMS} is larger than {MAX_ALBUMS_BYTES // 2**20} MiB.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"{ALBUMS} is damaged: {err}.") from None
    if not isinstance(body, dict) or type(body.get("format")) is not int \
            or body["format"] != FORMAT or not isinstance(body.get("albums"), list):
        raise BadRequest(f"{ALBUMS} is not a list of albums of format {FORMAT}.")
    albums = body["albums"]
    if len(albums) > MAX_ALBUMS:
        raise BadRequest(f"{ALBUMS} lists more than {MAX_ALBUMS} albums.")
    if expected is not None and expected != len(albums):
        raise BadRequest(f"{ALBUMS} holds {len(albums)} albums but the manifest says "
                         f"{expected}: the export is incomplete or was changed.")
    return albums


def check_album(raw: Any) -> Album:
    """One album document of an export, every field checked.

    Raises:
        ValueError: it is not a valid album (the message says what is wrong).
    """
    try:
        album = Album.from_json(raw)
    except (ValueError, TypeError) as err:
        raise ValueError(str(err)) from None
    if not album.title.strip() or _CONTROL.search(album.title) or "\n" in album.title:
        raise ValueError("the title is empty or holds control characters")
    if "\x00" in album.description:
        raise ValueError("the description holds a NUL character")
    owner = album.owner.strip()
    if not owner or len(owner) > MAX_OWNER or _CONTROL.search(owner):
        raise ValueError("the owner is not a user name")
    if album.count > MAX_ALBUM_IMAGES:
        raise ValueError(f"it lists more than {MAX_ALBUM_IMAGES} images")
    return album


@dataclass(slots=True)
class AlbumImport:
    """What became of the albums of an export.

    Attributes:
        imported: ids of the albums stored.
        existing: ids of the albums the target had already (left as they are).
        rejected: ``(album, reason)`` of each album refused.
        reassigned: ``(album, owner in the export, owner given)``.
        dropped: ``(album, image ids)``: members left out, their images not being here.
    """

    imported: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    reassigned: list[tuple[str, str, str]] = field(default_factory=list)
    dropped: list[tuple[str, list[str]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": list(self.imported),
            "existing": list(self.existing),
            "rejected": [{"album": a, "reason": r} for a, r in self.rejected],
            "reassigned": [{"album": a, "from": old, "to": new}
                           for a, old, new in self.reassigned],
            "dropped": [{"album": a, "images": list(ids)} for a, ids in self.dropped],
        }

    def lines(self) -> list[str]:
        out = [f"Albums: imported {len(self.imported)}, already there {len(self.existing)}, "
               f"rejected {len(self.rejected)}."]
        out += [f"  rejected {album}: {reason}" for album, reason in self.rejected]
        out += [f"  {album}: owner {old!r} has no account here; owned by {new!r}"
                for album, old, new in self.reassigned]
        for album, ids in self.dropped:
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            out.append(f"  {album}: {len(ids)} image{'s' if len(ids) != 1 else ''} not in this "
                       f"gallery left out ({shown})")
        return out


def _label(album: Album) -> str:
    return f"album {album.id} ({album.title})"


def put_back(albums: Albums, documents: list[Any], *, present: Mapping[str, str],
             moved_to: Mapping[str, str], account: Callable[[str], str | None],
             fallback: str | None) -> AlbumImport:
    """Store the albums of an export that the target does not have yet.

    Args:
        albums: the target's albums.
        documents: the album documents of ``albums.json``.
        present: image id -> catalog key of every image in the target now.
        moved_to: exported image id -> the id its picture has in the target, where the
            target held that picture already under another id.
        account: the account name of a user name here (``None``: no such account).
        fallback: who owns albums whose owner has no account (``None``: they are refused).

    Raises:
        DocumentDamaged, StorageUnavailable: the storage failed (a re-run resumes).
    """
    report = AlbumImport()
    seen: set[str] = set()
    for position, raw in enumerate(documents, 1):
        try:
            album = check_album(raw)
        except ValueError as err:
            report.rejected.append((f"album {position}", f"{err}; the album was not imported"))
            continue
        label = _label(album)
        if album.id in seen:
            report.rejected.append((label, f"{ALBUMS} lists this id twice"))
            continue
        seen.add(album.id)
        named = account(album.owner)
        owner = named or fallback
        if owner is None:
            report.rejected.append((label, f"the owner {album.owner!r} has no account; "
                                           "create it, or import with --as USER"))
            continue
        items: dict[str, str] = {}
        dropped: list[str] = []
        for key in album.items:
            image_id = moved_to.get(id_of(key), id_of(key))
            if image_id in present:
                items.setdefault(image_id, present[image_id])
            else:
                dropped.append(id_of(key))
        cover = moved_to.get(album.cover, album.cover) if album.cover else None
        restored = replace(album, owner=owner, items=tuple(items.values()),
                           cover=cover if cover in items else None)
        shown = albums.records(restored)
        restored = replace(restored, first=shown[0].id if shown else None)
        try:
            albums.shelf.create(restored.id, restored)
        except PreconditionFailed:
            report.existing.append(album.id)
            continue
        report.imported.append(album.id)
        if named is None:
            report.reassigned.append((label, album.owner, owner))
        if dropped:
            report.dropped.append((label, dropped))
    return report
