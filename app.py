"""WSGI entry point: ``app:app`` for any WSGI server, and ``flask --app app ...``.

``make run`` serves it with ``python -m gallery.serve``. A wrong setting stops
the import with one line naming it, not a traceback (exit status 4, which
gunicorn also understands as "the app cannot be loaded").
"""

import sys

from gallery import create_app
from gallery.errors import ConfigError
from gallery.serve import EXIT_BAD_SETTINGS

try:
    app = create_app()
except ConfigError as err:
    print(f"gallery: {err.message}", file=sys.stderr)
    raise SystemExit(EXIT_BAD_SETTINGS) from None
