"""Signing in and out, the first-run set-up page, API tokens and CSRF."""

from __future__ import annotations

import logging

import click
from flask import Blueprint, Flask, Response, flash, g, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from gallery import setup_code
from gallery.accounts import User
from gallery.documents import DocumentDamaged
from gallery.errors import Conflict, Forbidden, GalleryError, NotFound, NotSignedIn, StorageError
from gallery.runtime import Runtime
from gallery.web.context import runtime, safe_next

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()

#: Endpoints reachable before any account exists, and by anonymous visitors of a private gallery.
_OPEN_ENDPOINTS = {"auth.setup", "auth.login", "static", "pages.healthz",
                   # robots.txt, feeds, sitemap: they answer a private gallery's visitors themselves
                   "site.robots", "site.feed", "site.album_feed", "site.sitemap"}
#: What the holder of a share link reaches without signing in, in a private gallery too: the
#: link's own pages, media and zip, each of which checks the link (gallery/web/share.py). Never
#: the link managers' pages, nor /media, /albums or anything else of the gallery.
LINK_ENDPOINTS = frozenset({
    "share.page", "share.unlock", "share.image", "share.variant", "share.original",
    "share.download",
})
#: Endpoints that take uploads: an anonymous request is refused before its body is read.
UPLOAD_ENDPOINTS = {"api.create_image", "upload.form"}
#: Most bytes a request body may have before anybody signed in (sign-in and set-up forms).
ANONYMOUS_BODY_LIMIT = 64 * 1024
#: What the set-up throttle counts wrong codes under (no username looks like this).
SETUP_ACCOUNT = "(set-up code)"


class SessionUser(UserMixin):
    """A domain user as Flask-Login sees it.

    ``session_id`` is the sign-in session the browser holds (see
    :meth:`gallery.accounts.Accounts.load_session`); it is ``None`` for a
    request authenticated by an API token.
    """

    def __init__(self, user: User, session_id: str | None = None, via_token: bool = False) -> None:
        self.user = user
        self.session_id = session_id
        self.via_token = via_token

    def get_id(self) -> str | None:
        return self.session_id

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    @property
    def is_active(self) -> bool:
        return not self.user.disabled


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in")


class SetupForm(FlaskForm):
    code = StringField("Set-up code", validators=[DataRequired(), Length(max=64)])
    username = StringField("Admin username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=1024)])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: for POST buttons."""


class DisplayNameForm(FlaskForm):
    """The account page's display name (checked by :func:`gallery.accounts.clean_display_name`)."""

    display_name = StringField("Display name", validators=[Length(max=200)])


def _bearer_header() -> str | None:
    """The token of an ``Authorization: Bearer`` header (maybe empty), or ``None`` without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is ``Secure`` whenever the request came over https.

    Media of a public gallery is the same for everybody: no session is opened
    for it, so its responses do not vary by cookie and shared caches can keep
    them. Media under a share link (``/s/<token>/media/...``) does get its
    session: it holds the link's password grant. A request that carries an API token is signed in by that token alone:
    its cookies are not read and none are set.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def]
        if request.path.startswith("/media/") and app.extensions["gallery"].public:
            return self.make_null_session(app)
        if _bearer_header() is not None:
            return self.make_null_session(app)
        return super().open_session(app, request)


def announce_setup_code(rt: Runtime, *, when: str = "at start-up") -> bool:
    """While no account exists, make sure a set-up code exists and print it to the log.

    Returns whether it was printed. Storage trouble is logged, never raised: the
    set-up page makes the code itself when it is first needed.
    """
    try:
        if rt.accounts.count():
            setup_code.discard(rt.storage, rt.keys)
            return False
        code, _ = setup_code.ensure(rt.storage, rt.keys)
    except (StorageError, DocumentDamaged) as err:
        log.warning("Could not prepare the set-up code %s: %s", when, err.message)
        return False
    base = rt.settings["base_url"]
    where = f"{base}/setup" if base else "/setup"
    log.warning(
        "No account exists yet. To create the first admin, open %s in a browser and type this "
        "set-up code: %s (or run: flask --app app users create NAME --role admin)",
        where, setup_code.shown(code),
    )
    return True


def _under_flask_command() -> bool:
    """Whether the app is being built for a ``flask ...`` command (users create, doctor ...)."""
    return click.get_current_context(silent=True) is not None


def sign_in(user: User, remember: bool = False) -> None:
    """Open a new sign-in session for ``user`` and put it in this browser's cookies."""
    session_id = runtime().accounts.start_session(user.username)
    login_user(SessionUser(user, session_id), remember=remember)


def init_app(app: Flask) -> None:
    """Wire Flask-Login and CSRF protection into the app."""

    @app.after_request
    def secure_cookies(response: Response) -> Response:
        """Mark cookies set so far ``Secure`` when the request came over https.

        Registered before Flask-Login so that it runs after it (after-request
        hooks run in reverse) and sees the remember-me cookie; the session
        cookie is written later, by :class:`SessionInterface`.
        """
        if request.is_secure:
            cookies = response.headers.getlist("Set-Cookie")
            if cookies:
                response.headers.remove("Set-Cookie")
                for cookie in cookies:
                    if "; secure" not in cookie.lower():
                        cookie += "; Secure"
                    response.headers.add("Set-Cookie", cookie)
        return response

    app.session_interface = SessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    has_users = {"known": False}
    announced = {"done": False}
    if not _under_flask_command():
        announced["done"] = announce_setup_code(app.extensions["gallery"])

    @login_manager.user_loader
    def load_user(session_id: str) -> SessionUser | None:
        user = runtime().accounts.load_session(session_id)
        return SessionUser(user, session_id) if user else None

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.path.startswith("/api/"):
            raise NotSignedIn()
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def guard() -> Response | None:
        """Who is asking, before anything reads the body; then CSRF, set-up and the private gate.

        A request with ``Authorization: Bearer`` is signed in by that token
        alone (never by a cookie) and skips CSRF; an unknown token is a 401.
        In a private gallery, anonymous visitors reach only the open endpoints and
        the pages of share links (:data:`LINK_ENDPOINTS`).
        Anonymous uploads are refused before their bodies are read, and other
        anonymous bodies are capped at :data:`ANONYMOUS_BODY_LIMIT`.
        """
        token = _bearer_header()
        if token is not None:
            user = runtime().accounts.authenticate_token(token) if token else None
            if user is None:
                raise NotSignedIn("The API token is missing, unknown or revoked.")
            g._login_user = SessionUser(user, via_token=True)  # what Flask-Login reads
        elif request.method not in ("GET", "HEAD", "OPTIONS"):
            if not current_user.is_authenticated:
                if (request.endpoint or "") in UPLOAD_ENDPOINTS or request.path.startswith("/api/"):
                    return login_manager.unauthorized()  # every API change needs a sign-in
                request.max_content_length = ANONYMOUS_BODY_LIMIT
            csrf.protect()
        endpoint = request.endpoint or ""
        if endpoint in _OPEN_ENDPOINTS:
            return None
        if not has_users["known"]:
            if runtime().accounts.count() == 0:
                if not announced["done"]:
                    announced["done"] = announce_setup_code(runtime(), when="for the set-up page")
                if request.path.startswith("/api/"):
                    raise NotSignedIn("No account exists yet: open /setup to create the first admin.")
                return redirect(url_for("auth.setup"))
            has_users["known"] = True
        if not runtime().public and not current_user.is_authenticated:
            if endpoint in LINK_ENDPOINTS:
                return None  # a share link is its own identity: its views check it
            if endpoint.startswith("media."):
                raise NotFound()  # a private image does not exist for outsiders
            return login_manager.unauthorized()
        return None

    @app.context_processor
    def inject_user() -> dict:
        return {"public_gallery": runtime().public}


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        rt = runtime()
        address = request.remote_addr or "unknown"
        username = form.username.data.strip()
        attempt = rt.throttle.reserve(username, address)  # counted before the password is checked
        user = rt.accounts.authenticate(username, form.password.data)
        if user is None:
            flash("Wrong username or password.", "error")
            status = 401
        else:
            rt.throttle.succeeded(attempt)
            sign_in(user, remember=bool(form.remember.data))
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, next=target), status


@bp.post("/logout")
def logout():
    """End this browser's session everywhere (its remember cookie too), then forget it here."""
    if current_user.is_authenticated and current_user.session_id:
        runtime().accounts.end_session(current_user.session_id)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("pages.index"))


@bp.get("/account")
@login_required
def account():
    return _account_page()


def _account_page(name_form: DisplayNameForm | None = None, status: int = 200,
                  error: str | None = None) -> tuple[str, int]:
    user = current_user.user
    if name_form is None:
        name_form = DisplayNameForm(formdata=None, display_name=user.display_name)
    return render_template("account.html", user=user, form=ConfirmForm(), name_form=name_form,
                           name_error=error), status


@bp.post("/account/display-name")
@login_required
def set_display_name():
    """Set (or, left empty, remove) the signed-in user's display name.

    Raises:
        BadRequest: shown on the page with a 400: the name breaks the rules.
    """
    form = DisplayNameForm()
    if not form.validate():
        if form.csrf_token.errors:
            raise Forbidden("The form expired; reload the page and try again.")
        return _account_page(form, 400, "A display name can have at most 60 characters.")
    try:
        user = runtime().accounts.set_display_name(current_user.username,
                                                   form.display_name.data or "")
    except GalleryError as err:
        if err.status >= 500:
            raise
        return _account_page(form, err.status, err.message)
    runtime().audit.record(current_user.username, "user.display_name", current_user.username,
                           display_name=user.display_name)
    flash(f"Visitors now see you as “{user.display_name}”." if user.display_name
          else "Your display name is removed: visitors see no name on your images.", "info")
    return redirect(url_for("auth.account"))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session of the signed-in user, on every device (this one too)."""
    form = ConfirmForm()
    if not form.validate():
        raise Forbidden("The form expired; reload the page and try again.")
    ended = runtime().accounts.end_all_sessions(current_user.username)
    runtime().audit.record(current_user.username, "user.sign_out_everywhere",
                           current_user.username, sessions=ended)
    logout_user()
    flash(f"Signed out everywhere ({ended} session{'' if ended == 1 else 's'} ended).", "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    rt = runtime()
    if rt.accounts.count() > 0:
        flash("This gallery is already set up; sign in.", "info")
        return redirect(url_for("auth.login"))
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
        attempt = rt.throttle.reserve(SETUP_ACCOUNT, request.remote_addr or "unknown")
        expected, made = setup_code.ensure(rt.storage, rt.keys)
        if made:
            announce_setup_code(rt, when="for the set-up page")
        if not setup_code.matches(expected, form.code.data or ""):
            flash("That set-up code is not right. The server printed the code in its log "
                  "when it started; type it exactly.", "error")
            return _setup_page(form, 403)
        try:
            user = rt.accounts.create_first_admin(form.username.data.strip(), form.password.data)
        except (Conflict, Forbidden):
            flash("Someone else finished the set-up first; sign in.", "info")
            return redirect(url_for("auth.login"))
        except GalleryError as err:
            if err.status >= 500:
                raise
            flash(err.message, "error")
            status = err.status
        else:
            rt.throttle.succeeded(attempt)
            setup_code.discard(rt.storage, rt.keys)
            sign_in(user)
            flash(f"Welcome, {user.username}. Your gallery is ready: upload some images.", "info")
            return redirect(url_for("upload.form"))
    elif request.method == "POST":
        status = 400
    return _setup_page(form, status)


def _setup_page(form: SetupForm, status: int) -> tuple[str, int]:
    """The set-up page; the code typed is never sent back (it must not appear in any response)."""
    form.code.raw_data, form.code.data = None, ""
    return render_template("setup.html", form=form), status
