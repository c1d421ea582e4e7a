"""Album pages: the list of albums and one album's grid."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from gallery.web.context import actor, runtime
from gallery.web.params import whole_number

bp = Blueprint("albums", __name__)


@bp.get("/albums")
def index():
    rt = runtime()
    return render_template("albums/index.html", albums=rt.albums.listed(actor()))


@bp.get("/albums/<album_id>")
def album(album_id: str):
    rt = runtime()
    found = rt.albums.viewable(album_id, actor())
    number = whole_number(request.args, "page", 1, 1, 10**9, "The page number")
    page = rt.albums.page(found, number, rt.settings["page_size"])
    return render_template("albums/album.html", album=found, page=page)


@bp.get("/albums/<album_id>/download")
def download(album_id: str):
    """The album's originals as one zip, streamed as it is made (its owner and admins)."""
    from flask import Response, stream_with_context

    from gallery.albums.download import archive_name, iter_album_zip
    from gallery.web.context import require_actor

    rt = runtime()
    found = rt.albums.manageable(album_id, require_actor())
    chunks = iter_album_zip(rt.storage, rt.keys, rt.albums.records(found))
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{archive_name(found.title)}"'
    return response
