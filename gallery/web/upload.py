"""The upload form: many files in one go, works without JavaScript."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage

from gallery.albums.model import MAX_IDS_PER_CALL
from gallery.errors import GalleryError, TooLarge
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


def read_limited(file: FileStorage, limit: int) -> bytes:
    """The uploaded file's bytes, refusing more than ``limit`` without reading it all.

    Raises:
        TooLarge: the file is larger than ``limit``.
    """
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"“{file.filename}” is larger than {limit / 1_000_000:g} MB.")
    return data


def accept(file: FileStorage) -> UploadResult:
    """Read one uploaded file within the size limit and store it for the signed-in user.

    Raises:
        NotSignedIn: nobody is signed in.
        TooLarge, UnsupportedType, DamagedImage: the file is refused.
        StorageUnavailable: the storage did not answer.
    """
    rt = runtime()
    who = require_actor()
    data = read_limited(file, rt.settings["max_file_bytes"])
    return rt.images.upload(data, file.filename or "image", uploaded_by=who.username)


def store_upload(file: FileStorage) -> Outcome:
    """Validate and store one uploaded file; errors become an :class:`Outcome`, never a 500."""
    name = file.filename or "image"
    try:
        result = accept(file)
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
           skipped: int = 0, album_note: AlbumNote | None = None) -> str:
    """The upload page: the form, the results of a form upload, and the limits for the script.

    The "Add to album" choice lists the albums the user may add to; ``?album=ID``
    (the album page's Upload button) chooses one.
    """
    who = require_actor()
    return render_template("upload.html", form=form, outcomes=outcomes, error=error,
                           skipped=skipped, limits=limits(), album_note=album_note,
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
    album_id = request.form.get("album") or None
    if album_id is not None:
        runtime().albums.manageable(album_id, require_actor())  # refused before anything is stored
    outcomes = [store_upload(f) for f in files]
    note = add_to_album(album_id, outcomes) if album_id is not None else None
    ok = [o for o in outcomes if o.status < 400]
    # Every file refused: answer with the first refusal's status so scripts see it.
    status = 200 if ok else outcomes[0].status
    return render(form, outcomes, skipped=len(sent) - len(files), album_note=note), status
