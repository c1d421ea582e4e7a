"""Admin: accounts -- create, change role, reset password, sign out everywhere, disable, delete."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from gallery.accounts import MAX_PASSWORD_LENGTH, ROLES, User
from gallery.errors import Forbidden, GalleryError, NotFound
from gallery.web.admin.common import ConfirmForm, audit, bp, flash_refusal, form_errors, me
from gallery.web.auth import sign_in
from gallery.web.context import runtime


class CreateUserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    role = SelectField("Role", choices=list(ROLES), default="uploader")
    display_name = StringField("Display name (optional)", validators=[Length(max=200)])


class DisplayNameForm(FlaskForm):
    display_name = StringField("Display name", validators=[Length(max=200)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=list(ROLES))


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


def _user(username: str) -> User:
    """The account, or a 404."""
    user = runtime().accounts.get(username)
    if user is None:
        raise NotFound(f"There is no user named {username!r}.")
    return user


def _not_yourself(user: User, doing: str) -> None:
    """Admins cannot lock themselves out from this page; another admin can do it."""
    if user.username == me():
        raise Forbidden(f"You cannot {doing} your own account here; ask another admin.")


def _list(create_form: CreateUserForm | None = None, status: int = 200):
    accounts = runtime().accounts
    token_counts = Counter(t.username for t in accounts.list_tokens())
    return render_template(
        "admin/users.html",
        users=accounts.list_users(),
        token_counts=token_counts,
        roles=ROLES,
        me=me(),
        create_form=create_form or CreateUserForm(formdata=None),
    ), status


@bp.get("/users")
def users():
    return _list()


@bp.post("/users")
def create_user():
    form = CreateUserForm()
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(form, 400)
    try:
        user = runtime().accounts.create_user(form.username.data, form.password.data,
                                              form.role.data, form.display_name.data or "")
    except GalleryError as err:
        return _list(form, flash_refusal(err))
    audit("user.create", user.username, role=user.role,
          **({"display_name": user.display_name} if user.display_name else {}))
    flash(f"Created {user.role} {user.username!r}.", "info")
    return redirect(url_for("admin.users"))


#: A change to one account: returns the audit entry's target and details.
_Apply = Callable[[], tuple[str, dict[str, Any]]]


def _change(action: str, apply: _Apply, success: str):
    """Run ``apply()``; audit and flash it, or show the users page with why not."""
    try:
        target, details = apply()
    except GalleryError as err:
        return _list(status=flash_refusal(err))
    audit(action, target, **details)
    flash(success, "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/role")
def set_role(username: str):
    form = RoleForm()
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(status=400)
    if _user(username).role == form.role.data:
        flash(f"{username} is already {form.role.data}.", "info")
        return redirect(url_for("admin.users"))

    def apply() -> tuple[str, dict[str, Any]]:
        user = _user(username)
        _not_yourself(user, "change the role of")
        changed = runtime().accounts.set_role(user.username, form.role.data)
        return changed.username, {"role": changed.role, "was": user.role}

    return _change("user.role", apply, f"{username} is now {form.role.data}.")


@bp.post("/users/<username>/display-name")
def set_display_name(username: str):
    """Set or (left empty) remove the name visitors see for an account."""
    form = DisplayNameForm()
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(status=400)

    def apply() -> tuple[str, dict[str, Any]]:
        changed = runtime().accounts.set_display_name(_user(username).username,
                                                      form.display_name.data or "")
        return changed.username, {"display_name": changed.display_name}

    shown = " ".join((form.display_name.data or "").split())
    return _change("user.display_name", apply,
                   f"{username} is shown as “{shown}”." if shown
                   else f"{username} has no display name now.")


@bp.post("/users/<username>/password")
def set_password(username: str):
    form = PasswordForm()
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(status=400)

    def apply() -> tuple[str, dict[str, Any]]:
        user = _user(username)
        changed = runtime().accounts.set_password(user.username, form.password.data)
        if changed.username == me():  # keep the admin who changed their own password signed in
            sign_in(changed)
        return changed.username, {}

    return _change(
        "user.password", apply, f"New password set for {username}; their sessions have ended."
    )


@bp.post("/users/<username>/sessions/end")
def end_sessions(username: str):
    """Sign a user out everywhere: every browser session and remember cookie ends at once."""
    form = ConfirmForm()
    if not form.validate():
        flash(form_errors(form), "error")
        return _list(status=400)

    def apply() -> tuple[str, dict[str, Any]]:
        user = _user(username)
        return user.username, {"sessions": runtime().accounts.end_all_sessions(user.username)}

    return _change("user.sign_out_everywhere", apply,
                   f"Signed {username} out everywhere: every session of theirs has ended.")


def _set_disabled(username: str, disabled: bool):
    def apply() -> tuple[str, dict[str, Any]]:
        user = _user(username)
        if disabled:
            _not_yourself(user, "disable")
        changed = runtime().accounts.set_disabled(user.username, disabled)
        return changed.username, {}

    if disabled:
        return _change(
            "user.disable", apply, f"Disabled {username}: they cannot sign in, their tokens stop working."
        )
    return _change("user.enable", apply, f"Enabled {username}.")


@bp.post("/users/<username>/disable")
def disable_user(username: str):
    return _set_disabled(username, True)


@bp.post("/users/<username>/enable")
def enable_user(username: str):
    return _set_disabled(username, False)


@bp.route("/users/<username>/delete", methods=["GET", "POST"])
def delete_user(username: str):
    user = _user(username)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        def apply() -> tuple[str, dict[str, Any]]:
            _not_yourself(user, "delete")
            runtime().accounts.delete_user(user.username)
            return user.username, {"role": user.role}

        return _change("user.delete", apply, f"Deleted {user.username}; their images stay.")
    tokens = runtime().accounts.list_tokens(user.username)
    return render_template("admin/user_delete.html", user=user, tokens=tokens, form=form,
                           is_me=user.username == me())
