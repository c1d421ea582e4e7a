"""gallery: a self-hosted image gallery whose every byte lives in object storage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from gallery.config import load_settings
from gallery.keys import Keys
from gallery.storage import Storage, open_storage

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    storage: Storage | None = None,
) -> Flask:
    """Build the application.

    Args:
        overrides: settings that win over the environment (tests use these).
        environ: where ``GALLERY_*`` settings are read (default ``os.environ``).
        storage: an already built backend (tests use these); otherwise the
            ``storage`` setting's URL is opened.
    """
    settings = load_settings(environ, overrides)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config["GALLERY"] = settings
    if storage is None:
        storage = open_storage(settings["storage"], timeout=settings["storage_timeout"])
    app.extensions["gallery.storage"] = storage
    app.extensions["gallery.keys"] = Keys(settings["prefix"])

    from gallery.web import init_app

    init_app(app)
    return app
