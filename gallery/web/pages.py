"""Pages: the gallery grid and the health check."""

from __future__ import annotations

import orjson
from flask import Blueprint, current_app, jsonify, render_template

from gallery.errors import ObjectNotFound, StorageError

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    storage = current_app.extensions["gallery.storage"]
    keys = current_app.extensions["gallery.keys"]
    try:
        images = orjson.loads(storage.get(keys.index)).get("images", [])
    except ObjectNotFound:
        images = []
    return render_template("index.html", images=images)


@bp.get("/healthz")
def healthz():
    storage = current_app.extensions["gallery.storage"]
    keys = current_app.extensions["gallery.keys"]
    try:
        storage.exists(keys.index)
    except StorageError as err:
        return jsonify(status="unavailable", storage=storage.scheme, error=err.message), 503
    return jsonify(status="ok", storage=storage.scheme)
