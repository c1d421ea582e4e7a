"""WSGI entry point: ``gunicorn app:app``, ``flask --app app ...``."""

from gallery import create_app

app = create_app()
