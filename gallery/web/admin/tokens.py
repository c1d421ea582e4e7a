"""Admin: API tokens of every user -- list, create (secret shown once), revoke."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length

from gallery.accounts import MAX_LABEL_LENGTH, ApiToken
from gallery.errors import GalleryError, NotFound
from gallery.web.admin.common import ConfirmForm, audit, bp, flash_refusal, form_errors
from gallery.web.context import runtime


class CreateTokenForm(FlaskForm):
    username = SelectField("For user", choices=[], validate_choice=False)
    label = StringField("Label (what it is for)", validators=[Length(max=MAX_LABEL_LENGTH)])


def _create_form(submitted: bool) -> CreateTokenForm:
    """The create form, filled from the request when it was ``submitted``, with every user to pick."""
    form = CreateTokenForm() if submitted else CreateTokenForm(formdata=None)
    form.username.choices = [u.username for u in runtime().accounts.list_users()]
    return form


def _token(token_id: str) -> ApiToken:
    """The token, or a 404."""
    for token in runtime().accounts.list_tokens():
        if token.id == token_id:
            return token
    raise NotFound("There is no such API token (revoked already?).")


def _list(form: CreateTokenForm | None = None, status: int = 200):
    accounts = runtime().accounts
    disabled = {u.username for u in accounts.list_users() if u.disabled}
    return render_template(
        "admin/tokens.html",
        # Grouped by owner (oldest first within each), so the users page can link to a group.
        tokens=sorted(accounts.list_tokens(), key=lambda t: (t.username, t.created_at, t.id)),
        disabled=disabled,
        form=form or _create_form(False),
    ), status


@bp.get("/tokens")
def tokens():
    return _list()


@bp.post("/tokens")
def create_token():
    form = _create_form(True)
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(form, 400)
    try:
        secret, token = runtime().accounts.create_token(form.username.data or "", form.label.data or "")
    except GalleryError as err:
        return _list(form, flash_refusal(err))
    audit("token.create", token.id, user=token.username, label=token.label)
    response = make_response(render_template("admin/token_created.html", token=token, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/tokens/<token_id>/revoke", methods=["GET", "POST"])
def revoke_token(token_id: str):
    token = _token(token_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        try:
            runtime().accounts.revoke_token(token.id)
        except GalleryError as err:
            return _list(status=flash_refusal(err))
        audit("token.revoke", token.id, user=token.username, label=token.label)
        flash(f"Revoked the token {token.label or token.id} of {token.username}.", "info")
        return redirect(url_for("admin.tokens"))
    return render_template("admin/token_revoke.html", token=token, form=form)
