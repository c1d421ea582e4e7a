"""gallery: a self-hosted image gallery whose every byte lives in object storage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from gallery.errors import ConfigError

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
    from gallery.web.session import GalleryFlask

    # Nothing here waits for the storage: a gallery starts while its bucket is
    # away and answers 503 until it is back.
    settings = load_settings(environ, overrides)
    runtime = Runtime.build(settings, storage)
    app = GalleryFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    init_app(app, runtime)
    return app


#: Exit status for a configuration error at start-up. gunicorn reads a worker's
#: exit with 4 as "the app failed to load" and stops, instead of starting
#: workers again and again.
CONFIG_ERROR_EXIT = 4


def serve_app() -> Flask:
    """:func:`create_app` for the entry points (``app.py``: gunicorn, ``flask --app app``).

    A configuration error is printed as one line to standard error, and the
    process exits with :data:`CONFIG_ERROR_EXIT` rather than with a traceback
    (under the ``flask`` command, as :func:`gallery.cli.cli_app` does it: exit
    status 2, and a warning when the command may not see the server's gallery).
    """
    import os
    import sys

    if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        from gallery.cli import cli_app

        return cli_app()
    try:
        return create_app()
    except ConfigError as err:
        print(f"gallery: {err.message}", file=sys.stderr, flush=True)
        raise SystemExit(CONFIG_ERROR_EXIT) from None
