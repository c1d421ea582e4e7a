"""Admin: cleanup, reindex, the audit log and the export."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain

from flask import Response, render_template, request

from gallery.errors import BadRequest
from gallery.web.admin.common import ConfirmForm, bp, me
from gallery.web.context import runtime

AUDIT_PAGE = 100


@bp.get("/cleanup")
def cleanup():
    """What a cleanup would do; nothing changes until it is confirmed."""
    report = runtime().operations.cleanup(dry_run=True, actor=me())
    return render_template("admin/cleanup.html", report=report)


@bp.route("/cleanup/run", methods=["GET", "POST"])
def run_cleanup():
    """GET: the confirmation (with what will be done); POST: the cleanup itself."""
    form = ConfirmForm()
    ops = runtime().operations
    if request.method == "POST" and form.validate():
        report = ops.cleanup(dry_run=False, actor=me())
        return render_template("admin/cleanup.html", report=report)
    report = ops.cleanup(dry_run=True, actor=me())
    return render_template("admin/cleanup_confirm.html", report=report, form=form)


@bp.route("/reindex", methods=["GET", "POST"])
def reindex():
    """GET: the confirmation; POST: rebuild the index and show the report."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        report = runtime().operations.reindex(actor=me())
        return render_template("admin/reindex.html", report=report, form=form)
    return render_template("admin/reindex.html", report=None, form=form)


@bp.route("/doctor", methods=["GET", "POST"])
def doctor():
    """GET: a button; POST: the checks of ``gallery doctor`` (they write a probe object)."""
    form = ConfirmForm()
    checks = None
    if request.method == "POST" and form.validate():
        checks = runtime().operations.doctor()
    return render_template("admin/doctor.html", checks=checks, form=form)


@bp.get("/audit")
def audit_log():
    return render_template("admin/audit.html", entries=runtime().audit.latest(AUDIT_PAGE),
                           limit=AUDIT_PAGE)


@bp.get("/export")
def export():
    """A button that starts the download: the export is made only by a POST with CSRF."""
    return render_template("admin/export.html", form=ConfirmForm())


@bp.post("/export.zip")
def export_zip() -> Response:
    """The whole gallery as a zip, streamed as it is built (never held in memory).

    A POST, so that no link from another site can start it: it reads every
    original and writes an audit entry.
    """
    if not ConfirmForm().validate():
        raise BadRequest("The form expired; reload the export page and try again.")
    chunks = runtime().operations.iter_export_zip(actor=me())
    # The first chunk is made here, before the status line is sent: a damaged
    # index or a storage outage then gets its proper error page, not a cut-off download.
    first = next(chunks, b"")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(chain([first], chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="gallery-export-{stamp}.zip"'
    return response
