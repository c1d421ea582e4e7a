"""One place that turns errors into responses: a page for people, JSON for the API."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from gallery.documents import DocumentDamaged
from gallery.errors import GalleryError, StorageError

log = logging.getLogger(__name__)

#: Codes for HTTP errors raised by Flask/Werkzeug themselves.
_HTTP_CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_type",
    429: "too_many_attempts",
}

_HTTP_MESSAGES = {
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    413: "The upload is larger than this gallery accepts.",
}


#: What visitors read for errors whose own message names storage internals.
_PUBLIC_MESSAGES = {
    "document_damaged": "Stored data of the gallery is damaged; an administrator can repair it "
                        "(the health checks say how).",
}

#: A quoted object key of the bucket inside a message (``'site/users.json'``).
_QUOTED_KEY = re.compile(
    r"'[^'\n]*(?:index\.json|users\.json|secret_key|setup_code|"
    r"(?:images|throttle|audit|doctor)/[^'\n]*)'"
)


def public_message(err: GalleryError) -> str:
    """The message of ``err`` fit for any visitor: no file path, bucket or object key in it.

    Storage errors and every 5xx get their kind's fixed message (the full one
    goes to the log); others have quoted object keys and the storage location
    taken out.
    """
    if isinstance(err, (StorageError, DocumentDamaged)) or err.status >= 500:
        return _PUBLIC_MESSAGES.get(err.code) or type(err).default_message
    message = _QUOTED_KEY.sub("stored data", err.message)
    for location in _locations():
        message = message.replace(location, "the storage")
    return message


def _locations() -> list[str]:
    """The storage's folder or bucket, as it could appear in a message."""
    inner = current_app.extensions["gallery"].storage
    while hasattr(inner, "inner"):  # wrappers (retries, faults) keep the real backend inside
        inner = inner.inner
    found = [str(getattr(inner, name, "") or "") for name in ("root", "bucket_name")]
    return [value for value in found if len(value) > 1]


def wants_json() -> bool:
    """Whether the client should get the JSON error shape rather than a page."""
    if request.path.startswith("/api/"):
        return True
    if request.headers.get("Authorization", "").strip().lower().startswith("bearer"):
        return True  # a script with an API token
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """Render an error as JSON (``{"error": {"code", "message"}}``) or as a page."""
    if wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        try:
            page = render_template("error.html", status=status, code=code, message=message)
        except Exception:  # the page itself needs storage (the signed-in user): fall back
            log.exception("Could not render the error page")
            page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
        response = Response(page, mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(GalleryError)
    def handle_gallery_error(err: GalleryError) -> Response:
        if err.status >= 500:
            log.warning("%s: %s", type(err).__name__, err.message, exc_info=isinstance(err, StorageError))
        return error_response(err.status, err.code, public_message(err), err.headers())

    @app.errorhandler(CSRFError)
    def handle_csrf(err: CSRFError) -> Response:
        message = "The form expired or was sent from elsewhere; reload the page and try again."
        if request.path.startswith("/api/"):
            message = f"Missing or invalid CSRF token ({err.description}) — send X-CSRFToken."
        return error_response(400, "csrf_failed", message)

    @app.errorhandler(HTTPException)
    def handle_http(err: HTTPException) -> Response:
        status = err.code or 500
        message = _HTTP_MESSAGES.get(status) or err.description or "Request failed."
        response = error_response(status, _HTTP_CODES.get(status, "http_error"), message)
        if status == 405 and err.get_response().headers.get("Allow"):
            response.headers["Allow"] = err.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception) -> Response:
        log.exception("Unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", GalleryError.default_message)
