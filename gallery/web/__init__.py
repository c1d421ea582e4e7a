"""The web layer: thin blueprints over the domain service."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from gallery.web import pages

    app.register_blueprint(pages.bp)
