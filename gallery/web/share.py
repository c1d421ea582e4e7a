"""Share links: the pages under ``/s/<token>`` that open one album to whoever holds it,
and the pages where an album's owner (or an admin) makes and revokes its links.

A link is a visitor identity of its own. Every request under ``/s/<token>``
opens the link again (:meth:`gallery.albums.links.Links.open`: unknown is a
``404``; revoked, expired or album deleted is a ``410``), then checks what it
asks for against the link: the image must be in the link's album, an original
needs ``allow_download``, and a link with a password needs this browser to have
typed it (the grant is kept in the session). Nothing here reaches an image
through the gallery's own pages or media URLs, so holding a link opens nothing
else, in a public or a private gallery alike.

Pages under a link have their own frame (``templates/share/base.html``: no site
navigation, ``noindex``), are sent with ``Referrer-Policy: no-referrer`` (the
token is in the address), and their media with ``Cache-Control: private,
no-cache``, so a revoke is honoured by every cache at the next look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import BooleanField, DateField, HiddenField, PasswordField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from gallery.albums.download import archive_name, iter_album_zip
from gallery.albums.links import Opened
from gallery.albums.model import (
    MAX_LINK_LABEL,
    MAX_LINK_PASSWORD,
    Album,
    ShareLink,
    Usage,
    link_id_of,
)
from gallery.errors import BadRequest, Forbidden, GalleryError, Gone, NotFound, TooManyAttempts
from gallery.images.results import Actor, Media
from gallery.web.auth import login_manager
from gallery.web.context import actor, runtime, safe_next
from gallery.web.errors import error_response, public_message, wants_json
from gallery.web.media import _serve as serve_media
from gallery.web.params import whole_number
from gallery.web.share_view import (
    NEUTRAL_TITLE,
    LinkView,
    cover_of,
    date_span,
    open_graph,
    photos,
    wait_text,
)
from gallery.web.views import label, site_url

log = logging.getLogger(__name__)

bp = Blueprint("share", __name__)

#: Where this browser's password grants are kept in its (signed) session: link ids.
GRANTS = "links"
#: Grants a session keeps; the oldest is forgotten first (its link asks again).
MAX_GRANTS = 20
#: How media under a link may be cached: only by the browser, and checked again each time.
MEDIA_CACHE = "private, no-cache"


class LinkClosed(Gone):
    """A link that no longer opens; ``reason`` is ``revoked``, ``expired`` or ``deleted``
    (its album), so its page can say which."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# -- opening a link -------------------------------------------------------------------


def _open(token: str) -> Opened:
    """The link ``token`` opens, and its album.

    Raises:
        NotFound: no link has this token.
        LinkClosed: it was revoked, has expired, or its album was deleted.
    """
    rt = runtime()
    try:
        return rt.links.open(token)
    except Gone as err:
        raise LinkClosed(err.message, _why_closed(token)) from None


def _why_closed(token: str) -> str:
    """Why the link of ``token`` (known to be closed) no longer opens."""
    rt = runtime()
    try:
        link = rt.links.get(link_id_of(token) or "")
    except GalleryError:
        return "deleted"
    return link.closed(rt.links.now()) or "deleted"


def _grants() -> list[str]:
    found = session.get(GRANTS)
    return [g for g in found if isinstance(g, str)] if isinstance(found, list) else []


def _granted(link: ShareLink) -> bool:
    """Whether this browser may see what the link opens (typed its password, if it has one)."""
    return not link.has_password or link.id in _grants()


def _grant(link: ShareLink) -> None:
    """Remember in this browser's session that it typed the link's password."""
    kept = [g for g in _grants() if g != link.id]
    session[GRANTS] = [*kept, link.id][-MAX_GRANTS:]


def _unlocked(token: str) -> Opened:
    """The link, when this browser may see what it opens.

    Raises:
        NotFound: unknown link, or its password was not typed here (nothing is served before).
        LinkClosed: see :func:`_open`.
    """
    opened = _open(token)
    if not _granted(opened.link):
        raise NotFound("There is nothing here.")
    return opened


def _in_album(opened: Opened, image_id: str) -> None:
    """Raises: NotFound: the image is not in the link's album."""
    if not opened.album.has(image_id):
        raise NotFound("That image is not in this album.")


def _count_view(link: ShareLink) -> None:
    """Count a page view of the link (not its media, not a ``HEAD``)."""
    if request.method == "GET":
        runtime().links.note_view(link)


class UnlockForm(FlaskForm):
    password = PasswordField("Password", validators=[
        DataRequired("Type the password."), Length(max=MAX_LINK_PASSWORD)])
    next = HiddenField()


def _password_page(opened: Opened, form: UnlockForm, status: int,
                   message: str | None = None) -> tuple[str, int]:
    """The password form, and nothing of the album (no title, no pictures, no facts)."""
    token = opened.link.token
    return render_template(
        "share/password.html", form=form, token=token, message=message,
        og=open_graph(opened, site_url("share.page", token=token), title=NEUTRAL_TITLE,
                       description=""),
    ), status


def _after_unlock(token: str, target: str | None) -> str:
    """Where to go once the password is typed: the page asked for, if it is the link's."""
    home = url_for("share.page", token=token)
    target = safe_next(target, home)
    return target if target.startswith(home + "/images/") else home


# -- the pages of a link --------------------------------------------------------------------


@bp.get("/s/<token>")
def page(token: str):
    """The album of a link: its grid (with a lightbox), page by page; or the password form.

    Raises:
        NotFound: unknown link, or no such page.
        LinkClosed: the link was revoked, has expired, or its album was deleted.
    """
    rt = runtime()
    opened = _open(token)
    if not _granted(opened.link):
        return _password_page(opened, UnlockForm(formdata=None), 200)
    number = whole_number(request.args, "page", 1, 1, 10**9, "The page number")
    album_page = rt.albums.page(opened.album, number, rt.settings["page_size"])
    records = rt.albums.records(opened.album)
    _count_view(opened.link)
    cover = cover_of(opened, album_page.images)
    return render_template(
        "share/album.html", link=opened.link, album=opened.album, page=album_page,
        view=LinkView(opened.link), span=date_span(opened, records),
        total_bytes=sum(r.size for r in records),
        og=open_graph(opened, site_url("share.page", token=token), title=opened.album.title,
                       description=opened.album.description or photos(album_page.total),
                       picture=cover),
    )


@bp.post("/s/<token>")
def unlock(token: str):
    """The password form, sent: a right password opens the link in this browser.

    Wrong passwords are counted as wrong sign-ins are, per link and address.

    Raises:
        TooManyAttempts: too many wrong passwords for this link from here lately.
    """
    rt = runtime()
    opened = _open(token)
    link = opened.link
    form = UnlockForm()
    if _granted(link):
        return redirect(_after_unlock(token, form.next.data), 303)
    if not form.validate():
        return _password_page(opened, form, 400)
    try:
        right = rt.links.check_password(link, form.password.data or "",
                                        request.remote_addr or "unknown")
    except TooManyAttempts as err:
        raise TooManyAttempts(
            f"Too many wrong passwords for this link; try again in {wait_text(err.retry_after)}.",
            retry_after=err.retry_after) from None
    if not right:
        return _password_page(opened, form, 401, "That password is not right.")
    _grant(link)
    return redirect(_after_unlock(token, form.next.data), 303)


@bp.get("/s/<token>/images/<image_id>")
def image(token: str, image_id: str):
    """One image of the link's album, with the previous and next ones of the album
    (or the password form, which leads back here).

    Raises:
        NotFound: unknown link, or the image is not in its album.
        LinkClosed: see :func:`page`.
    """
    rt = runtime()
    opened = _open(token)
    if not _granted(opened.link):
        form = UnlockForm(formdata=None, next=request.path)
        return _password_page(opened, form, 200)
    _in_album(opened, image_id)
    before, after, position = rt.albums.neighbours(opened.album, image_id)
    shown = rt.images.get(image_id)
    _count_view(opened.link)
    per_page = rt.settings["page_size"]
    return render_template(
        "share/image.html", link=opened.link, album=opened.album, image=shown,
        view=LinkView(opened.link), before=before, after=after, position=position,
        total=len(rt.albums.records(opened.album)), album_page=(position - 1) // per_page + 1,
        og=open_graph(opened, site_url("share.image", token=token, image_id=image_id),
                       title=label(shown, opened.link.show_details), picture=shown,
                       description=shown.get("description") or f"From “{opened.album.title}”"),
    )


@bp.get("/s/<token>/media/<image_id>/<variant>")
def variant(token: str, image_id: str, variant: str) -> Response:
    """A thumbnail of an image of the link's album.

    Raises:
        NotFound: unknown link, password not typed, image not in the album, no such thumbnail.
        LinkClosed: see :func:`page`.
    """
    opened = _unlocked(token)
    _in_album(opened, image_id)
    return _serve(runtime().images.media(image_id, variant))


@bp.get("/s/<token>/media/<image_id>")
def original(token: str, image_id: str) -> Response:
    """The original of an image of the link's album, where the link allows downloads.

    Raises:
        NotFound: as :func:`variant`, or the link does not allow downloads.
        LinkClosed: see :func:`page`.
    """
    opened = _unlocked(token)
    if not opened.link.allow_download:
        raise NotFound("This link does not offer originals.")
    _in_album(opened, image_id)
    return _serve(runtime().images.media(image_id), attachment=request.args.get("download") == "1")


def _serve(found: Media, attachment: bool = False) -> Response:
    """Media as /media serves it, but cached only by the browser and checked each time."""
    response = serve_media(found, attachment=attachment)
    response.headers["Cache-Control"] = MEDIA_CACHE
    return response


@bp.get("/s/<token>/download")
def download(token: str) -> Response:
    """The album of a link as one zip, where the link allows downloads (after its password).

    Raises:
        NotFound: unknown link, password not typed, or the link does not allow downloads.
        LinkClosed: see :func:`page`.
    """
    rt = runtime()
    opened = _unlocked(token)
    if not opened.link.allow_download:
        raise NotFound("This link does not offer a download.")
    chunks = iter_album_zip(rt.storage, rt.keys, rt.albums.records(opened.album))
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    name = archive_name(opened.album.title)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- headers and errors under a link ------------------------------------------------------


def _under_link() -> bool:
    return request.path.startswith("/s/")


@bp.after_request
def share_headers(response: Response) -> Response:
    """Pages under a link: no referrer (the token is in the address), no indexing, no
    cache; the managers' pages list links, so no cache keeps them either."""
    if _under_link():
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # Media and the zip say how they may be cached; pages are never kept.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(err: Exception, status: int, code: str, message: str,
                headers: dict[str, str] | None = None) -> Response:
    """An error under a link, in the link's own frame (nothing of the site); elsewhere,
    and for JSON clients, the site's error response."""
    if not _under_link() or wants_json():
        return error_response(status, code, message, headers)
    token = (request.view_args or {}).get("token")
    try:
        page = render_template("share/error.html", status=status, message=message,
                               reason=getattr(err, "reason", None), token=token)
    except Exception:  # the page could not be made: the plain one will do
        log.exception("Could not render the share error page")
        return error_response(status, code, message, headers)
    response = Response(page, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(GalleryError)
def _gallery_error(err: GalleryError) -> Response:
    if err.status >= 500:
        log.warning("%s: %s", type(err).__name__, err.message)
    return _error_page(err, err.status, err.code, public_message(err), err.headers())


@bp.errorhandler(CSRFError)
def _csrf_error(err: CSRFError) -> Response:
    return _error_page(err, 400, "csrf_failed",
                       "The form expired or was sent from elsewhere; reload the page and try again.")


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    message = {404: "There is nothing here.", 405: "That method is not allowed here."}.get(
        status, err.description or "Request failed.")
    response = _error_page(err, status, "not_found" if status == 404 else "http_error", message)
    allow = err.get_response().headers.get("Allow")
    if status == 405 and allow:
        response.headers["Allow"] = allow
    return response


@bp.errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    log.exception("Unexpected error on %s %s", request.method, request.path)
    return _error_page(err, 500, "internal_error", GalleryError.default_message)


# -- managing links -------------------------------------------------------------------------


class LinkForm(FlaskForm):
    """A new link: every option off unless ticked."""

    label = StringField("Label", validators=[Length(max=MAX_LINK_LABEL)])
    password = PasswordField("Password", validators=[Length(max=MAX_LINK_PASSWORD)])
    expires_on = DateField("Expires on", validators=[Optional()])
    expires_time = TimeField("at", validators=[Optional()])
    #: Minutes to add to the typed time to get UTC (the browser's offset; 0 without JavaScript).
    timezone_offset = HiddenField(default="0")
    allow_download = BooleanField("Allow downloads: the originals, one by one or as a zip")
    show_details = BooleanField("Show details: dates, and the camera where known")


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: for the revoke button."""


def expiry_of(form: LinkForm) -> str | None:
    """The expiry typed into ``form`` as a UTC time (``...Z``), or ``None`` for none.

    A date without a time means the end of that day; the time is the browser's
    local time when it sent its offset, else UTC.

    Raises:
        BadRequest: a time without a date, or a malformed offset.
    """
    day, at = form.expires_on.data, form.expires_time.data
    if day is None:
        if at is not None:
            raise BadRequest("Choose a date for the expiry, or clear its time.")
        return None
    raw = (form.timezone_offset.data or "0").strip()
    try:
        offset = int(raw)
    except ValueError:
        raise BadRequest("The time zone offset is not valid; reload the page.") from None
    if not -16 * 60 <= offset <= 16 * 60:
        raise BadRequest("The time zone offset is not valid; reload the page.")
    moment = datetime.combine(day, at or time(23, 59, 59)) + timedelta(minutes=offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One link as the managers' tables show it."""

    link: ShareLink
    url: str
    usage: Usage
    status: str
    album: Album | None


def _status(link: ShareLink, album: Album | None) -> str:
    if link.revoked_at is not None:
        return "revoked"
    if link.expired(runtime().links.now()):
        return "expired"
    return "active" if album is not None else "album deleted"


def _rows(links: list[ShareLink], albums: dict[str, Album]) -> list[LinkRow]:
    usages = runtime().links.usages(links)
    return [LinkRow(link, site_url("share.page", token=link.token), usages[link.id],
                    _status(link, albums.get(link.album)), albums.get(link.album))
            for link in links]


def _manager() -> Actor | None:
    """The signed-in user, or ``None`` (the caller sends them to sign in)."""
    return actor() if current_user.is_authenticated else None


@bp.route("/albums/<album_id>/links", methods=["GET", "POST"])
def manage(album_id: str):
    """The links of one album, for its owner and admins: make one, copy one, revoke one.

    A link is only made by sending the form (a POST with its CSRF token).

    Raises:
        NotFound, Forbidden: the album is unknown, or not the user's to share.
    """
    rt = runtime()
    who = _manager()
    if who is None:
        return login_manager.unauthorized()
    album = rt.albums.manageable(album_id, who)
    form = LinkForm() if request.method == "POST" else LinkForm(formdata=None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                link = rt.links.create(
                    album.id, actor=who, password=form.password.data or None,
                    expires_at=expiry_of(form), allow_download=bool(form.allow_download.data),
                    show_details=bool(form.show_details.data), label=form.label.data or "")
            except BadRequest as err:
                flash(err.message, "error")
                status = 400
            else:
                flash("Link created. Copy it from the list and send it to whoever it is for.",
                      "info")
                return redirect(url_for("share.manage", album_id=album.id,
                                        _anchor=f"link-{link.id}"), 303)
        else:
            status = 400
            flash(" ".join(f"{form[name].label.text}: {m}" for name, errors in form.errors.items()
                           for m in errors) or "The form is not valid.", "error")
    return render_template(
        "share/manage.html", album=album, form=form,
        rows=_rows(rt.links.for_album(album.id), {album.id: album}),
    ), status


@bp.get("/admin/links")
def admin_links():
    """Every share link of the gallery, with its album, for admins.

    Raises:
        Forbidden: the user is not an admin.
    """
    rt = runtime()
    who = _manager()
    if who is None:
        return login_manager.unauthorized()
    if not who.is_admin:
        raise Forbidden("Only admins can do that.")
    albums = {a.id: a for a in rt.albums.all()}
    return render_template("share/admin_links.html", rows=_rows(rt.links.all(), albums))


@bp.route("/albums/<album_id>/links/<link_id>/revoke", methods=["GET", "POST"])
def revoke(album_id: str, link_id: str):
    """Revoke a link after a confirmation: it stops working on every instance within seconds.

    The album's owner and admins may; an admin may also revoke the links of a
    deleted album.

    Raises:
        NotFound: unknown link, or not of this album.
        Forbidden: the album is not the user's.
    """
    rt = runtime()
    who = _manager()
    if who is None:
        return login_manager.unauthorized()
    link = rt.links.get(link_id)
    if link.album != album_id:
        raise NotFound("There is no such link.")
    try:
        album: Album | None = rt.albums.manageable(album_id, who)
    except NotFound:
        if not who.is_admin:
            raise
        album = None
    back = safe_next(request.values.get("next"), url_for("share.manage", album_id=album_id)
                     if album is not None else url_for("share.admin_links"))
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        rt.links.revoke(link.id, actor=who)
        name = f"the link “{link.label}”" if link.label else "the link"
        flash(f"Revoked {name}: it stops working everywhere within seconds.", "info")
        return redirect(back, 303)
    return render_template("share/revoke.html", link=link, album=album, form=form, back=back,
                           row=_rows([link], {album.id: album} if album else {})[0])
