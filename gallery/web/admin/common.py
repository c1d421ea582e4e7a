"""What every admin view shares: the blueprint, its gate, forms and the audit helper."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash
from flask_login import current_user
from flask_wtf import FlaskForm

from gallery.errors import GalleryError
from gallery.web.auth import login_manager
from gallery.web.context import require_admin, runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: for confirmation buttons."""


@bp.before_request
def only_admins() -> Response | None:
    """Send anonymous visitors to sign in; refuse everyone but admins (403)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require_admin()
    return None


@bp.after_request
def never_cache(response: Response) -> Response:
    """Admin pages show accounts, tokens and private images: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def me() -> str:
    """The signed-in admin's username."""
    return current_user.username


def audit(action: str, target: str = "", **details: Any) -> None:
    """Write an audit entry for what the signed-in admin just did."""
    runtime().audit.record(me(), action, target, **details)


def form_errors(form: FlaskForm) -> str:
    """A form's validation errors as one message, each prefixed by its field's label."""
    messages = [f"{form[name].label.text}: {m}" for name, errors in form.errors.items() for m in errors]
    return " ".join(messages) or "The form is not valid."


def flash_refusal(err: GalleryError) -> int:
    """Show a refused change (bad input, last admin, ...) as a message; return its status.

    Storage failures are not refusals: they propagate to the error page.
    """
    if err.status >= 500:
        raise err
    flash(err.message, "error")
    return err.status
