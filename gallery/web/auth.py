"""Signing in and out, the first-run set-up page, API tokens and CSRF."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from gallery.accounts import User
from gallery.errors import Conflict, Forbidden, GalleryError, NotFound, NotSignedIn
from gallery.web.context import runtime, safe_next

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()

#: Endpoints reachable before any account exists, and by anonymous visitors of a private gallery.
_OPEN_ENDPOINTS = {"auth.setup", "auth.login", "static", "pages.healthz"}


class SessionUser(UserMixin):
    """A domain user as Flask-Login sees it.

    The session id carries the user's ``session_version``, so changing the
    password, the role or disabling the account ends existing sessions.
    """

    def __init__(self, user: User, via_token: bool = False) -> None:
        self.user = user
        self.via_token = via_token

    def get_id(self) -> str:
        return self.user.session_id

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
    username = StringField("Admin username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=1024)])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is ``Secure`` whenever the request came over https.

    Media of a public gallery is the same for everybody: no session is opened
    for it, so its responses do not vary by cookie and shared caches can keep them.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def]
        if request.path.startswith("/media/") and app.extensions["gallery"].public:
            return self.make_null_session(app)
        return super().open_session(app, request)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


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

    @login_manager.user_loader
    def load_user(session_id: str) -> SessionUser | None:
        user = runtime().accounts.load_session(session_id)
        return SessionUser(user) if user else None

    @login_manager.request_loader
    def load_from_token(_request) -> SessionUser | None:
        token = _bearer_token()
        if not token:
            return None
        user = runtime().accounts.authenticate_token(token)
        return SessionUser(user, via_token=True) if user else None

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.path.startswith("/api/"):
            raise NotSignedIn()
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def guard() -> Response | None:
        """CSRF for cookie sessions, first-run set-up, and the private-gallery gate."""
        token = _bearer_token()
        if token is not None:
            if not current_user.is_authenticated:
                raise NotSignedIn("The API token is missing, unknown or revoked.")
        else:
            csrf.protect()
        endpoint = request.endpoint or ""
        if endpoint in _OPEN_ENDPOINTS:
            return None
        if not has_users["known"]:
            if runtime().accounts.count() == 0:
                if request.path.startswith("/api/"):
                    raise NotSignedIn("No account exists yet: open /setup to create the first admin.")
                return redirect(url_for("auth.setup"))
            has_users["known"] = True
        if not runtime().public and not current_user.is_authenticated:
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
        rt.throttle.check(username, address)
        user = rt.accounts.authenticate(username, form.password.data)
        if user is None:
            rt.throttle.record_failure(username, address)
            flash("Wrong username or password.", "error")
            status = 401
        else:
            rt.throttle.record_success(username, address)
            login_user(SessionUser(user), remember=bool(form.remember.data))
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, next=target), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("pages.index"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    rt = runtime()
    if rt.accounts.count() > 0:
        flash("This gallery is already set up; sign in.", "info")
        return redirect(url_for("auth.login"))
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
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
            login_user(SessionUser(user))
            flash(f"Welcome, {user.username}. Your gallery is ready: upload some images.", "info")
            return redirect(url_for("upload.form"))
    elif request.method == "POST":
        status = 400
    return render_template("setup.html", form=form), status
