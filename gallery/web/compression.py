"""Compressed responses (Flask-Compress): brotli or gzip, as the client prefers.

Compressed: pages, CSS, JavaScript, JSON, XML (feeds, sitemap) and plain text,
once they are larger than :data:`MIN_SIZE`. Never compressed: images (media and
thumbnails are compressed already), zips and anything else, and no response
streamed as it is made (album and export zips pass through untouched, never
buffered). The static files (a few kilobytes of CSS and JavaScript) are read
whole and compressed; their file is closed with the response.

A compressed response's strong ``ETag`` gets the coding appended (``"abc:br"``),
so a cache never confuses it with the identity bytes; a ``304`` is answered for
either form. ``Vary: Accept-Encoding`` is set on every response that could be
compressed, and only on those.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

#: What may be compressed, by media type.
MIMETYPES = (
    "text/html", "text/css", "text/plain", "text/xml", "text/javascript",
    "application/javascript", "application/json", "application/xml", "application/atom+xml",
    "application/manifest+json",
)
#: Smaller bodies are sent as they are (the coding would cost more than it saves).
MIN_SIZE = 500
#: Endpoints whose file responses are read whole to be compressed (small files only).
FILE_ENDPOINTS = frozenset({"static"})


def init_app(app: Flask) -> None:
    """Compress what :data:`MIMETYPES` names, brotli first, then gzip."""
    app.config.update(
        COMPRESS_REGISTER=False,  # our own hook decides what reaches it
        COMPRESS_MIMETYPES=list(MIMETYPES),
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,
        COMPRESS_LEVEL=6,
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_STREAMS=False,  # a streamed response is never held back to be compressed
    )
    compress = Compress(app)

    @app.after_request
    def compressed(response: Response) -> Response:
        if response.mimetype not in MIMETYPES:
            return response
        if response.is_streamed:
            if request.endpoint not in FILE_ENDPOINTS or response.status_code != 200:
                return response  # made as it is sent: never buffered, never recoded
            response.direct_passthrough = False
            response.make_sequence()  # reads the file; it is closed with the response
        return compress.after_request(response)
