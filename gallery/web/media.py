"""Media: originals and thumbnails, served inline with strong caching.

Ids never change content, so responses are cacheable for a year and a
revalidation (``If-None-Match``) is answered from the index alone, without
touching the object. On the file backend ``send_file`` gets a real path (and
so gunicorn's ``sendfile``); elsewhere the object is streamed, with ranges.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from gallery.service import Media
from gallery.web.context import runtime

bp = Blueprint("media", __name__)

YEAR = 31_536_000


def _headers(response: Response) -> Response:
    public = runtime().public
    response.headers["Cache-Control"] = (
        f"public, max-age={YEAR}, immutable" if public else f"private, max-age={YEAR}, immutable"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _serve(media: Media, download_name: str | None = None, attachment: bool = False) -> Response:
    if request.if_none_match.contains(media.etag.strip('"')):
        response = Response(status=304)
        response.set_etag(media.etag.strip('"'))
        return _headers(response)
    if media.local_path is not None:
        response = send_file(
            media.local_path,
            mimetype=media.content_type,
            etag=media.etag.strip('"'),
            download_name=download_name,
            as_attachment=attachment,
            conditional=True,
        )
    else:
        response = send_file(
            runtime().service.open_media(media),
            mimetype=media.content_type,
            etag=media.etag.strip('"'),
            download_name=download_name,
            as_attachment=attachment,
            conditional=False,
        )
        response.content_length = media.size
        response = response.make_conditional(
            request.environ, accept_ranges=True, complete_length=media.size
        )
    return _headers(response)


@bp.get("/media/<image_id>")
def original(image_id: str) -> Response:
    service = runtime().service
    record = service.get(image_id)
    attachment = request.args.get("download") == "1"
    return _serve(service.media(image_id), download_name=record["filename"], attachment=attachment)


@bp.get("/media/<image_id>/<variant>")
def variant(image_id: str, variant: str) -> Response:
    return _serve(runtime().service.media(image_id, variant))
