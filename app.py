"""WSGI entry point: ``app:app`` for any WSGI server, and ``flask --app app ...``.

``make run`` serves it with ``python -m gallery.serve``. A wrong setting stops
the import with one line naming it, not a traceback (exit status 4, which
gunicorn also understands as "the app cannot be loaded").
"""

from gallery import serve_app

app = serve_app()
