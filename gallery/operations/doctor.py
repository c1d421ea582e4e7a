"""Health checks for ``gallery doctor`` and ``/healthz``.

``gallery doctor``: each check says what is wrong and how to fix it. Every
check runs even when an earlier one failed, so one run shows every problem
(except that checks needing the storage are skipped while it does not answer,
instead of each waiting for it in turn). Checks catch their own failures: a
check that crashes is reported as failed, never as a traceback.

``/healthz`` (:func:`health`): the few cheap checks that decide whether pages
can be served, answered without counts, keys or paths.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gallery.documents import DocumentDamaged
from gallery.errors import GalleryError, PreconditionFailed, StorageError, StorageUnavailable
from gallery.units import human_size

if TYPE_CHECKING:
    from gallery.operations import Operations
    from gallery.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: what was checked, short (``storage reachable``).
        ok: whether it passed.
        message: what was found.
        fix: how to fix it, when it failed and a fix is known.
    """

    name: str
    ok: bool
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "message": self.message, "fix": self.fix}


class Problem(Exception):
    """Raised inside a check: the check failed with this message and fix."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


REINDEX_FIX = "Run `flask --app app gallery reindex` to rebuild the catalog from the bucket."
CODECS = ("JPEG", "PNG", "WEBP", "GIF")


def check_configuration(rt: Operations) -> str:
    settings = rt.settings
    if settings["max_file_bytes"] > settings["max_request_bytes"]:
        raise Problem(
            "GALLERY_MAX_FILE_BYTES is larger than GALLERY_MAX_REQUEST_BYTES, so the largest "
            "images can never be uploaded.",
            "Raise GALLERY_MAX_REQUEST_BYTES or lower GALLERY_MAX_FILE_BYTES.",
        )
    return f"settings are valid; storage is {rt.storage.describe()}"


def check_reachable(rt: Operations) -> str:
    rt.storage.list_page(rt.keys.prefix, page_size=1)
    return f"{rt.storage.describe()} answers"


def check_probe(rt: Operations) -> str:
    key = rt.keys.doctor_probe()
    body = b"gallery doctor probe"
    rt.storage.put(key, body, content_type="text/plain", if_absent=True)
    try:
        if rt.storage.get(key) != body:
            raise Problem("The probe object read back different bytes than were written.",
                          "Check the storage backend; it does not keep what it is given.")
    finally:
        rt.storage.delete(key, missing_ok=True)
    if rt.storage.exists(key):
        raise Problem("The probe object is still there after being deleted.",
                      "Check that the credentials may delete objects.")
    return "wrote, read back and deleted a probe object"


CONDITIONAL_FIX = (
    "Use storage that honours conditional writes: on S3-compatible services that is "
    "If-None-Match and If-Match on PutObject (AWS S3, Cloudflare R2, MinIO and SeaweedFS do; "
    "see the README's notes per service). Without them two writers overwrite each other's "
    "changes, so the gallery must not run on this storage."
)


def check_conditional_writes(rt: Operations) -> str:
    """Prove that the storage refuses the writes that must lose: two writers never both win.

    A probe object is created create-only, created again (must fail), replaced
    on its current version (must succeed), written on its first version again
    (must fail: that version is stale), deleted, and written on its last
    version (must fail: the object is gone). Nothing of it is left behind.
    """
    storage = rt.storage
    key = rt.keys.doctor_probe()
    shown = storage.describe()

    def refused(data: bytes, **condition: Any) -> bool:
        try:
            storage.put(key, data, content_type="text/plain", **condition)
        except PreconditionFailed:
            return True
        return False

    first = storage.put(key, b"gallery doctor: created", content_type="text/plain",
                        if_absent=True)
    try:
        if not refused(b"gallery doctor: created twice", if_absent=True):
            raise Problem(f"{shown} let a create-only write replace an object that exists "
                          "(it ignores If-None-Match).", CONDITIONAL_FIX)
        try:
            second = storage.put(key, b"gallery doctor: replaced", content_type="text/plain",
                                 if_version=first.version)
        except PreconditionFailed as err:
            raise Problem(f"{shown} refused a write conditional on the current version of an "
                          "object.", CONDITIONAL_FIX) from err
        if not refused(b"gallery doctor: stale", if_version=first.version):
            raise Problem(f"{shown} let a write conditional on an old version through "
                          "(it ignores If-Match).", CONDITIONAL_FIX)
        storage.delete(key)
        if not refused(b"gallery doctor: deleted", if_version=second.version):
            raise Problem(f"{shown} let a write conditional on a version of a deleted object "
                          "bring it back (it ignores If-Match on a missing object).",
                          CONDITIONAL_FIX)
    finally:
        storage.delete(key, missing_ok=True)
    return "a second create and writes on a stale or deleted version were all refused"


def check_libmagic(rt: Operations) -> str:
    try:
        import magic
    except ImportError as err:  # python-magic raises ImportError when libmagic is missing
        raise Problem(f"libmagic cannot be loaded: {err}.", _LIBMAGIC_FIX) from err
    detected = magic.from_buffer(_tiny_image("PNG"), mime=True)
    if detected != "image/png":
        raise Problem(f"libmagic says a PNG is {detected!r}.", _LIBMAGIC_FIX)
    version = getattr(magic, "version", lambda: None)()
    if isinstance(version, int) and version > 100:
        return f"libmagic {version // 100}.{version % 100:02d} identifies images"
    return "libmagic identifies images"


_LIBMAGIC_FIX = ("Install libmagic: `apt-get install libmagic1` (Debian/Ubuntu), "
                 "`brew install libmagic` (macOS), or the Nix package `file` on Replit.")


def check_codecs(rt: Operations) -> str:
    from PIL import Image

    broken = []
    for name in CODECS:
        try:
            with Image.open(io.BytesIO(_tiny_image(name)), formats=[name]) as image:
                image.load()
                if image.size != (4, 3):
                    broken.append(name)
        except Exception:  # any failure of the codec is what this check reports
            broken.append(name)
    if broken:
        raise Problem(f"Pillow cannot encode and decode {', '.join(broken)}.",
                      "Reinstall Pillow from wheels (`pip install --force-reinstall pillow`), "
                      "or install the system libraries it was built against.")
    return f"Pillow encodes and decodes {', '.join(CODECS)}"


def _tiny_image(image_format: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    image = Image.new("RGB", (4, 3), (200, 120, 40))
    (image.convert("P") if image_format == "GIF" else image).save(out, image_format)
    return out.getvalue()


def check_index(rt: Operations) -> str:
    catalog = rt.images.catalog
    catalog.forget()
    root, _ = catalog.read_root()  # raises DocumentDamaged, shown with the fix
    if root is None:
        return "no catalog yet (an empty gallery)"
    count = 0
    stale = []
    for entry in root.shards:
        loaded = catalog.load(entry, keep=False)  # raises DocumentDamaged for a damaged shard
        count += len(loaded.shard.records)
        if entry.count != len(loaded.shard.records) or loaded.shard.sealed is not None:
            stale.append(entry.name)
    originals = sum(
        1 for info in rt.storage.list(rt.keys.images_prefix)
        if (image_id := rt.keys.image_id_of(info.key)) and info.key == rt.keys.original(image_id)
    )
    if originals != count:
        raise Problem(
            f"The catalog lists {count} images but the bucket holds {originals} originals.",
            "Run `flask --app app gallery cleanup --dry-run` to see which; then `gallery cleanup` "
            "(or `gallery reindex` to take in originals the catalog lost).",
        )
    if stale:
        raise Problem(
            f"The catalog's root has out-of-date counts for {len(stale)} shard(s).",
            "Run `flask --app app gallery cleanup` to correct them.",
        )
    return (f"the catalog is valid ({len(root.shards)} shard{'s' if len(root.shards) != 1 else ''})"
            f" and lists all {count} images")


def check_meta(rt: Operations) -> str:
    records = list(rt.images.view().records())
    behind = [r.id for r, bad in zip(records, _map(rt.images.meta_behind, records), strict=True)
              if bad]
    if behind:
        raise Problem(
            f"{len(behind)} image(s) have a meta.json that disagrees with the catalog "
            f"(e.g. {behind[0]}): an edit that failed half-way.",
            "Run `flask --app app gallery cleanup` to rewrite them from the catalog "
            "(before any `gallery reindex`, which reads meta.json).",
        )
    return f"every image's meta.json agrees with the catalog ({len(records)} checked)"


def _map(work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(work, items))


def check_space(rt: Operations) -> str:
    headroom = rt.storage.headroom()
    if headroom is None:
        return "the backend manages its own space"
    if headroom <= 0:
        raise Problem(
            "The storage is full: uploads are refused (deleting images still works).",
            "Delete images (or other files on that disk), or give the storage folder more space.",
        )
    return f"{human_size(headroom)} free for images"


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


def check_media_cache(rt: Operations) -> str:
    cache = rt.media_cache
    if cache is None:
        if rt.storage.scheme in ("file", "memory"):
            return f"not needed: {rt.storage.scheme}:// serves its own files"
        return "off (GALLERY_CACHE_BYTES=0): every media request reads the bucket"
    try:
        cache.check()
    except OSError as err:
        raise Problem(
            f"The media cache cannot be written in {cache.folder}: {err}. Media are then "
            "read from the bucket on every request.",
            "Set GALLERY_CACHE_DIR to a folder this user owns and others may not read or "
            "write, or GALLERY_CACHE_BYTES=0 to go without.",
        ) from err
    entries, size = cache.usage()
    return (f"{cache.folder} is writable; {_entries(entries)}, {human_size(size)} of at most "
            f"{human_size(cache.budget)}")


def check_users(rt: Operations) -> str:
    try:
        users = rt.accounts.list_users()
    except DocumentDamaged as err:
        from gallery.accounts_backup import restore_advice

        raise Problem(err.message, restore_advice(rt.storage, rt.keys)) from err
    return f"users.json is readable ({len(users)} accounts)"


def check_albums(rt: Operations) -> str:
    """Every album and share link document is readable; no album lists an image that is gone."""
    bad_albums: list[str] = []
    bad_links: list[str] = []
    albums = [album for _, album in rt.albums.shelf.all(damaged=bad_albums).values()]
    links = [link for _, link in rt.links.shelf.all(damaged=bad_links).values()]
    problems: list[str] = []
    fixes: list[str] = []
    if bad_albums or bad_links:
        keys = [rt.keys.album(i) for i in sorted(bad_albums)] + [
            rt.keys.link(i) for i in sorted(bad_links)]
        problems.append(f"{len(keys)} document(s) cannot be read: {', '.join(keys)}.")
        if bad_albums:
            fixes.append("Repair the album's JSON by hand, or delete the object (the album is "
                         "lost, its images stay) and `gallery import` an export that holds it.")
        if bad_links:
            fixes.append("Repair the link's JSON by hand, or delete the object (the link stops "
                         "working; make a new one).")
    present = {row.id for row in rt.images.view().rows()} | rt.images.trash_ids()
    dangling = {album.id: sum(1 for i in album.image_ids if i not in present)
                for album in albums}
    dangling = {album_id: count for album_id, count in dangling.items() if count}
    if dangling:
        total = sum(dangling.values())
        problems.append(f"{total} album member(s) in {len(dangling)} album(s) point at images "
                        f"that are gone (e.g. album {next(iter(dangling))}).")
        fixes.append("Run `flask --app app gallery cleanup` to take them out.")
    if problems:
        raise Problem(" ".join(problems), " ".join(fixes))
    members = sum(album.count for album in albums)
    return (f"{len(albums)} album{'s' if len(albums) != 1 else ''} ({members} "
            f"member{'s' if members != 1 else ''}) and "
            f"{len(links)} share link{'s' if len(links) != 1 else ''} are readable; "
            "every member is an image of the gallery")


def check_site(rt: Operations) -> str:
    """``site.json`` is readable, and the album its home page shows still exists."""
    try:
        found = rt.site.document.load()
    except DocumentDamaged as err:
        raise Problem(err.message, "Repair its JSON by hand, or delete the object: the site "
                      "then uses the default settings until an admin saves them again "
                      "(/admin/site).") from err
    site = found.value
    if found.version is None:
        return "the default settings (never saved)"
    if site.home == "album" and site.home_album and not rt.albums.exists(site.home_album):
        raise Problem(f"The home page shows album {site.home_album}, which is gone; visitors "
                      "get the latest images instead.",
                      "Choose another album, or another home page, on /admin/site.")
    return f"site.json is readable (“{site.title}”, the home page shows {site.home})"


def check_admin(rt: Operations) -> str:
    admins = [u for u in rt.accounts.list_users() if u.is_admin and not u.disabled]
    if not admins:
        raise Problem("There is no active admin account.",
                      "Create one: `flask --app app users create NAME --role admin`.")
    return f"{len(admins)} active admin account{'s' if len(admins) != 1 else ''}"


CHECKS: tuple[tuple[str, Callable[[Operations], str], str | None], ...] = (
    ("configuration", check_configuration, None),
    ("storage reachable", check_reachable,
     "Check GALLERY_STORAGE, the network and the credentials, then run doctor again."),
    ("storage writable", check_probe,
     "Check that the credentials may write, read and delete objects."),
    ("conditional writes", check_conditional_writes, CONDITIONAL_FIX),
    ("libmagic", check_libmagic, _LIBMAGIC_FIX),
    ("image codecs", check_codecs, None),
    ("free space", check_space, None),
    ("media cache", check_media_cache, None),
    ("catalog", check_index, REINDEX_FIX),
    ("meta.json", check_meta, None),
    ("albums and links", check_albums, None),
    ("site settings", check_site, None),
    ("accounts", check_users,
     "users.json is damaged: restore it from a backup, or repair the JSON by hand."),
    ("admin account", check_admin,
     "Create one: `flask --app app users create NAME --role admin`."),
)


#: Checks that need nothing from the storage: they run even while it is away.
OFFLINE_CHECKS = frozenset({"configuration", "libmagic", "image codecs", "media cache"})


def run_checks(rt: Operations) -> list[Check]:
    """Run every check, in order; a failing check does not stop the others.

    Once the storage did not answer, the checks that need it are reported as
    skipped (failed) at once rather than each waiting for the storage again.
    """
    results = []
    unreachable = False
    for name, check, fix in CHECKS:
        if unreachable and name not in OFFLINE_CHECKS:
            results.append(Check(name, False, "skipped: the storage did not answer",
                                 CHECKS[1][2]))
            continue
        try:
            results.append(Check(name, True, check(rt)))
        except Problem as problem:
            results.append(Check(name, False, problem.message, problem.fix or fix))
        except StorageUnavailable as err:
            results.append(Check(name, False, err.message, fix))
            unreachable = unreachable or name == "storage reachable"
        except GalleryError as err:
            results.append(Check(name, False, err.message, fix))
        except Exception as err:  # a check that crashes is a failed check, not a traceback
            results.append(Check(name, False, f"{type(err).__name__}: {err}", fix))
    return results


# --- /healthz ------------------------------------------------------------------

#: What /healthz says of each part.
OK, UNAVAILABLE, DAMAGED, FULL, UNKNOWN = "ok", "unavailable", "damaged", "full", "unknown"

#: The command that repairs a part, shown by /healthz (no paths, no counts).
HEALTH_FIXES = {
    "storage": "check GALLERY_STORAGE and the network; the gallery recovers by itself",
    "index": "flask --app app gallery reindex",
    "accounts": "flask --app app gallery doctor (it says how to restore users.json)",
    "session_key": "flask --app app gallery doctor",
    "space": "delete images or add space",
}


@dataclass(frozen=True, slots=True)
class Health:
    """What ``/healthz`` answers.

    Attributes:
        parts: each part (``storage``, ``index``, ``accounts``, ``session_key``,
            ``space``) and its state: ``ok``, ``unavailable``, ``damaged``,
            ``full`` or ``unknown`` (not checked: the storage is away).
        retry_after: seconds a client should wait before asking again.
    """

    parts: dict[str, str]
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return all(state == OK for state in self.parts.values())

    @property
    def failing(self) -> list[str]:
        return [part for part, state in self.parts.items() if state != OK]

    def to_json(self, scheme: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "unavailable", "storage": scheme,
                                "checks": dict(self.parts)}
        if not self.ok:
            body["failing"] = self.failing
            body["fix"] = {part: HEALTH_FIXES[part] for part in self.failing
                           if part in HEALTH_FIXES and self.parts[part] != UNKNOWN}
        return body


def health(rt: Runtime) -> Health:
    """Whether pages can be served: storage answering, documents readable, room left.

    Uses the cached documents (a ``stat`` each when nothing changed).
    """
    parts = {"storage": OK, "index": OK, "accounts": OK, "session_key": OK, "space": OK}
    retry_after = 0
    probes: list[tuple[str, Callable[[], Any]]] = [
        # The root and the newest shard, as the first page reads them (cached: a stat each).
        ("index", lambda: rt.images.view().newest(0, 1)),
        ("accounts", rt.accounts.count),
        ("session_key", rt.secret_key),
    ]
    for part, probe in probes:
        try:
            probe()
        except DocumentDamaged:
            parts[part] = DAMAGED
            retry_after = max(retry_after, 60)
        except StorageError as err:
            if isinstance(err, StorageUnavailable):
                retry_after = max(retry_after, err.retry_after)
            for rest, _ in probes[[p for p, _ in probes].index(part):]:
                parts[rest] = UNKNOWN
            parts["space"] = UNKNOWN
            parts["storage"] = UNAVAILABLE
            return Health(parts, retry_after or 5)
    try:
        headroom = rt.storage.headroom()
    except StorageError:
        parts["storage"], parts["space"] = UNAVAILABLE, UNKNOWN
        return Health(parts, 5)
    if headroom is not None and headroom <= 0:
        parts["space"] = FULL
        retry_after = max(retry_after, 300)
    return Health(parts, retry_after)
