"""The site's own settings: its title, tagline, about page, contact link, what the home
page shows and whether visitors see camera details.

They live in one JSON document, ``site.json`` under the prefix, changed by
compare-and-swap like every other document (:mod:`gallery.documents`), so two
admins saving at once never lose each other's change. Every page reads them, so
an instance trusts what it read for :data:`RECHECK_SECONDS` before it asks the
storage again (one ``stat``; the object is downloaded only when it changed): a
change reaches every instance within a few seconds.

A gallery that never saved its settings has no ``site.json`` and uses
:data:`DEFAULT` (the title "Gallery", the latest images on the home page).
No Flask here: the admin page, the command line and the tests use it directly.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from gallery.audit import AuditLog
from gallery.catalog.catalog import backoff
from gallery.clock import format_timestamp, is_timestamp, utcnow
from gallery.documents import JSON_TYPE, DocumentDamaged, JsonDocument, Loaded
from gallery.errors import BadRequest, Conflict, PreconditionFailed, StorageError
from gallery.keys import Keys, is_album_id
from gallery.storage.base import Storage

log = logging.getLogger(__name__)

#: How long a value read is trusted before the storage is asked again, in seconds.
RECHECK_SECONDS = 3.0

DEFAULT_TITLE = "Gallery"
MAX_TITLE = 100
MAX_TAGLINE = 200
MAX_ABOUT = 20_000
MAX_CONTACT = 500
#: What the home page (``/``) may show.
HOME_MODES = ("latest", "albums", "album")
HOME_LABELS = {
    "latest": "The latest images (the whole gallery, newest first)",
    "albums": "The albums",
    "album": "One album",
}
#: Fields :meth:`SiteSettings.update` takes.
FIELDS = ("title", "tagline", "about", "contact", "home", "home_album", "show_details")
#: The format of ``site.json``.
FORMAT = 1
#: Largest ``site.json`` read from an export (the about text is at most 20,000 characters).
MAX_DOCUMENT_BYTES = 512 * 1024

MAX_ATTEMPTS = 50

_CONTACT_SCHEMES = ("https", "http", "mailto")
_MAILBOX = re.compile(r"[^@\s/?#]+@[^@\s/?#]+\.[^@\s/?#]+")


@dataclass(frozen=True, slots=True)
class Site:
    """The site's settings.

    Attributes:
        title: shown in the header and in every page's ``<title>``.
        tagline: one line under the title on the home page ("" for none).
        about: the about page, in Markdown ("" for no about page).
        contact: an ``https://``, ``http://`` or ``mailto:`` link ("" for none).
        home: what ``/`` shows: ``latest``, ``albums`` or ``album``.
        home_album: the album ``/`` shows when ``home`` is ``album``.
        show_details: whether visitors see camera details and the date taken;
            ``None`` follows ``GALLERY_SHOW_DETAILS``.
        updated_at: when last saved (``None``: never).
        updated_by: who saved last.
    """

    title: str = DEFAULT_TITLE
    tagline: str = ""
    about: str = ""
    contact: str = ""
    home: str = "latest"
    home_album: str | None = None
    show_details: bool | None = None
    updated_at: str | None = field(default=None, compare=False)
    updated_by: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "title": self.title, "tagline": self.tagline,
            "about": self.about, "contact": self.contact, "home": self.home,
            "home_album": self.home_album, "show_details": self.show_details,
            "updated_at": self.updated_at, "updated_by": self.updated_by,
        }

    @classmethod
    def from_json(cls, value: Any) -> Site:
        """The settings a stored (or exported) document holds, each field checked.

        Raises:
            ValueError: not a site document, or a field breaks the rules
                (the message says which).
        """
        if not isinstance(value, Mapping) or value.get("format") != FORMAT:
            raise ValueError(f"not a site settings document of format {FORMAT}")
        try:
            checked = check({name: value.get(name, getattr(DEFAULT, name)) for name in FIELDS})
        except BadRequest as err:
            raise ValueError(err.message) from None
        updated_at, updated_by = value.get("updated_at"), value.get("updated_by")
        if updated_at is not None and not is_timestamp(updated_at):
            raise ValueError("updated_at is not a time like 2026-11-21T08:30:00.123Z")
        if updated_by is not None and not isinstance(updated_by, str):
            raise ValueError("updated_by is not text")
        return cls(**checked, updated_at=updated_at, updated_by=updated_by)

    @property
    def has_about(self) -> bool:
        """Whether there is an about page to show."""
        return bool(self.about.strip())


DEFAULT = Site()


# --- validation -------------------------------------------------------------------------------


def _control(text: str, *, allow_lines: bool = False) -> bool:
    """Whether ``text`` holds control characters (line breaks and tabs allowed if asked)."""
    allowed = "\n\t" if allow_lines else ""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"The {name} must be text.")
    return value


def check_title(value: Any) -> str:
    """Runs of spaces become one.

    Raises:
        BadRequest: empty, longer than 100 characters, or with control characters.
    """
    text = _text(value, "title")
    if _control(text):
        raise BadRequest("The title cannot hold control characters (line breaks, tabs ...).")
    title = " ".join(text.split())
    if not title:
        raise BadRequest("Give the site a title (1 to 100 characters).")
    if len(title) > MAX_TITLE:
        raise BadRequest(f"The title is {len(title)} characters long; {MAX_TITLE} at most.")
    return title


def check_tagline(value: Any) -> str:
    """Raises: BadRequest: longer than 200 characters, or with control characters."""
    text = _text(value, "tagline")
    if _control(text):
        raise BadRequest("The tagline cannot hold control characters (line breaks, tabs ...).")
    text = " ".join(text.split())
    if len(text) > MAX_TAGLINE:
        raise BadRequest(f"The tagline is {len(text)} characters long; {MAX_TAGLINE} at most.")
    return text


def check_about(value: Any) -> str:
    """Line endings become ``\\n``.

    Raises:
        BadRequest: longer than 20,000 characters, or with control characters
            other than line breaks and tabs.
    """
    text = _text(value, "about text").replace("\r\n", "\n").replace("\r", "\n")
    if _control(text, allow_lines=True):
        raise BadRequest("The about text cannot hold control characters other than line "
                         "breaks and tabs.")
    if len(text) > MAX_ABOUT:
        raise BadRequest(f"The about text is {len(text):,} characters long; "
                         f"{MAX_ABOUT:,} at most.")
    return text.strip() and text.strip("\n").rstrip()


def check_contact(value: Any) -> str:
    """An ``https://``, ``http://`` or ``mailto:`` address, or ``""``.

    Raises:
        BadRequest: any other scheme (``javascript:`` ...), no host or mailbox,
            spaces or control characters, or longer than 500 characters.
    """
    text = _text(value, "contact link").strip()
    if not text:
        return ""
    expected = ("The contact link must be an https://, http:// or mailto: address, such as "
                "https://example.com/contact or mailto:me@example.com.")
    if len(text) > MAX_CONTACT:
        raise BadRequest(f"The contact link is longer than {MAX_CONTACT} characters.")
    if _control(text) or any(c.isspace() for c in text) or "\\" in text:
        raise BadRequest(expected + " It cannot hold spaces.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise BadRequest(expected) from None
    scheme = parts.scheme.lower()
    if scheme not in _CONTACT_SCHEMES:
        raise BadRequest(expected)
    if scheme == "mailto":
        if not _MAILBOX.fullmatch(parts.path.split(",")[0]):
            raise BadRequest(expected)
    elif not parts.hostname or parts.username is not None or parts.password is not None:
        raise BadRequest(expected)
    return text


def check_home(home: Any, album: Any) -> tuple[str, str | None]:
    """The home mode and its album (``None`` unless the mode is ``album``).

    Raises:
        BadRequest: an unknown mode, or ``album`` without a well-formed album id.
    """
    if home not in HOME_MODES:
        raise BadRequest("The home page shows “latest”, “albums” or “album”.")
    if home != "album":
        return home, None
    if not album:
        raise BadRequest("Choose the album the home page shows.")
    if not is_album_id(album):
        raise BadRequest("There is no such album to show on the home page.")
    return home, album


def check_show_details(value: Any) -> bool | None:
    """Raises: BadRequest: neither true, false nor null."""
    if value is None or isinstance(value, bool):
        return value
    raise BadRequest("“show_details” is true, false or null (follow GALLERY_SHOW_DETAILS).")


def check(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of :data:`FIELDS` in ``values``, checked and normalised.

    Raises:
        BadRequest: the first field that breaks its rule, with a message for people.
    """
    home, album = check_home(values.get("home"), values.get("home_album"))
    return {
        "title": check_title(values.get("title")),
        "tagline": check_tagline(values.get("tagline")),
        "about": check_about(values.get("about")),
        "contact": check_contact(values.get("contact")),
        "home": home, "home_album": album,
        "show_details": check_show_details(values.get("show_details")),
    }


# --- the service -------------------------------------------------------------------------------


class _SiteDocument(JsonDocument[Site]):
    """``site.json``: read as a :class:`Site`, written as :meth:`Site.to_json`."""

    def save(self, value: Site, version: str | None) -> str:
        body = orjson.dumps(value.to_json())
        if version is None:
            info = self.storage.put(self.key, body, content_type=JSON_TYPE, if_absent=True)
        else:
            info = self.storage.put(self.key, body, content_type=JSON_TYPE, if_version=version)
        return info.version


class SiteSettings:
    """The site's settings in the bucket (``site.json``).

    Args:
        storage: the bucket.
        keys: the gallery's keys.
        album_exists: whether an album id names an album (``home_album`` must).
        audit: where changes are recorded (``None``: not recorded).
        clock: seconds, for :data:`RECHECK_SECONDS` (tests pass their own).
        now: the current time, for ``updated_at``.
    """

    def __init__(self, storage: Storage, keys: Keys, *, album_exists: Callable[[str], bool],
                 audit: AuditLog | None = None, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.document = _SiteDocument(storage, keys.site, empty=lambda: DEFAULT,
                                      check=Site.from_json)
        self._album_exists = album_exists
        self._audit = audit
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        #: What was read last, and when it was checked.
        self._seen: tuple[Loaded[Site], float] | None = None
        #: When the last read for a page failed: pages then use the fallback for a while
        #: without asking the storage again (and the failure is logged once).
        self._failed_at: float | None = None

    @property
    def key(self) -> str:
        return self.document.key

    def _remember(self, found: Loaded[Site]) -> None:
        with self._lock:
            self._seen = (found, self._clock())

    def loaded(self) -> Loaded[Site]:
        """The settings and their stored version (``None``: never saved), checked against
        the storage when the last look is older than :data:`RECHECK_SECONDS`.

        Raises:
            DocumentDamaged: ``site.json`` cannot be read; it is left as it is.
            StorageUnavailable: the storage did not answer.
        """
        seen = self._seen
        if seen is not None and self._clock() - seen[1] < RECHECK_SECONDS:
            return seen[0]
        found = self.document.load_cached()
        self._remember(found)
        return found

    def get(self) -> Site:
        """The settings (see :meth:`loaded`).

        Raises:
            DocumentDamaged, StorageUnavailable.
        """
        return self.loaded().value

    def current(self) -> Site:
        """The settings for showing a page: never raises.

        When ``site.json`` cannot be read (the storage is away, or the document
        is damaged) the last value read is used, else :data:`DEFAULT`, for
        :data:`RECHECK_SECONDS` before the storage is asked again; the failure
        is logged once, and whatever else the page needs from the storage
        reports it to the visitor.
        """
        failed = self._failed_at
        if failed is not None and self._clock() - failed < RECHECK_SECONDS:
            seen = self._seen
            return seen[0].value if seen is not None else DEFAULT
        try:
            site = self.get()
        except (StorageError, DocumentDamaged) as err:
            seen = self._seen
            if self._failed_at is None:  # once per outage, not once per page
                log.warning("Site settings unavailable (%s); showing %s", err.message,
                            "the last ones read" if seen else "the defaults")
            self._failed_at = self._clock()
            return seen[0].value if seen is not None else DEFAULT
        self._failed_at = None
        return site

    def forget(self) -> None:
        """Ask the storage at the next read, whatever the time since the last look."""
        with self._lock:
            self._seen = None

    def update(self, changes: Mapping[str, Any], *, actor: str) -> Site:
        """Change some settings (the others stay), by compare-and-swap.

        Args:
            changes: any of :data:`FIELDS`; ``home_album`` is kept only with
                ``home="album"``.
            actor: who changes them, recorded in the audit log (``site.update``,
                with the names of the fields that changed).

        Returns:
            The settings as stored.

        Raises:
            BadRequest: an unknown field, a value that breaks its rule, or a home
                album that does not exist.
            Conflict: still losing races to other writers after many tries.
            DocumentDamaged, StorageUnavailable.
        """
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise BadRequest(f"Unknown site setting {', '.join(unknown)}; "
                             f"the settings are {', '.join(FIELDS)}.")
        for attempt in range(MAX_ATTEMPTS):
            current = self.document.load()
            old = current.value
            merged = {name: getattr(old, name) for name in FIELDS} | dict(changes)
            if merged["home"] != "album":
                merged["home_album"] = None
            checked = check(merged)
            if checked["home"] == "album" and checked["home_album"] != old.home_album \
                    and not self._album_exists(checked["home_album"]):
                raise BadRequest("There is no such album to show on the home page.")
            changed = [name for name in FIELDS if checked[name] != getattr(old, name)]
            if not changed:
                self._remember(current)
                return old
            new = replace(old, **checked, updated_at=format_timestamp(self._now()),
                          updated_by=actor)
            try:
                version = self.document.save(new, current.version)
            except PreconditionFailed:
                backoff(attempt)
                continue
            self._remember(Loaded(new, version))
            if self._audit is not None:
                self._audit.record(actor, "site.update", "", fields=", ".join(changed))
            return new
        raise Conflict("Too many concurrent changes to the site settings; please try again.")

    def put_back(self, site: Site, *, album_exists: Callable[[str], bool]) -> bool:
        """Store ``site`` (from an export) unless this gallery has settings of its own.

        A home album that is not in this gallery becomes the latest images.

        Returns:
            Whether it was stored.

        Raises:
            StorageUnavailable: the storage did not answer.
        """
        if site.home == "album" and not (site.home_album and album_exists(site.home_album)):
            site = replace(site, home="latest", home_album=None)
        try:
            version = self.document.save(site, None)
        except PreconditionFailed:
            return False
        self._remember(Loaded(site, version))
        return True
