"""Command line: ``gallery users|tokens|albums|links|doctor ...``, the same as
``flask --app app users|tokens|gallery|albums|links ...``.

Commands are thin: they parse arguments, call the domain services and print.
Every failure exits non-zero with a one-line reason: a wrong setting, storage
URL or missing SDK is ``gallery: <reason>`` on standard error and exit status
:data:`CONFIG_EXIT` (2), never a traceback; any other failure exits 1.
Destructive commands are recorded in the audit log with the actor ``cli``,
which has an admin's rights over albums and links.

Before the app is built, :func:`storage_warning` decides whether the command
may be working on another gallery than a server would (a folder that does not
exist yet, or ``memory://``); the warning is one line on standard error when a
command starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
import orjson
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from gallery.accounts import ROLES, normalize_username
from gallery.albums.model import MAX_IDS_PER_CALL, SORTS, VISIBILITIES, Album, ShareLink
from gallery.audit import CLI_ACTOR
from gallery.errors import ConfigError, GalleryError
from gallery.images.results import Actor
from gallery.keys import is_image_id
from gallery.operations.transfer import Progress, is_export
from gallery.runtime import Runtime

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
gallery_cli = AppGroup("gallery", help="Operate the gallery: reindex and more.")
albums_cli = AppGroup("albums", help="Manage albums.")
links_cli = AppGroup("links", help="Manage the share links of albums.")

#: Who album and link commands act as: the command line, with an admin's rights.
CLI_ADMIN = Actor(CLI_ACTOR, is_admin=True)


def _runtime() -> Runtime:
    return current_app.extensions["gallery"]


#: Exit status of a command stopped by a wrong setting (as click's usage errors).
CONFIG_EXIT = 2
#: Where :func:`cli_app` leaves the warning for the command to print.
_WARNING = "gallery.cli.warning"


def _config_failure(message: str) -> click.exceptions.Exit:
    """Print ``gallery: message`` on standard error; the exit to raise after it."""
    click.echo(f"gallery: {message}", err=True)
    return click.exceptions.Exit(CONFIG_EXIT)


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors (storage down, damaged documents, bad settings ...) into
    a one-line message on standard error and a non-zero exit (2 for a configuration
    error, 1 for any other); print the storage warning of :func:`cli_app` first.
    """

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warning = current_app.extensions.pop(_WARNING, None)
        if warning:
            click.echo(f"gallery: warning: {warning}", err=True)
        try:
            return command(*args, **kwargs)
        except ConfigError as err:
            raise _config_failure(err.message) from err
        except GalleryError as err:
            raise click.ClickException(err.message) from err

    return wrapper


def storage_warning(environ: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """Why a command with these settings may not see the gallery a server sees, if so.

    The rule: a ``file://`` folder that does not exist yet was never used by a
    server (the first start creates it), so the command would start a new,
    empty gallery there; ``memory://`` keeps nothing once the command ends.
    Buckets over the network are named by the settings alone, so nothing can be
    told from here. Call it before the app is built: building it creates the folder.
    """
    from gallery.config import load_settings

    try:
        url = load_settings(environ)["storage"]
    except ConfigError:
        return None  # reported as an error when the app is built
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return ("GALLERY_STORAGE=memory:// keeps nothing after this command; "
                "no server will see what it does")
    if scheme != "file":
        return None
    path = unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path)
    folder = ((cwd or Path.cwd()) / path).resolve()
    if not path or folder.exists():
        return None
    if not environ.get("GALLERY_STORAGE", "").strip():
        return (f"no GALLERY_STORAGE set: using ./data ({folder}), which does not exist yet; "
                "a server started elsewhere may use another bucket")
    return (f"GALLERY_STORAGE names {folder}, which does not exist yet: this command starts "
            "a new, empty gallery there")


def cli_app() -> Flask:
    """:func:`gallery.create_app` for the command line (``gallery`` and ``flask --app app``).

    A configuration error is one line on standard error and exit status
    :data:`CONFIG_EXIT`.
    """
    from gallery import create_app

    warning = storage_warning(os.environ)
    try:
        app = create_app()
    except ConfigError as err:
        raise SystemExit(_config_failure(err.message).exit_code) from None
    if warning:
        app.extensions[_WARNING] = warning
    return app


class _GalleryCommand(FlaskGroup):
    """``flask --app app`` under the name ``gallery``: the ``gallery`` group's commands
    (``doctor``, ``stats``, ``export`` ...) are also at the top (``gallery doctor``)."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name != "gallery":
            group = super().get_command(ctx, "gallery")
            if isinstance(group, click.Group):
                command = group.get_command(ctx, name)
        return command


def main() -> None:
    """The ``gallery`` command."""
    _GalleryCommand(
        name="gallery", create_app=cli_app, add_version_option=False,
        help="Run the gallery's commands (the settings are the server's GALLERY_* variables).",
    ).main(prog_name="gallery")


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
@click.option("--display-name", default="",
              help="What visitors see instead of NAME, e.g. \"Grandma Rose\".")
@one_line_errors
def users_create(name: str, role: str, password_stdin: bool, display_name: str) -> None:
    """Create a user NAME with a role (and a display name)."""
    from gallery.accounts import clean_display_name

    runtime = _runtime()
    clean_display_name(display_name)  # refused before the password is asked for
    user = runtime.accounts.create_user(name, _read_password(password_stdin), role, display_name)
    runtime.audit.record(CLI_ACTOR, "user.create", user.username, role=user.role,
                         **({"display_name": user.display_name} if user.display_name else {}))
    shown = f" ({user.display_name})" if user.display_name else ""
    click.echo(f"Created {user.role} {user.username}{shown}.")


@users_cli.command("display-name")
@click.argument("name")
@click.argument("display_name")
@one_line_errors
def users_display_name(name: str, display_name: str) -> None:
    """Set the name visitors see for user NAME; an empty DISPLAY_NAME ("") removes it."""
    runtime = _runtime()
    user = runtime.accounts.set_display_name(name, display_name)
    runtime.audit.record(CLI_ACTOR, "user.display_name", user.username,
                         display_name=user.display_name)
    if user.display_name:
        click.echo(f"{user.username} is shown as “{user.display_name}”.")
    else:
        click.echo(f"{user.username} has no display name: visitors see no name.")


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
        shown = f"  “{user.display_name}”" if user.display_name else ""
        click.echo(f"{user.username:<{width}}  {user.role:<8}  created {user.created_at}{state}"
                   f"{shown}")


@users_cli.command("export")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@one_line_errors
def users_export(dest: Path) -> None:
    """Write every account and API token to DEST (a new JSON file, readable by you only).

    The file holds password hashes and token digests: keep it as safe as the
    bucket itself. `users restore --from DEST` puts it back.
    """
    from gallery.accounts_backup import export as export_accounts

    runtime = _runtime()
    body = export_accounts(runtime.storage, runtime.keys)
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{dest} already exists; choose a new file.") from None
    except OSError as err:
        raise click.ClickException(f"Cannot write {dest}: {err.strerror or err}.") from None
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    runtime.audit.record(CLI_ACTOR, "users.export", str(dest.name))
    click.echo(f"Exported the accounts to {dest} (password hashes included: keep it private).")


@users_cli.command("restore")
@click.option("--backup", "from_backup", is_flag=True,
              help="Restore the copy the gallery keeps in the bucket at every change.")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Restore a file written by `users export`.")
@click.option("--yes", is_flag=True, help="Replace users.json even when it is readable.")
@one_line_errors
def users_restore(from_backup: bool, source: Path | None, yes: bool) -> None:
    """Replace users.json (all accounts and tokens) with a kept copy or an export."""
    from gallery.accounts_backup import current_is_readable, parse_accounts, read_backup, restore

    if from_backup == (source is not None):
        raise click.ClickException("Give exactly one of --backup or --from FILE.")
    runtime = _runtime()
    if source is not None:
        try:
            raw = source.read_bytes()
        except OSError as err:
            raise click.ClickException(f"Cannot read {source}: {err.strerror or err}.") from None
        document = parse_accounts(raw, str(source))
    else:
        document = read_backup(runtime.storage, runtime.keys)
        if document is None:
            raise click.ClickException(
                f"There is no usable copy at {runtime.keys.users_backup}; "
                "restore an export with --from FILE.")
    if current_is_readable(runtime.storage, runtime.keys) and not yes:
        if not sys.stdin.isatty():
            raise click.ClickException("users.json is readable; pass --yes to replace it anyway.")
        click.confirm("users.json is readable. Replace it?", abort=True)
    count = restore(runtime.storage, runtime.keys, document)
    runtime.audit.record(CLI_ACTOR, "users.restore", "backup" if from_backup else source.name)
    click.echo(f"Restored {count} accounts.")


@users_cli.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def users_delete(name: str, yes: bool) -> None:
    """Delete the user NAME (their images stay)."""
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete user {name}?", abort=True)
    runtime = _runtime()
    runtime.accounts.delete_user(name)
    runtime.audit.record(CLI_ACTOR, "user.delete", normalize_username(name) or name)
    click.echo(f"Deleted {name}.")


@tokens_cli.command("create")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@one_line_errors
def tokens_create(name: str, label: str) -> None:
    """Create an API token for user NAME and print it (only this once)."""
    runtime = _runtime()
    token, info = runtime.accounts.create_token(name, label)
    runtime.audit.record(CLI_ACTOR, "token.create", info.id, user=info.username, label=info.label)
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
    runtime = _runtime()
    runtime.accounts.revoke_token(token_id)
    runtime.audit.record(CLI_ACTOR, "token.revoke", token_id)
    click.echo(f"Revoked {token_id}.")


@gallery_cli.command("reindex")
@one_line_errors
def reindex() -> None:
    """Rebuild index.json from the bucket alone."""
    report = _runtime().operations.reindex(actor=CLI_ACTOR)
    click.echo(
        f"Index rebuilt: {len(report.added)} added, {len(report.dropped)} dropped, "
        f"{report.unchanged} unchanged."
    )


def _echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@gallery_cli.command("cleanup")
@click.option("--dry-run", is_flag=True, help="Only report; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@one_line_errors
def cleanup(dry_run: bool, as_json: bool) -> None:
    """Remove orphaned objects and dangling index entries; remake missing thumbnails;
    take deleted images out of albums; remove share links closed for good.

    Nothing younger than GALLERY_CLEANUP_GRACE seconds is touched.
    """
    runtime = _runtime()
    report = runtime.operations.cleanup(dry_run=dry_run, actor=CLI_ACTOR)
    if as_json:
        _echo_json(report.to_json())
    else:
        for line in report.lines():
            click.echo(line)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} repairs failed; see above.")


@gallery_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@one_line_errors
def stats(as_json: bool) -> None:
    """Show image counts, storage used, albums and share links, and recent activity."""
    figures = _runtime().operations.stats()
    if as_json:
        _echo_json(figures.to_json())
        return
    for line in figures.lines():
        click.echo(line)


@gallery_cli.command("doctor")
@one_line_errors
def doctor() -> None:
    """Check settings, storage, libmagic, image codecs, the index, albums and links, and
    the accounts."""
    checks = _runtime().operations.doctor()
    for check in checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.message}")
        if not check.ok and check.fix:
            click.echo(f"      fix: {check.fix}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} checks failed: {', '.join(failed)}.")


@contextmanager
def _progress_bar(what: str) -> Iterator[Progress]:
    """A progress bar on standard error (standard output stays for the summary)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar(f"[bold]{what}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
             console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _import_user(runtime: Runtime, username: str | None) -> str:
    """The user a plain folder is imported as: ``--as``, or the only admin."""
    if username:
        return username
    admins = [u.username for u in runtime.accounts.list_users() if u.is_admin and not u.disabled]
    if len(admins) == 1:
        return admins[0]
    if not admins:
        raise click.ClickException("There is no admin account; pass --as USER.")
    raise click.ClickException(f"There are {len(admins)} admins; choose one with --as USER.")


@gallery_cli.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--recursive", is_flag=True, help="Also import the images in sub-folders.")
@click.option("--as", "username", metavar="USER", help="Who the images are uploaded by "
              "(default: the only admin). An export keeps its uploaders; those without an "
              "account here become USER (default: the only admin).")
@one_line_errors
def import_(source: Path, recursive: bool, username: str | None) -> None:
    """Import SOURCE: a folder of images, or an export (folder or .zip).

    Every file goes through the same checks as a web upload. Files already in
    the gallery are skipped, so an interrupted import can be run again. Exits
    1 when files were rejected and none was imported or already there.
    """
    runtime = _runtime()
    if is_export(source):  # the fallback for uploaders without an account, if there is one
        try:
            user = _import_user(runtime, username)
        except click.ClickException:
            user = ""
    else:
        user = _import_user(runtime, username)
    with _progress_bar("Importing") as progress:
        report = runtime.operations.import_from(source, username=user, recursive=recursive,
                                                actor=CLI_ACTOR, progress=progress)
    for line in report.lines():
        click.echo(line)
    if report.rejected and not (report.imported or report.duplicates):
        raise click.ClickException(f"All {len(report.rejected)} files were rejected.")


@gallery_cli.command("export")
@click.argument("dest", type=click.Path(path_type=Path))
@one_line_errors
def export(dest: Path) -> None:
    """Export every original, the index, the albums and a manifest to DEST (a new folder or
    a .zip). Share links, accounts and API tokens are not exported."""
    with _progress_bar("Exporting") as progress:
        report = _runtime().operations.export_to(dest, actor=CLI_ACTOR, progress=progress)
    for line in report.lines():
        click.echo(line)


# --- albums ----------------------------------------------------------------------------------


def _album_owner(runtime: Runtime, username: str | None) -> str:
    """Who a new album belongs to: ``--owner`` (an active account), or the only admin.

    Raises:
        click.ClickException: no such account, a disabled one, or no single admin.
    """
    if username:
        user = runtime.accounts.get(username)
        if user is None:
            raise click.ClickException(f"There is no user {username!r}.")
        if user.disabled:
            raise click.ClickException(f"The account {user.username} is disabled.")
        return user.username
    admins = [u.username for u in runtime.accounts.list_users() if u.is_admin and not u.disabled]
    if len(admins) == 1:
        return admins[0]
    if not admins:
        raise click.ClickException("There is no admin account; pass --owner USER.")
    raise click.ClickException(f"There are {len(admins)} admins; choose one with --owner USER.")


def _images(runtime: Runtime, image_ids: tuple[str, ...]) -> list[str]:
    """The ids as given (each once); every one must be an image of the gallery.

    Raises:
        click.ClickException: some are not (all of them are named, up to five).
    """
    ids = list(dict.fromkeys(image_ids))
    view = runtime.images.view()
    missing = [i for i in ids if not is_image_id(i) or view.get(i) is None]
    if missing:
        shown = ", ".join(m[:40] for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise click.ClickException(f"No such image ({len(missing)} in all): {shown}.")
    return ids


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    """The ids in calls of at most :data:`MAX_IDS_PER_CALL`."""
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        yield ids[start:start + MAX_IDS_PER_CALL]


def _images_word(count: int) -> str:
    return f"{count} image{'' if count == 1 else 's'}"


@albums_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the albums as the API shows them.")
@one_line_errors
def albums_list(as_json: bool) -> None:
    """List every album, newest first: id, visibility, images, owner and title."""
    from gallery.web.views import albums_json

    runtime = _runtime()
    albums = runtime.albums.all()
    if as_json:
        _echo_json(albums_json(albums, runtime.images))
        return
    if not albums:
        click.echo("No albums yet. Create one with: flask --app app albums create TITLE")
        return
    width = max(len(a.owner) for a in albums)
    for album in albums:
        click.echo(f"{album.id}  {album.visibility:<8}  {_images_word(album.count):>12}  "
                   f"{album.owner:<{width}}  {album.title}")


@albums_cli.command("create")
@click.argument("title")
@click.option("--description", default="", help="What the album is about.")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default="private",
              show_default=True, help="public: listed; unlisted: by its address; "
              "private: signed-in users.")
@click.option("--sort", type=click.Choice(SORTS), default="manual", show_default=True,
              help="The order its images are shown in.")
@click.option("--owner", metavar="USER", help="Whose album it is (default: the only admin).")
@one_line_errors
def albums_create(title: str, description: str, visibility: str, sort: str,
                  owner: str | None) -> None:
    """Create an empty album called TITLE and print its id."""
    runtime = _runtime()
    album = runtime.albums.create(title=title, description=description, visibility=visibility,
                                  sort=sort, actor=CLI_ADMIN,
                                  owner=_album_owner(runtime, owner))
    click.echo(album.id)
    click.echo(f"Created the {album.visibility} album “{album.title}” of {album.owner}.",
               err=True)


def _album(runtime: Runtime, album_id: str) -> Album:
    """Raises: NotFound: there is no such album."""
    return runtime.albums.get(album_id)


@albums_cli.command("add")
@click.argument("album_id")
@click.argument("image_ids", nargs=-1, required=True)
@one_line_errors
def albums_add(album_id: str, image_ids: tuple[str, ...]) -> None:
    """Add images to the end of album ALBUM_ID (those already in it stay where they are)."""
    runtime = _runtime()
    album = _album(runtime, album_id)
    before = album.count
    for chunk in _chunks(_images(runtime, image_ids)):
        album = runtime.albums.change_images(album_id, actor=CLI_ADMIN, add=chunk)
    click.echo(f"Added {_images_word(album.count - before)} to “{album.title}” "
               f"({album.count} in all).")


@albums_cli.command("remove")
@click.argument("album_id")
@click.argument("image_ids", nargs=-1, required=True)
@one_line_errors
def albums_remove(album_id: str, image_ids: tuple[str, ...]) -> None:
    """Take images out of album ALBUM_ID (they stay in the gallery)."""
    runtime = _runtime()
    album = _album(runtime, album_id)
    before = album.count
    ids = list(dict.fromkeys(image_ids))
    absent = sum(1 for i in ids if not album.has(i))
    for chunk in _chunks(ids):
        album = runtime.albums.change_images(album_id, actor=CLI_ADMIN, remove=chunk)
    note = f"; {absent} {'was' if absent == 1 else 'were'} not in it" if absent else ""
    click.echo(f"Removed {_images_word(before - album.count)} from “{album.title}” "
               f"({album.count} left{note}).")


@albums_cli.command("delete")
@click.argument("album_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def albums_delete(album_id: str, yes: bool) -> None:
    """Delete album ALBUM_ID and revoke its share links (its images stay)."""
    runtime = _runtime()
    album = _album(runtime, album_id)
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete the album “{album.title}” ({_images_word(album.count)})?",
                      abort=True)
    revoked = runtime.links.revoke_album(album_id, actor=CLI_ADMIN)
    runtime.albums.delete(album_id, actor=CLI_ADMIN)
    links = f"{revoked} share link{'' if revoked == 1 else 's'} revoked"
    click.echo(f"Deleted the album “{album.title}” (its {_images_word(album.count)} stay; "
               f"{links}).")


# --- share links -----------------------------------------------------------------------------


def _link_state(runtime: Runtime, link: ShareLink) -> str:
    return link.closed(runtime.links.now()) or "open"


@links_cli.command("create")
@click.argument("album_id")
@click.option("--password-stdin", is_flag=True,
              help="Read a password the link asks for from standard input.")
@click.option("--expires", metavar="TIME", help="When the link stops working: an ISO 8601 time "
              "(2027-01-31T18:00:00Z) or a date (works through that day, UTC).")
@click.option("--allow-download", is_flag=True, help="Let visitors download the originals.")
@click.option("--show-details", is_flag=True, help="Show visitors camera details and dates.")
@click.option("--label", default="", help="A note for you: who the link is for.")
@one_line_errors
def links_create(album_id: str, password_stdin: bool, expires: str | None,
                 allow_download: bool, show_details: bool, label: str) -> None:
    """Create a share link to album ALBUM_ID and print its address (only this once)."""
    from gallery.web.views import site_url

    runtime = _runtime()
    password = _read_password(True) if password_stdin else None
    link = runtime.links.create(album_id, actor=CLI_ADMIN, password=password,
                                expires_at=expires, allow_download=allow_download,
                                show_details=show_details, label=label)
    click.echo(site_url("share.page", token=link.token))
    until = f"until {link.expires_at}" if link.expires_at else "until revoked"
    who = "this address and the password" if link.has_password else "this address"
    click.echo(f"Link {link.id}, {until}: whoever has {who} sees “{_album(runtime, album_id).title}”.",
               err=True)


@links_cli.command("list")
@click.argument("album_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the links as JSON (no addresses).")
@one_line_errors
def links_list(album_id: str | None, as_json: bool) -> None:
    """List share links (of album ALBUM_ID, or all), newest first; addresses are not shown."""
    from gallery.albums.links import link_json

    runtime = _runtime()
    if album_id is not None:
        links = runtime.links.for_album(album_id)
        if not links:
            _album(runtime, album_id)  # an unknown album is an error, not an empty list
    else:
        links = runtime.links.all()
    usages = runtime.links.usages(links)
    if as_json:
        bodies = []
        for link in links:
            body = link_json(link, "", usages[link.id])
            del body["url"]
            bodies.append(body | {"state": _link_state(runtime, link)})
        _echo_json(bodies)
        return
    if not links:
        click.echo("No share links. Create one with: flask --app app links create ALBUM_ID")
        return
    for link in links:
        usage = usages[link.id]
        flags = [name for name, on in (("password", link.has_password),
                                       ("download", link.allow_download),
                                       ("details", link.show_details)) if on]
        parts = [link.id, f"{_link_state(runtime, link):<7}", f"album {link.album}",
                 f"views {usage.views}", f"expires {link.expires_at or 'never'}",
                 ",".join(flags) or "-", link.label]
        click.echo("  ".join(parts).rstrip())


@links_cli.command("revoke")
@click.argument("link_id")
@one_line_errors
def links_revoke(link_id: str) -> None:
    """Revoke share link LINK_ID for good, on every instance within seconds."""
    runtime = _runtime()
    was = runtime.links.get(link_id)
    link = runtime.links.revoke(link_id, actor=CLI_ADMIN)
    if was.revoked_at is not None:
        click.echo(f"Link {link_id} was already revoked ({link.revoked_at}).")
        return
    click.echo(f"Revoked link {link_id}.")


# --- the trash -------------------------------------------------------------------------------


@gallery_cli.group("trash")
def trash_cli() -> None:
    """Images deleted in the last GALLERY_TRASH_DAYS days: list, restore, empty."""


@trash_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the images as JSON.")
@one_line_errors
def trash_list(as_json: bool) -> None:
    """List the images in the trash, the most recently deleted first."""
    runtime = _runtime()
    images = runtime.images
    entries = images.trash()
    days = images.trash_days
    if as_json:
        _echo_json([{"id": e.id, "title": e.record.name, "uploaded_by": e.record.uploaded_by,
                     "trashed_at": e.trashed_at, "trashed_by": e.trashed_by,
                     "purge_at": e.purge_at(days).isoformat().replace("+00:00", "Z"),
                     "bytes": e.bytes} for e in entries])
        return
    if not entries:
        click.echo("The trash is empty.")
        return
    for e in entries:
        click.echo(f"{e.id}  deleted {e.trashed_at[:16].replace('T', ' ')} by {e.trashed_by:<12}  "
                   f"until {e.purge_at(days):%Y-%m-%d}  {e.record.name}")
    total = sum(e.bytes for e in entries)
    click.echo(f"{_images_word(len(entries))} in the trash ({total} bytes), each kept {days} days.",
               err=True)


@trash_cli.command("restore")
@click.argument("image_ids", nargs=-1, required=True)
@one_line_errors
def trash_restore(image_ids: tuple[str, ...]) -> None:
    """Put images of the trash back where they were (their albums too)."""
    restored, refused = _runtime().images.restore_many(image_ids, actor=CLI_ADMIN)
    for image in restored:
        click.echo(f"Restored {image['id']} “{image.get('title') or image['filename']}”.")
    for image_id, why in refused:
        click.echo(f"Not restored {image_id[:40]}: {why}", err=True)
    if refused:
        raise click.ClickException(f"{len(refused)} of {len(refused) + len(restored)} images "
                                   "could not be restored.")


@trash_cli.command("empty")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), metavar="DAYS",
              help="Only images deleted at least DAYS days ago.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def trash_empty(older_than: int | None, yes: bool) -> None:
    """Delete images of the trash for good (all, or those older than DAYS)."""
    if not yes and sys.stdin.isatty():
        which = f"deleted over {older_than} days ago" if older_than is not None else "in the trash"
        click.confirm(f"Delete every image {which} for good?", abort=True)
    gone = _runtime().images.empty_trash(actor=CLI_ADMIN, older_than=older_than)
    click.echo(f"Deleted {_images_word(len(gone))} for good.")


@gallery_cli.command("backfill")
@one_line_errors
def backfill() -> None:
    """Read camera details and the date taken from the originals stored without them.

    Safe to run again: images that have them are not read again.
    """
    with _progress_bar("Reading EXIF") as progress:
        report = _runtime().images.backfill(progress=progress)
    for line in report.lines():
        click.echo(line)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} images could not be updated; see above.")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(gallery_cli)
    app.cli.add_command(albums_cli)
    app.cli.add_command(links_cli)
