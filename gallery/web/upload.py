"""The upload form: many files in one go, works without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Blueprint, render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage, MultiDict

from gallery.albums.model import MAX_IDS_PER_CALL
from gallery.clock import format_timestamp, utcnow
from gallery.errors import BadRequest, GalleryError, TooLarge
from gallery.images.record import MAX_DESCRIPTION, MAX_TAG, MAX_TAGS, MAX_TITLE, check_changes
from gallery.images.results import UploadResult
from gallery.imaging.model import ACCEPTED_EXTENSIONS, ACCEPTED_TYPES
from gallery.web.albums import change_album
from gallery.web.context import require_actor, runtime

bp = Blueprint("upload", __name__)


class UploadForm(FlaskForm):
    """Carries the CSRF token; the files are read from ``request.files``."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one file of an upload form."""

    filename: str
    status: int
    message: str
    image: dict | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class BatchFields:
    """What an upload gives every file it sends: title, description and tags (the
    form's, or the API call's), checked as edits are."""

    title: str | None = None
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def split_tags(values: list[str]) -> list[str]:
    """Tags typed as ``beach, summer 2026`` (in one field or several): split at commas."""
    return [part for value in values for part in value.split(",")]


def batch_fields(form: MultiDict[str, str]) -> BatchFields:
    """The ``title``, ``description`` and ``tags`` fields of an upload, checked.

    An empty title means none: each file gets its default title.

    Raises:
        BadRequest: a field is too long, or a tag breaks the rules of tags.
    """
    title = (form.get("title") or "").strip()
    description = form.get("description") or ""
    try:
        checked: Mapping = check_changes({
            "title": title, "description": description,
            "tags": split_tags(form.getlist("tags"))})
    except ValueError as err:
        raise BadRequest(str(err)) from None
    return BatchFields(checked["title"] or None, checked["description"], checked["tags"])


def asked_time(form: MultiDict[str, str]) -> datetime | None:
    """The ``created_at`` field of an API upload (ISO 8601 with a zone), or ``None``.

    Raises:
        BadRequest: it is not such a time.
    """
    text = (form.get("created_at") or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest("created_at is an ISO 8601 time with its zone, e.g. "
                         f"{format_timestamp(utcnow())!r}.")
    return moment


def read_limited(file: FileStorage, limit: int) -> bytes:
    """The uploaded file's bytes, refusing more than ``limit`` without reading it all.

    Raises:
        TooLarge: the file is larger than ``limit``.
    """
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"“{file.filename}” is larger than {limit / 1_000_000:g} MB.")
    return data


def accept(file: FileStorage, fields: BatchFields | None = None,
           created_at: datetime | None = None) -> UploadResult:
    """Read one uploaded file within the size limit and store it for the signed-in user,
    with the upload's texts and tags, recorded as uploaded at ``created_at`` (see
    :func:`gallery.images.upload.upload_time`) or now.

    Raises:
        NotSignedIn: nobody is signed in.
        BadRequest: a text or tag is not acceptable.
        TooLarge, UnsupportedType, DamagedImage: the file is refused.
        StorageUnavailable: the storage did not answer.
    """
    rt = runtime()
    who = require_actor()
    fields = fields or BatchFields()
    data = read_limited(file, rt.settings["max_file_bytes"])
    return rt.images.upload(data, file.filename or "image", uploaded_by=who.username,
                            title=fields.title, description=fields.description,
                            tags=fields.tags, created_at=created_at)


def store_upload(file: FileStorage, fields: BatchFields | None = None,
                 created_at: datetime | None = None) -> Outcome:
    """Validate and store one uploaded file; errors become an :class:`Outcome`, never a 500."""
    name = file.filename or "image"
    try:
        result = accept(file, fields, created_at)
    except GalleryError as err:
        if err.status >= 500:
            raise
        return Outcome(name, err.status, err.message)
    if result.duplicate:
        return Outcome(name, 200, "Already in the gallery.", result.image, duplicate=True)
    return Outcome(name, 201, "Uploaded.", result.image)


def limits() -> dict[str, object]:
    """What the upload page tells its script, so people hear of a refusal before sending.

    Only a courtesy: the server checks every file again and has the last word.
    """
    settings = runtime().settings
    return {
        "max_file_bytes": settings["max_file_bytes"],
        "max_request_bytes": settings["max_request_bytes"],
        "max_files": settings["max_files"],
        "types": ",".join(ACCEPTED_TYPES),
        "extensions": ",".join(sorted(f".{e}" for e in set(ACCEPTED_EXTENSIONS))),
        "max_title": MAX_TITLE,
        "max_description": MAX_DESCRIPTION,
        "max_tag": MAX_TAG,
        "max_tags": MAX_TAGS,
        "now": format_timestamp(utcnow()),
    }


def hidden_in_folder(filename: str) -> bool:
    """Whether a file came from a picked folder and is hidden there (``.DS_Store``, ``.git/...``).

    Browsers send a folder's files with their path inside it; a single picked
    file has no path and is always taken.
    """
    parts = re.split(r"[\\/]", filename)
    return len(parts) > 1 and any(part.startswith(".") for part in parts)


@dataclass(frozen=True, slots=True)
class AlbumNote:
    """What became of "Add to album" after a form upload."""

    album_id: str
    title: str
    message: str
    ok: bool


def render(form: UploadForm, outcomes: list[Outcome] | None = None, error: str | None = None,
           skipped: int = 0, album_note: AlbumNote | None = None,
           field_error: str | None = None) -> str:
    """The upload page: the form, the results of a form upload, and the limits for the script.

    The "Add to album" choice lists the albums the user may add to; ``?album=ID``
    (the album page's Upload button) chooses one.
    """
    who = require_actor()
    return render_template("upload.html", form=form, outcomes=outcomes, error=error,
                           skipped=skipped, limits=limits(), album_note=album_note,
                           field_error=field_error,
                           albums=runtime().albums.managed_by(who),
                           chosen_album=request.values.get("album", ""))


def add_to_album(album_id: str, outcomes: list[Outcome]) -> AlbumNote | None:
    """Put every stored image of a form upload (duplicates too) into the album chosen.

    A refusal (the album was deleted meanwhile, ...) becomes the note's message:
    the images stay uploaded.
    """
    stored = [o.image["id"] for o in outcomes if o.image is not None]
    if not stored:
        return None
    who = require_actor()
    try:
        for start in range(0, len(stored), MAX_IDS_PER_CALL):
            album, message = change_album(album_id, who, "add",
                                          stored[start:start + MAX_IDS_PER_CALL])
    except GalleryError as err:
        if err.status >= 500:
            raise
        return AlbumNote(album_id, "", f"The images were uploaded but not added to the album: "
                                       f"{err.message}", ok=False)
    return AlbumNote(album.id, album.title, message, ok=True)


@bp.route("/upload", methods=["GET", "POST"])
@login_required
def form():
    require_actor()
    form = UploadForm()
    if request.method == "GET":
        return render(form)
    if not form.validate():
        return render(form), 400
    sent = [f for f in request.files.getlist("images") if f and f.filename]
    files = [f for f in sent if not hidden_in_folder(f.filename)]
    if not files:
        return render(form, error="Choose at least one image.", skipped=len(sent)), 400
    if len(files) > runtime().settings["max_files"]:
        raise TooLarge(f"Send at most {runtime().settings['max_files']} files at once.")
    try:
        fields = batch_fields(request.form)
    except BadRequest as err:
        return render(form, field_error=err.message), 400
    album_id = request.form.get("album") or None
    if album_id is not None:
        runtime().albums.manageable(album_id, require_actor())  # refused before anything is stored
    # The gallery shows the newest first: the first file picked gets the latest time.
    start = utcnow()
    outcomes = [store_upload(f, fields, start - timedelta(milliseconds=n))
                for n, f in enumerate(files)]
    note = add_to_album(album_id, outcomes) if album_id is not None else None
    ok = [o for o in outcomes if o.status < 400]
    # Every file refused: answer with the first refusal's status so scripts see it.
    status = 200 if ok else outcomes[0].status
    return render(form, outcomes, skipped=len(sent) - len(files), album_note=note), status
