"""Command line: ``flask --app app users|tokens|gallery ...``.

Commands are thin: they parse arguments, call the domain services and print.
Every failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from gallery.accounts import ROLES
from gallery.errors import GalleryError
from gallery.runtime import Runtime

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
gallery_cli = AppGroup("gallery", help="Operate the gallery: reindex and more.")


def _runtime() -> Runtime:
    return current_app.extensions["gallery"]


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into a one-line message and a non-zero exit."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GalleryError as err:
            raise click.ClickException(err.message) from err

    return wrapper


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password on standard input.")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="uploader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@one_line_errors
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a user NAME with a role."""
    user = _runtime().accounts.create_user(name, _read_password(password_stdin), role)
    click.echo(f"Created {user.role} {user.username}.")


@users_cli.command("list")
@one_line_errors
def users_list() -> None:
    """List users with their role."""
    users = _runtime().accounts.list_users()
    if not users:
        click.echo("No users yet. Create one with: flask --app app users create NAME --role admin")
        return
    width = max(len(u.username) for u in users)
    for user in users:
        state = " (disabled)" if user.disabled else ""
        click.echo(f"{user.username:<{width}}  {user.role:<8}  created {user.created_at}{state}")


@users_cli.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def users_delete(name: str, yes: bool) -> None:
    """Delete the user NAME (their images stay)."""
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete user {name}?", abort=True)
    _runtime().accounts.delete_user(name)
    click.echo(f"Deleted {name}.")


@tokens_cli.command("create")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@one_line_errors
def tokens_create(name: str, label: str) -> None:
    """Create an API token for user NAME and print it (only this once)."""
    token, info = _runtime().accounts.create_token(name, label)
    click.echo(token)
    click.echo(f"Token {info.id} for {info.username}: keep it safe, it is not shown again.", err=True)


@tokens_cli.command("list")
@click.argument("name", required=False)
@one_line_errors
def tokens_list(name: str | None) -> None:
    """List API tokens (of user NAME, or all)."""
    for token in _runtime().accounts.list_tokens(name):
        used = token.last_used_at or "never"
        click.echo(f"{token.id}  {token.username}  {token.label}  created {token.created_at}  last used {used}")


@tokens_cli.command("revoke")
@click.argument("token_id")
@one_line_errors
def tokens_revoke(token_id: str) -> None:
    """Revoke the API token TOKEN_ID."""
    _runtime().accounts.revoke_token(token_id)
    click.echo(f"Revoked {token_id}.")


@gallery_cli.command("reindex")
@one_line_errors
def reindex() -> None:
    """Rebuild index.json from the bucket alone."""
    report = _runtime().service.reindex()
    click.echo(
        f"Index rebuilt: {len(report.added)} added, {len(report.dropped)} dropped, "
        f"{report.unchanged} unchanged."
    )


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(gallery_cli)
