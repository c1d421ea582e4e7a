"""Share links: the pages under ``/s/<token>`` that open one album to whoever holds it."""

from __future__ import annotations

from flask import Blueprint, render_template

from gallery.web.context import runtime

bp = Blueprint("share", __name__)


@bp.get("/s/<token>")
def page(token: str):
    opened = runtime().links.open(token)
    return render_template("share/page.html", link=opened.link, album=opened.album)


@bp.get("/albums/<album_id>/links")
def manage(album_id: str):
    """The links of one album, for its owner and admins."""
    from gallery.web.context import require_actor

    rt = runtime()
    who = require_actor()
    album = rt.albums.manageable(album_id, who)
    return render_template("share/manage.html", album=album,
                           links=rt.links.managed(album_id, who))


@bp.get("/admin/links")
def admin_links():
    """Every share link, for admins."""
    from gallery.web.context import require_admin

    require_admin()
    return render_template("share/admin_links.html", links=runtime().links.all())


@bp.get("/s/<token>/download")
def download(token: str):
    """The album of a link as one zip, where the link allows downloads."""
    from flask import Response, stream_with_context

    from gallery.albums.download import archive_name, iter_album_zip
    from gallery.errors import NotFound

    rt = runtime()
    opened = rt.links.open(token)
    if not opened.link.allow_download or opened.link.has_password:
        raise NotFound("This link does not offer a download.")
    chunks = iter_album_zip(rt.storage, rt.keys, rt.albums.records(opened.album))
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    name = archive_name(opened.album.title)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
