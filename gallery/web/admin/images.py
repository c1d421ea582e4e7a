"""Admin: the image table -- sort, filter, page, edit in place, delete many at once,
add many to an album or take them out, and add or remove tags on many."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from gallery.catalog import table as catalog
from gallery.errors import BadRequest
from gallery.web.admin.common import ConfirmForm, bp
from gallery.web.albums import change_album
from gallery.web.context import require_admin, runtime, safe_next
from gallery.web.errors import wants_json
from gallery.web.pages import EditForm
from gallery.web.params import selected_ids
from gallery.web.tagging import apply_tag_form
from gallery.web.views import image_json


def _back() -> str:
    """Where to return after an action: the table state it was started from."""
    return safe_next(request.values.get("back"), url_for("admin.images"))


@bp.get("/images")
def images():
    query = catalog.parse_query(request.args)
    view = runtime().images.view()
    page = catalog.search(view.rows(), query)
    rows = [record.public() for record in (view.get(r.id) for r in page.rows) if record]
    return render_template(
        "admin/images.html",
        page=page,
        rows=rows,
        query=page.query,
        here=url_for("admin.images", **page.query.to_args()),
        per_page_choices=catalog.PER_PAGE_CHOICES,
        albums=runtime().albums.all(),
        known_tags=runtime().images.tags(),
    )


def _selection() -> list[dict]:
    """The selected images that still exist, in the order given.

    Raises:
        BadRequest: nothing selected, a malformed id, or too many.
    """
    ids = selected_ids(request.values.getlist("ids"))
    view = runtime().images.view()
    return [record.public() for record in (view.get(i) for i in ids) if record]


@bp.post("/images/bulk")
def bulk_images():
    """The table's selection form: "Delete selected…" asks first (the confirmation page);
    "Add to album" and "Remove from album" change the album chosen and come back, and so
    do "Add tags" and "Remove tags" (``action`` ``add_tags`` or ``remove_tags``, ``tags``: see
    :mod:`gallery.web.tagging`).

    Raises:
        BadRequest: nothing or too much selected, no album chosen, an unknown action, no tag
            or a tag that breaks the rules of tags, or an image that would have too many.
        NotFound: the album, or an image to add, is unknown. TooLarge: more than 1000 images.
    """
    action = request.form.get("action", "")
    if action in ("add_tags", "remove_tags"):
        message, _ = apply_tag_form(require_admin(), action.removesuffix("_tags"))
        flash(message, "info")
        return redirect(_back())
    if action == "delete":
        selected = _selection()
        if not selected:
            flash("The selected images are already gone.", "info")
            return redirect(_back())
        return render_template("admin/images_delete.html", images=selected, form=ConfirmForm(),
                               back=_back(), trash_days=runtime().images.trash_days)
    if action not in ("add", "remove"):
        raise BadRequest("Choose Delete selected…, Add to album, Remove from album, Add tags "
                         "or Remove tags.")
    album_id = request.form.get("album", "")
    if not album_id:
        raise BadRequest("Choose an album first.")
    ids = request.form.getlist("ids")
    if not ids:
        raise BadRequest("Select at least one image first.")
    _, message = change_album(album_id, require_admin(), action, ids)
    flash(message, "info")
    return redirect(_back())


@bp.route("/images/delete", methods=["GET", "POST"])
def delete_images():
    selected = _selection()
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        asked = [image["id"] for image in selected]
        service = runtime().images
        deleted = service.delete_many(asked, actor=require_admin()) if asked else []
        gone = len(set(request.values.getlist("ids"))) - len(deleted)
        if service.trash_days and deleted:
            from gallery.web.trash import offer_undo

            offer_undo([image for image in selected if image["id"] in set(deleted)])
            message = ""
        else:
            message = f"Deleted {len(deleted)} image{'' if len(deleted) == 1 else 's'}."
        if gone > 0:
            message += f" {gone} {'was' if gone == 1 else 'were'} already gone."
        if message:
            flash(message.strip(), "info")
        return redirect(_back())
    if not selected:
        flash("The selected images are already gone.", "info")
        return redirect(_back())
    return render_template("admin/images_delete.html", images=selected, form=form, back=_back(),
                           trash_days=runtime().images.trash_days)


@bp.post("/images/<image_id>/edit")
def edit_image(image_id: str):
    """Save a row's title and description; JSON for the in-place editor, else back to the table."""
    form = EditForm()
    if not form.validate():
        messages = [m for errors in form.errors.values() for m in errors]
        raise BadRequest(" ".join(messages) or "The form is not valid.")
    record = runtime().images.update(
        image_id,
        {"title": form.title.data or "", "description": form.description.data or ""},
        actor=require_admin(),
    )
    if wants_json():
        return jsonify(image_json(record))
    flash(f"Saved “{record['title'] or record['filename']}”.", "info")
    return redirect(_back())
