"""Admin: cleanup, reindex, the audit log and the export."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain

from flask import Response, render_template, request

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


@bp.get("/doctor")
def doctor():
    """The health checks of ``gallery doctor``: settings, storage, codecs, index, accounts."""
    return render_template("admin/doctor.html", checks=runtime().operations.doctor())


@bp.get("/audit")
def audit_log():
    return render_template("admin/audit.html", entries=runtime().audit.latest(AUDIT_PAGE),
                           limit=AUDIT_PAGE)


@bp.get("/export.zip")
def export_zip() -> Response:
    """The whole gallery as a zip, streamed as it is built (never held in memory)."""
    chunks = runtime().operations.iter_export_zip(actor=me())
    # The first chunk is made here, before the status line is sent: a damaged
    # index or a storage outage then gets its proper error page, not a cut-off download.
    first = next(chunks, b"")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(chain([first], chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="gallery-export-{stamp}.zip"'
    return response
