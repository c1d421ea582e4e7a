"""gallery: a self-hosted image gallery whose every byte lives in object storage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    storage: Any = None,
) -> Flask:
    """Build the application.

    Args:
        overrides: settings that win over the environment (tests use these).
        environ: where ``GALLERY_*`` settings are read (default ``os.environ``).
        storage: an already built backend (tests use these); otherwise the
            ``storage`` setting's URL is opened.

    Raises:
        ConfigError: a setting is unknown or invalid, or the storage cannot be used.
    """
    from gallery.config import load_settings
    from gallery.runtime import Runtime
    from gallery.web import init_app

    settings = load_settings(environ, overrides)
    runtime = Runtime.build(settings, storage)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    init_app(app, runtime)
    return app
