"""WSGI entry point: ``gunicorn app:app``, ``flask --app app ...``."""

from gallery import serve_app

app = serve_app()
