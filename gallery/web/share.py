"""Share links: the pages under ``/s/<token>`` that open one album to whoever holds it."""

from __future__ import annotations

from flask import Blueprint, render_template

from gallery.web.context import runtime

bp = Blueprint("share", __name__, url_prefix="/s")


@bp.get("/<token>")
def page(token: str):
    opened = runtime().links.open(token)
    return render_template("share/page.html", link=opened.link, album=opened.album)
