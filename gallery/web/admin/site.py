"""Admin: the site's settings -- title, tagline, about page, contact link, home page and
whether visitors see camera details (:mod:`gallery.site`).

The form works without JavaScript: **Preview** shows the about text as the about page
will (nothing is saved), **Save** stores every field at once; a refused value shows
the form again with the message and everything typed kept.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup

from gallery import markdown
from gallery import site as site_rules
from gallery.errors import BadRequest, GalleryError
from gallery.site import HOME_LABELS, MAX_ABOUT, MAX_CONTACT, MAX_TAGLINE, MAX_TITLE, Site
from gallery.web.admin.common import bp, me
from gallery.web.context import runtime

#: The choices of "Visitors see camera details", as the form sends them.
DETAILS = {"default": None, "show": True, "hide": False}


class SiteForm(FlaskForm):
    """Only the CSRF token: the fields are read from the request as typed."""


def _values(site: Site) -> dict[str, str]:
    """The form's fields as text, from the stored settings."""
    details = next(name for name, value in DETAILS.items() if value is site.show_details)
    return {"title": site.title, "tagline": site.tagline, "about": site.about,
            "contact": site.contact, "home": site.home, "home_album": site.home_album or "",
            "show_details": details}


def _changes(form: dict[str, str]) -> dict[str, Any]:
    """What the form sends, as :meth:`gallery.site.SiteSettings.update` takes it."""
    return {"title": form["title"], "tagline": form["tagline"], "about": form["about"],
            "contact": form["contact"], "home": form["home"],
            "home_album": form["home_album"] or None,
            "show_details": DETAILS.get(form["show_details"], "unknown")}


def _field_errors(changes: dict[str, Any]) -> dict[str, str]:
    """Each field's refusal, field by field, so the form can show them all at once."""
    checks = {
        "title": lambda: site_rules.check_title(changes["title"]),
        "tagline": lambda: site_rules.check_tagline(changes["tagline"]),
        "about": lambda: site_rules.check_about(changes["about"]),
        "contact": lambda: site_rules.check_contact(changes["contact"]),
        "home_album" if changes["home"] == "album" else "home":
            lambda: site_rules.check_home(changes["home"], changes["home_album"]),
        "show_details": lambda: site_rules.check_show_details(changes["show_details"]),
    }
    errors: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except BadRequest as err:
            errors[name] = err.message
    return errors


def _page(values: dict[str, str], *, status: int = 200, errors: dict[str, str] | None = None,
          preview: str | None = None) -> tuple[str, int]:
    rt = runtime()
    return render_template(
        "admin/site.html", form=SiteForm(), values=values, errors=errors or {},
        preview=Markup(preview) if preview is not None else None,
        albums=rt.albums.all(), home_labels=HOME_LABELS, stored=rt.site.get(),
        env_details=bool(rt.settings["show_details"]), base_url=rt.settings["base_url"],
        limits={"title": MAX_TITLE, "tagline": MAX_TAGLINE, "about": MAX_ABOUT,
                "contact": MAX_CONTACT},
    ), status


@bp.get("/site")
def site_settings():
    return _page(_values(runtime().site.get()))


@bp.post("/site")
def save_site():
    """Save the settings, or (``action=preview``) show the about text rendered.

    Raises:
        BadRequest: the CSRF token is missing or wrong (a refused value re-shows the form).
    """
    form = {name: request.form.get(name, "") for name in
            ("title", "tagline", "about", "contact", "home", "home_album", "show_details")}
    if request.form.get("action") == "preview":
        return _page(form, preview=markdown.render(form["about"]))
    changes = _changes(form)
    errors = _field_errors(changes)
    if not errors:
        try:
            runtime().site.update(changes, actor=me())
        except GalleryError as err:
            if err.status >= 500:
                raise
            errors = {"home_album" if "album" in err.message else "form": err.message}
    if errors:
        flash(f"Nothing was saved: {' '.join(errors.values())}", "error")
        return _page(form, status=400, errors=errors)
    flash("Saved the site's settings.", "info")
    return redirect(url_for("admin.site_settings"))
