"""Everything a running gallery needs, built once from the settings.

The web layer and the CLI both take their services from a :class:`Runtime`;
neither builds storage clients or reads settings on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gallery.accounts import Accounts
from gallery.albums import Albums, Links
from gallery.audit import AuditLog
from gallery.images.service import Images
from gallery.imaging import Limits
from gallery.keys import Keys
from gallery.media_cache import MediaCache, default_folder
from gallery.operations import Operations
from gallery.session_key import SharedSecretKey, cache_folder
from gallery.site import SiteSettings
from gallery.storage import Storage, open_storage
from gallery.throttle import LoginThrottle


@dataclass(frozen=True, slots=True)
class Runtime:
    """The storage and the domain services over it."""

    settings: dict[str, Any]
    storage: Storage
    keys: Keys
    images: Images
    accounts: Accounts
    throttle: LoginThrottle
    audit: AuditLog
    albums: Albums
    links: Links
    #: The site's title, about page, home page ... (``site.json``).
    site: SiteSettings
    #: Maintenance over all of the above (stats, cleanup, doctor, export, import).
    operations: Operations
    #: The session key, fetched from the bucket on first use (not at start-up).
    session_key: SharedSecretKey
    #: Originals and thumbnails kept on this machine's disk (backends over the network only).
    media_cache: MediaCache | None = None

    @classmethod
    def build(cls, settings: dict[str, Any], storage: Storage | None = None) -> Runtime:
        """Open the configured storage (unless given) and build the services over it.

        Raises:
            ConfigError: the storage URL or its credentials are wrong.
        """
        if storage is None:
            storage = open_storage(settings["storage"], timeout=settings["storage_timeout"])
        keys = Keys(settings["prefix"])
        limits = Limits(
            max_bytes=settings["max_file_bytes"],
            max_pixels=settings["max_pixels"],
            max_frames=settings["max_frames"],
        )
        audit = AuditLog(storage, keys)
        images = Images(storage, keys, limits=limits, audit=audit,
                        trash_days=settings["trash_days"])
        accounts = Accounts(storage, keys)
        throttle = LoginThrottle(
            storage,
            keys,
            attempts=settings["login_attempts"],
            window=settings["login_window"],
        )
        albums = Albums(storage, keys, images, public_gallery=settings["visibility"] == "public",
                        audit=audit)
        links = Links(storage, keys, albums, throttle=throttle, audit=audit)
        site = SiteSettings(storage, keys, album_exists=albums.exists, audit=audit)
        media_cache = None
        if storage.scheme not in ("memory", "file") and settings["cache_bytes"]:
            folder = (Path(settings["cache_dir"]) if settings["cache_dir"]
                      else default_folder(storage.describe(), settings["prefix"]))
            media_cache = MediaCache(folder, settings["cache_bytes"], keys)
            images.on_delete(media_cache.drop)
            images.on_trash(media_cache.drop)
        return cls(
            settings=settings,
            storage=storage,
            keys=keys,
            images=images,
            accounts=accounts,
            throttle=throttle,
            audit=audit,
            albums=albums,
            links=links,
            site=site,
            operations=Operations(storage, keys, images, accounts, audit, settings,
                                  albums=albums, links=links, site=site,
                                  media_cache=media_cache),
            # Only backends over the network keep a local spare copy of the key.
            session_key=SharedSecretKey(
                settings["secret_key"], storage, keys,
                None if storage.scheme in ("memory", "file") else cache_folder()),
            media_cache=media_cache,
        )

    @property
    def public(self) -> bool:
        """Whether visitors may browse without signing in."""
        return self.settings["visibility"] == "public"

    def secret_key(self) -> str:
        """The session key: the setting, or the one kept in the bucket (made once).

        Raises:
            StorageUnavailable: the bucket did not answer (and the key is not known yet).
            DocumentDamaged: the stored key is damaged.
        """
        return self.session_key.get()
