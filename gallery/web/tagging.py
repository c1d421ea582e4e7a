"""Tagging many images at once: ``POST /images/tags``, the form of the grid's select mode
(the admin table's bulk form uses :func:`apply_tag_form` too), and ``GET /images/tags``,
the tags to suggest.

Fields: ``ids`` (the images), ``tags`` (separated by commas), ``tag_action``
(``add`` or ``remove``), ``back`` (where to return), and the CSRF token.
Answers JSON ``{"message", "changed"}`` to scripts, else goes back with the
message shown.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for

from gallery.errors import BadRequest
from gallery.images.results import Actor
from gallery.images.tagging import TagsChanged, parse_tags
from gallery.web.albums import plural
from gallery.web.context import require_actor, runtime, safe_next
from gallery.web.errors import wants_json

bp = Blueprint("tagging", __name__)

#: The values of ``tag_action``.
ACTIONS = ("add", "remove")


def _quoted(tags: tuple[str, ...]) -> str:
    return ", ".join(f"“{t}”" for t in tags)


def describe(action: str, done: TagsChanged) -> str:
    """What to tell the person who tagged (or untagged) the images."""
    tags, n, same = _quoted(done.tags), len(done.changed), done.unchanged
    word = "it" if len(done.tags) == 1 else "them"
    if not n and not same:
        return "The selected images are no longer in the gallery."
    if action == "add":
        if n:
            message = f"Tagged {plural(n, 'image')} {tags}."
            if same:
                message += f" {plural(same, 'image')} had {word} already."
        else:
            message = f"No image changed: the {plural(same, 'image')} selected had {tags} already."
    elif n:
        message = f"Took {tags} off {plural(n, 'image')}."
        if same:
            message += f" {plural(same, 'image')} did not have {word}."
    else:
        message = f"No image changed: none of the {plural(same, 'image')} selected had {tags}."
    if done.missing:
        gone = "was" if done.missing == 1 else "were"
        message += f" {plural(done.missing, 'image')} {gone} no longer in the gallery."
    return message


def apply_tag_form(who: Actor, action: str) -> tuple[str, TagsChanged]:
    """Add (``action="add"``) or remove the tags of the submitted form (fields ``tags`` and
    ``ids``); ``(message, what it did)``.

    Raises:
        BadRequest: no image or no tag, an unknown action, a tag that breaks the rules
            of tags, or an image that would have too many (nothing is changed).
        Forbidden: an image the user may not change is selected (nothing is changed).
    """
    if action not in ACTIONS:
        raise BadRequest("Choose Add tags or Remove tags.")
    ids = request.form.getlist("ids")
    if not ids:
        raise BadRequest("Select at least one image first.")
    tags = parse_tags(request.form.get("tags", ""))
    images = runtime().images
    if action == "add":
        done = images.change_tags(ids, add=tags, actor=who)
    else:
        done = images.change_tags(ids, remove=tags, actor=who)
    return describe(action, done), done


@bp.post("/images/tags")
def change() -> Response:
    """Add tags to the selected images, or take them off (their owner, or an admin).

    Raises:
        NotSignedIn; BadRequest, Forbidden: see :func:`apply_tag_form`.
    """
    who = require_actor()
    message, done = apply_tag_form(who, request.form.get("tag_action", ""))
    if wants_json():
        return jsonify(message=message, changed=list(done.changed))
    flash(message, "info")
    return redirect(safe_next(request.form.get("back"), url_for("pages.index")))


@bp.get("/images/tags")
def suggestions() -> Response:
    """The tags already used in the gallery, most used first: ``{"tags": [...]}``, for the
    tag field of the grid's select mode (signed-in users).

    Raises:
        NotSignedIn.
    """
    require_actor()
    response = jsonify(tags=runtime().images.tags())
    response.headers["Cache-Control"] = "private, no-cache"
    return response
