"""Media: originals and thumbnails, served inline with strong caching.

Ids never change content, so responses are cacheable for a year and a
revalidation (``If-None-Match``, or ``If-Modified-Since`` against the upload
time) is answered from the catalog alone, without a storage call. The record
comes from a catalog checked in the last two seconds, so in the steady state a
request served from the media cache asks the storage nothing at all. On the file backend the file is opened first and the open
file is sent (the server's file wrapper reads it), so an image deleted at that
moment is a ``404``, never a failure halfway; elsewhere the object is streamed,
and copied into the local media cache (:mod:`gallery.media_cache`) on the way,
whose entries are then sent as the file backend sends its files. All answer
ranges.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from flask import Blueprint, Response, request, send_file

from gallery.errors import NotFound
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
    if _unchanged(media, etag):
        response = Response(status=304)
        response.set_etag(etag)
        response.last_modified = media.modified
        return _headers(response)
    stream, size = _open(media)
    response = send_file(
        stream,
        mimetype=media.content_type,
        etag=etag,
        download_name=media.filename,
        as_attachment=attachment,
        conditional=False,
        last_modified=media.modified,
    )
    response.content_length = size
    response = response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    return _headers(response)


def _unchanged(media: Media, etag: str) -> bool:
    """Whether the client's copy is current, from the catalog alone (no storage call).

    ``If-None-Match`` decides when it is sent; else ``If-Modified-Since``
    against the upload time (an image's bytes never change after it).
    """
    if request.if_none_match:
        return request.if_none_match.contains(etag)
    since = request.if_modified_since
    return (since is not None and media.modified is not None
            and media.modified.replace(microsecond=0) <= since)


def _open(media: Media) -> tuple[BinaryIO, int]:
    """The media's bytes as an open stream, and their size.

    A local file is opened before anything is sent: once open, a delete cannot
    take its bytes away, and a delete that came first is a ``404``.

    Raises:
        NotFound: the object is gone (deleted meanwhile).
        StorageUnavailable: the storage did not answer.
    """
    service = runtime().images
    local_path = service.local_path(media)
    if local_path is None:
        return _remote(media), media.size
    try:
        stream = open(local_path, "rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NotFound("That image is gone.") from None
    return stream, os.fstat(stream.fileno()).st_size


def _remote(media: Media) -> BinaryIO:
    """The media from the local cache, else from the storage (filling the cache as it
    streams, unless only a range was asked for).

    Raises:
        NotFound: the object is gone (deleted meanwhile).
        StorageUnavailable: the storage did not answer.
    """
    rt = runtime()
    cache = rt.media_cache
    if cache is None:
        return rt.images.open_media(media)
    cached = cache.open(media)
    if cached is not None:
        return cached
    stream = rt.images.open_media(media)
    if "Range" in request.headers:
        return stream  # seekable: only the range is fetched, and nothing is cached
    return cache.filling(media, stream)


@bp.get("/media/<image_id>")
def original(image_id: str) -> Response:
    attachment = request.args.get("download") == "1"
    return _serve(runtime().images.media(image_id), attachment=attachment)


@bp.get("/media/<image_id>/<variant>")
def variant(image_id: str, variant: str) -> Response:
    return _serve(runtime().images.media(image_id, variant))
