"""Pages: the gallery grid, one image, editing and deleting, and the health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from gallery.documents import DocumentDamaged
from gallery.errors import BadRequest, StorageError
from gallery.images.search import SORT_LABELS, Search, parse_search
from gallery.units import human_size
from gallery.web import image_nav, views
from gallery.web.context import can_edit, require_actor, runtime
from gallery.web.meta import image_card
from gallery.web.params import whole_number
from gallery.web.site_pages import home_page, latest_card

bp = Blueprint("pages", __name__)

#: The policy of every HTML page: scripts and styles only from this site, no
#: inline script, nothing framed. Inline ``style`` attributes stay allowed
#: (``style-src-attr``) for the placeholder colour thumbnails show while loading.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

for _helper in (views.label, views.placeholder, views.srcset, views.tile_data,
                views.display_time, views.display_taken, views.variant_url):
    bp.add_app_template_global(_helper)
bp.add_app_template_global(human_size, "format_size")  # the macro human_size wraps it
bp.add_app_template_global(views.GRID_SIZES, "grid_sizes")
# the grid's layout (templates/grid.html): tile shapes, thumbnail sizes, month headings
for _helper in (views.tile_ratio, views.tile_sizes, views.tile_groups, views.default_grid_layout):
    bp.add_app_template_global(_helper)
bp.add_app_template_global(views.GalleryTiles(), "gallery_tiles")


@bp.after_app_request
def page_headers(response: Response) -> Response:
    """Give every HTML page (errors too) the content security policy, unless it set its own."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


class EditForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=5000)])


class TagForm(FlaskForm):
    """Add or remove one tag of an image (``action`` is ``add`` or ``remove``)."""

    tag = StringField("Tag", validators=[Length(max=200)])
    action = StringField("Action")


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for POST buttons."""


def _page_number() -> int:
    return whole_number(request.args, "page", 1, 1, 10**9, "The page number")


@bp.get("/")
def index():
    """The home page, as the site's settings choose (the latest images, the albums or one
    album); with a search (``q``, ``tag``, ``sort``) or a page number, always the images."""
    if not request.args:
        home = home_page()
        if home is not None:
            return home
    return _grid(parse_search(request.args), home=True)


@bp.get("/images")
def latest():
    """Every image, newest first, whatever the home page shows (searches as ``/`` does)."""
    return _grid(parse_search(request.args))


@bp.get("/tags/<path:tag>")
def tag(tag: str):
    """The images with one tag (``q`` and ``sort`` narrow and order them as on the grid)."""
    return _grid(parse_search({**request.args.to_dict(), "tag": tag}))


def _grid(search: Search, home: bool = False) -> str:
    rt = runtime()
    per_page = rt.settings["page_size"]
    page = rt.images.search_page(search, _page_number(), per_page, cameras=views.camera_scope())
    return render_template("index.html", page=page, offset=(page.number - 1) * per_page,
                           og=latest_card(page.images) if home and search.plain else None,
                           search=search, search_args=search.to_args(), sorts=SORT_LABELS,
                           # the plain grid reads only the shards it shows: no suggestions there
                           known_tags=[] if search.plain else rt.images.tags())


@bp.get("/images/<image_id>")
def image(image_id: str):
    rt = runtime()
    record = rt.images.get(image_id)
    form = EditForm(data={"title": record.get("title", ""), "description": record.get("description", "")})
    editable = can_edit(record)
    return render_template(
        "image.html", image=record, form=form, confirm=ConfirmForm(), editable=editable,
        known_tags=rt.images.tags() if editable else [],
        show_details=editable or views.visitors_see_details(), og=image_card(record),
        steps=image_nav.steps(record),
    )


@bp.post("/images/<image_id>/tags")
def tags(image_id: str):
    """Add one tag to an image, or remove one (the owner or an admin).

    Raises:
        NotSignedIn, Forbidden, NotFound: as editing does.
        BadRequest: the form is not valid, or the tag breaks the rules of tags.
    """
    who = require_actor()
    form = TagForm()
    if not form.validate():
        messages = [m for errors in form.errors.values() for m in errors]
        raise BadRequest(" ".join(messages) or "The form is not valid.")
    rt = runtime()
    current = list(rt.images.get(image_id).get("tags", []))
    wanted = (form.tag.data or "").strip()
    if not wanted:
        raise BadRequest("Type the tag to add.")
    if form.action.data == "remove":
        key = wanted.casefold()
        rt.images.update(image_id, {"tags": [t for t in current if t.casefold() != key]},
                         actor=who)
        flash(f"Removed the tag “{wanted}”.", "info")
    elif form.action.data == "add":
        rt.images.update(image_id, {"tags": [*current, wanted]}, actor=who)
        flash(f"Tagged “{' '.join(wanted.split())}”.", "info")
    else:
        raise BadRequest("Choose to add or to remove a tag.")
    return redirect(url_for("pages.image", image_id=image_id))


@bp.post("/images/<image_id>/edit")
def edit(image_id: str):
    who = require_actor()
    form = EditForm()
    if not form.validate():
        messages = [m for errors in form.errors.values() for m in errors]
        raise BadRequest(" ".join(messages) or "The form is not valid.")
    runtime().images.update(
        image_id,
        {"title": form.title.data or "", "description": form.description.data or ""},
        actor=who,
    )
    flash("Saved.", "info")
    return redirect(url_for("pages.image", image_id=image_id))


@bp.route("/images/<image_id>/delete", methods=["GET", "POST"])
def delete(image_id: str):
    who = require_actor()
    service = runtime().images
    record = service.get(image_id)
    if not can_edit(record):
        abort(403)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        service.delete(image_id, actor=who)
        if service.trash_days:
            from gallery.web.trash import offer_undo

            offer_undo([record])  # "Moved to the trash — Undo" on the next page
        else:
            flash(f"Deleted “{record.get('title') or record['filename']}”.", "info")
        return redirect(url_for("pages.index"))
    return render_template("delete.html", image=record, form=form, trash_days=service.trash_days)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when pages can be served; 503 with ``Retry-After`` naming the failing parts.

    Anonymous visitors of a private gallery learn only the status.
    """
    from gallery.operations.doctor import health

    rt = runtime()
    report = health(rt)
    response = _health(report.to_json(rt.storage.scheme))
    response.headers["Cache-Control"] = "no-store"
    if report.ok:
        return response, 200
    response.headers["Retry-After"] = str(report.retry_after)
    return response, 503


def _health(body: dict) -> Response:
    """``body``, or only its status for an anonymous visitor of a private gallery."""
    if not runtime().public:
        try:
            signed_in = current_user.is_authenticated
        except (StorageError, DocumentDamaged):  # the accounts cannot be read: a stranger
            signed_in = False
        if not signed_in:
            body = {"status": body["status"]}
    return jsonify(body)
