"""Media: originals and thumbnails, served inline with strong caching.

Ids never change content, so responses are cacheable for a year and a
revalidation (``If-None-Match``) is answered from the index alone, without
touching the object. On the file backend ``send_file`` gets a real path (and
so gunicorn's ``sendfile``); elsewhere the object is streamed, with ranges.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from gallery.images.results import Media
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


def _serve(media: Media, attachment: bool = False) -> Response:
    etag = media.etag.strip('"')
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return _headers(response)
    service = runtime().images
    local_path = service.local_path(media)
    if local_path is not None:
        response = send_file(
            local_path,
            mimetype=media.content_type,
            etag=etag,
            download_name=media.filename,
            as_attachment=attachment,
            conditional=True,
        )
    else:
        response = send_file(
            service.open_media(media),
            mimetype=media.content_type,
            etag=etag,
            download_name=media.filename,
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
    attachment = request.args.get("download") == "1"
    return _serve(runtime().images.media(image_id), attachment=attachment)


@bp.get("/media/<image_id>/<variant>")
def variant(image_id: str, variant: str) -> Response:
    return _serve(runtime().images.media(image_id, variant))
