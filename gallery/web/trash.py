"""The trash page: images deleted in the last ``GALLERY_TRASH_DAYS`` days, to restore or to
delete for good; the "Undo" after a delete; the thumbnails only their owner and admins see.

Signed-in users see the images they uploaded; admins see everyone's, with who
deleted them. Opening the page as an admin deletes for good what was kept the
whole keep period (``gallery cleanup`` does it too).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, BinaryIO

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_wtf import FlaskForm

from gallery.clock import format_timestamp, parse_timestamp
from gallery.errors import GalleryError, NotFound
from gallery.images.results import Actor, Media
from gallery.images.trash import TrashEntry
from gallery.keys import is_image_id
from gallery.web.context import actor, require_actor, runtime, safe_next
from gallery.web.params import MAX_SELECTION, selected_ids
from gallery.web.views import label

bp = Blueprint("trash", __name__)

#: The session key of the "Undo" offered after a delete.
UNDO = "trash_undo"
#: Thumbnails the trash page uses.
THUMBNAIL = "sm"


class TrashForm(FlaskForm):
    """Nothing but the CSRF token: the page's buttons."""


# -- words ---------------------------------------------------------------------------------


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def ago(stamp: str, now: datetime) -> str:
    """How long ago a stored time was, in words: ``just now``, ``5 minutes ago``, ``3 days ago``."""
    seconds = max(0, int((now - parse_timestamp(stamp)).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{plural(seconds // 60, 'minute')} ago"
    if seconds < 86400:
        return f"{plural(seconds // 3600, 'hour')} ago"
    return f"{plural(seconds // 86400, 'day')} ago"


def day(moment: datetime) -> str:
    """A date as people write it: ``31 Dec 2026``."""
    return f"{moment.day} {moment:%b %Y}"


def _describe(entry: TrashEntry, days: int, now: datetime) -> dict[str, Any]:
    """What the page and the API show of one image in the trash."""
    image = entry.record.public()
    purge_at = entry.purge_at(days)
    return {
        "id": entry.id,
        "image": image,
        "title": label(image),
        "trashed_at": entry.trashed_at,
        "trashed_by": entry.trashed_by,
        "purge_at": format_timestamp(purge_at),
        "ago": ago(entry.trashed_at, now),
        "purge_day": day(purge_at),
        "due": entry.expired(days, now),
        "bytes": entry.bytes,
        "thumbnail": url_for("trash.thumbnail", image_id=entry.id, variant=THUMBNAIL)
        if entry.record.variant(THUMBNAIL) else None,
    }


def describe(entries: Iterable[TrashEntry]) -> list[dict[str, Any]]:
    """:func:`_describe` for several, against the gallery's clock and keep period."""
    images = runtime().images
    now = images.now()
    return [_describe(entry, images.trash_days, now) for entry in entries]


# -- the page -------------------------------------------------------------------------------


@bp.get("/trash")
def index():
    """The images the signed-in user may restore, the most recently deleted first."""
    who = require_actor()
    rt = runtime()
    if who.is_admin:
        purged = rt.images.purge_expired(actor=who)
        if purged:
            flash(f"{plural(len(purged), 'image')} kept for {rt.images.trash_days} days "
                  "were deleted for good.", "info")
    entries = describe(rt.images.trash(actor=who))
    return render_template("trash.html", entries=entries, form=TrashForm(),
                           days=rt.images.trash_days, admin=who.is_admin,
                           total_bytes=sum(e["bytes"] for e in entries))


def _asked() -> list[str]:
    """The images a button names: its own (``one``), else those ticked (``ids``).

    Raises:
        BadRequest: none, a malformed id, or too many.
    """
    one = request.form.get("one")
    return selected_ids([one] if one else request.form.getlist("ids"))


def _back() -> str:
    return safe_next(request.form.get("next"), url_for("trash.index"))


@bp.post("/trash/restore")
def restore() -> Response:
    """Put the selected images back where they were (the "Undo" after a delete too)."""
    who = require_actor()
    restored, refused = runtime().images.restore_many(_asked(), actor=who)
    if len(restored) == 1:
        flash(f"Restored “{label(restored[0])}”.", "info")
    elif restored:
        flash(f"Restored {plural(len(restored), 'image')}.", "info")
    for _, why in refused:
        flash(why, "error")
    return redirect(_back(), 303)


@bp.post("/trash/delete")
def delete():
    """Ask, then delete the selected images for good (``confirmed``)."""
    who = require_actor()
    rt = runtime()
    ids = _asked()
    if request.form.get("confirmed") != "yes":
        found = [e for e in (rt.images.trash_entry(i, actor=who) for i in ids) if e]
        if not found:
            flash("Those images are not in the trash any more.", "info")
            return redirect(url_for("trash.index"), 303)
        return render_template("trash_confirm.html", entries=describe(found), form=TrashForm(),
                               action=url_for("trash.delete"), empty=False)
    gone = rt.images.purge(ids, actor=who)
    flash(f"Deleted {plural(len(gone), 'image')} for good.", "info")
    return redirect(url_for("trash.index"), 303)


@bp.route("/trash/empty", methods=["GET", "POST"])
def empty():
    """GET: what emptying the trash deletes for good; POST: delete it."""
    who = require_actor()
    rt = runtime()
    form = TrashForm()
    if request.method == "POST" and form.validate():
        gone = rt.images.empty_trash(actor=who)
        flash(f"The trash is empty: {plural(len(gone), 'image')} deleted for good.", "info")
        return redirect(url_for("trash.index"), 303)
    entries = describe(rt.images.trash(actor=who))
    if not entries:
        flash("The trash is empty already.", "info")
        return redirect(url_for("trash.index"))
    return render_template("trash_confirm.html", entries=entries, form=form,
                           action=url_for("trash.empty"), empty=True)


@bp.get("/trash/<image_id>/<variant>")
def thumbnail(image_id: str, variant: str) -> Response:
    """A thumbnail of an image in the trash, for those who may restore it (``404`` else)."""
    who = actor()
    rt = runtime()
    entry = rt.images.trash_entry(image_id, actor=who) if who is not None else None
    found = entry.record.variant(variant) if entry is not None else None
    if entry is None or found is None:
        raise NotFound("There is no such image in the trash.")
    media = Media(rt.keys.variant(image_id, variant), "image/webp", found.size,
                  f'"{found.sha256}"', f"{entry.record.filename.rsplit('.', 1)[0]}-{variant}.webp")
    etag = found.sha256
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
    else:
        response = send_file(_open(media), mimetype="image/webp", etag=etag, conditional=False,
                             download_name=media.filename)
        response.content_length = found.size
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _open(media: Media) -> BinaryIO:
    """The thumbnail's bytes (never through the media cache: the image is not in the gallery).

    Raises:
        NotFound: it is gone. StorageUnavailable: the storage did not answer.
    """
    images = runtime().images
    path = images.local_path(media)
    if path is None:
        return images.open_media(media)
    try:
        return open(path, "rb")
    except OSError:
        raise NotFound("That image is gone.") from None


# -- after a delete: Undo -----------------------------------------------------------------


def offer_undo(images: list[dict[str, Any]]) -> None:
    """After images were moved to the trash: the next page says so, with an Undo button."""
    if not images:
        return
    text = (f"Moved “{label(images[0])}” to the trash." if len(images) == 1
            else f"Moved {plural(len(images), 'image')} to the trash.")
    session[UNDO] = {"ids": [i["id"] for i in images][:MAX_SELECTION], "text": text}


def pending_undo() -> dict[str, Any] | None:
    """The Undo to show on this page (once), or ``None``."""
    undo = session.pop(UNDO, None) if UNDO in session else None
    if not isinstance(undo, dict) or not isinstance(undo.get("ids"), list):
        return None
    return undo


# -- the audit log ----------------------------------------------------------------------------


def audit_images(entries: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """For audit entries about one image: its title and a thumbnail where it still exists
    or is in the trash (``{id: {"title", "thumbnail", "where"}}``; purged images are left
    out, their entry keeps the title it recorded)."""
    ids = [e.target for e in entries if e.action.startswith("image.") and is_image_id(e.target)]
    if not ids:
        return {}
    rt = runtime()
    view = rt.images.view()
    found: dict[str, dict[str, Any]] = {}
    trashed = None
    for image_id in dict.fromkeys(ids):
        record = view.get(image_id)
        if record is not None:
            image = record.public()
            found[image_id] = {"title": label(image), "where": "gallery",
                               "url": url_for("pages.image", image_id=image_id),
                               "thumbnail": url_for("media.variant", image_id=image_id,
                                                    variant=THUMBNAIL)
                               if record.variant(THUMBNAIL) else None}
            continue
        trashed = rt.images.trash_ids() if trashed is None else trashed
        try:
            entry = rt.images.trash_entry(image_id) if image_id in trashed else None
        except GalleryError:  # a damaged trash document: the entry keeps its own title
            entry = None
        if entry is not None:
            found[image_id] = {"title": label(entry.record.public()), "where": "trash",
                               "url": url_for("trash.index"),
                               "thumbnail": url_for("trash.thumbnail", image_id=image_id,
                                                    variant=THUMBNAIL)
                               if entry.record.variant(THUMBNAIL) else None}
    return found


def trash_count(who: Actor | None = None) -> int:
    """How many images the signed-in user (or ``who``) has in the trash."""
    who = who or actor()
    return len(runtime().images.trash(actor=who)) if who is not None else 0


bp.add_app_template_global(pending_undo, "trash_undo")
bp.add_app_template_global(audit_images)
bp.add_app_template_global(trash_count)
bp.add_app_template_global(lambda: runtime().images.trash_days, "trash_days")
