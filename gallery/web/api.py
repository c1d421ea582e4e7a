"""The JSON API under ``/api/v1``: session cookie with ``X-CSRFToken``, or a Bearer token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gallery.errors import BadRequest
from gallery.web.context import require_actor, runtime
from gallery.web.params import json_body, whole_number
from gallery.web.upload import accept
from gallery.web.views import image_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/images")
def create_image() -> tuple[Response, int]:
    require_actor()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Send the image as a multipart form field named “file”.")
    if len(request.files.getlist("file")) > 1:
        raise BadRequest("Send one image per request.")
    result = accept(upload)
    body = image_json(result.image, duplicate=result.duplicate)
    response = jsonify(body)
    response.headers["Location"] = body["urls"]["page"]
    return response, 200 if result.duplicate else 201


@bp.get("/images")
def list_images() -> Response:
    rt = runtime()
    limit = whole_number(request.args, "limit", min(rt.settings["page_size"], 100), 1, 100)
    images, cursor = rt.images.list_images(limit=limit, cursor=request.args.get("cursor") or None)
    return jsonify(images=[image_json(i) for i in images], next_cursor=cursor)


@bp.get("/images/<image_id>")
def get_image(image_id: str) -> Response:
    return jsonify(image_json(runtime().images.get(image_id)))


@bp.patch("/images/<image_id>")
def update_image(image_id: str) -> Response:
    who = require_actor()
    changes = json_body()
    if not isinstance(changes, dict):
        raise BadRequest("Send a JSON object, e.g. {\"title\": \"...\"}.")
    return jsonify(image_json(runtime().images.update(image_id, changes, actor=who)))


@bp.delete("/images/<image_id>")
def delete_image(image_id: str) -> tuple[str, int]:
    who = require_actor()
    runtime().images.delete(image_id, actor=who)
    return "", 204
