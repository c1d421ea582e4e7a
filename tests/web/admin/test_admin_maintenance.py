"""The dashboard, cleanup, reindex, health checks, the audit log and the export download."""

from __future__ import annotations

import io
import re
import zipfile

import orjson
import pytest

from gallery.catalog import Remove
from gallery.keys import new_image_id
from gallery.web.admin.dashboard import CHART_HEIGHT, bars
from tests.web.admin.forms import csrf_of


@pytest.fixture
def settings() -> dict:
    """No grace period: what cleanup finds is old enough to remove at once."""
    return {"cleanup_grace": 0}


def orphan(runtime) -> str:
    """An original with no catalog entry (an upload that stopped half-way); returns its key."""
    key = runtime.keys.original(new_image_id())
    runtime.storage.put(key, b"left behind", content_type="image/png")
    return key


def test_dashboard_shows_figures_chart_largest_and_audit(admin, runtime, add_image):
    small = add_image("small.png", size=(20, 20))
    big = add_image("big.png", size=(400, 300))
    runtime.audit.record("ada", "user.create", "cleo", role="uploader")
    page = admin.get("/admin/").text
    assert re.search(r'<p class="figure"><a href="/admin/images">2</a></p>', page)
    assert '<a href="/admin/images?type=image/png">image/png</a></th><td class="num">2</td>' in page
    for kind in ("originals", "variants", "metadata", "index"):
        assert f'<th scope="row">{kind}</th>' in page
    # The chart: an SVG image with a title and description, 30 bars, and a table of the same days.
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in page
    assert len(re.findall(r'<rect [^>]*class="bar"', page)) == 30
    assert "2 uploads in 30 days" in page
    assert len(re.findall(r'<tr><th scope="row">\d{4}-\d\d-\d\d</th>', page)) == 30
    # The largest first, linked; storage facts; the audit entry.
    assert page.index(f'href="/images/{big["id"]}"') < page.index(f'href="/images/{small["id"]}"')
    assert "<code>memory</code>" in page or "<code>file</code>" in page
    assert "user.create" in page and "cleo" in page


def test_dashboard_of_an_empty_gallery(admin):
    page = admin.get("/admin/").text
    assert "0 uploads in 30 days" in page
    assert "No images yet." in page
    assert "Nothing recorded yet." in page


def test_audit_log_newest_first(admin, runtime):
    runtime.audit.record("ada", "user.create", "first")
    runtime.audit.record("ada", "user.delete", "second")
    page = admin.get("/admin/audit").text
    assert page.index("<code>second</code>") < page.index("<code>first</code>")
    assert "<caption>The latest 100 entries, newest first</caption>" in page


def test_cleanup_shows_a_dry_run_and_changes_nothing_until_confirmed(admin, runtime, add_image):
    add_image("kept.png")
    key = orphan(runtime)
    page = admin.get("/admin/cleanup")
    assert page.status_code == 200
    assert "This is a dry run: nothing has changed." in page.text
    assert "Orphaned objects: 1" in page.text and key in page.text
    assert runtime.storage.exists(key)

    confirm = admin.get("/admin/cleanup/run")
    assert "Clean up now?" in confirm.text and key in confirm.text
    assert runtime.storage.exists(key)
    assert [e.action for e in runtime.audit.latest(5)] == []

    done = admin.request("POST", "/admin/cleanup/run", data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 200
    assert "Cleanup done" in done.text and "Removed 1, regenerated 0" in done.text
    assert not runtime.storage.exists(key)
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["removed"]) == ("ada", "gallery.cleanup", 1)
    assert len(runtime.images.view().ids()) == 1

    again = admin.get("/admin/cleanup").text
    assert "Everything is consistent" in again and "Clean up now…" not in again


def test_cleanup_needs_the_csrf_token(admin, runtime):
    key = orphan(runtime)
    assert admin.request("POST", "/admin/cleanup/run").status_code == 400
    assert runtime.storage.exists(key)


def test_reindex_asks_first_then_rebuilds_and_reports(admin, runtime, add_image):
    image = add_image("lost.png")
    runtime.storage.delete(runtime.keys.index)  # the catalog is gone; the images are not
    runtime.images.catalog.forget()
    confirm = admin.get("/admin/reindex")
    assert "Rebuild the index?" in confirm.text
    assert not runtime.storage.exists(runtime.keys.index)

    done = admin.request("POST", "/admin/reindex", data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 200
    assert "Index rebuilt" in done.text and "1 image in the index now" in done.text
    assert image["id"] in done.text
    assert image["id"] in runtime.images.view().ids()
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["added"]) == ("ada", "gallery.reindex", 1)
    assert admin.request("POST", "/admin/reindex").status_code == 400  # no CSRF token


def test_health_checks_run_from_a_button(admin, runtime):
    page = admin.get("/admin/doctor").text
    assert "Run the checks" in page and "storage reachable" not in page
    done = admin.post_form("/admin/doctor")
    assert done.status_code == 200
    assert "checks passed" in done.text
    assert '<th scope="row">storage reachable</th>' in done.text
    assert admin.request("POST", "/admin/doctor").status_code == 400  # no CSRF token


def test_export_streams_a_zip_of_the_originals_and_a_manifest(admin, runtime, add_image):
    images = [add_image("one.png"), add_image("two.png")]
    assert "Download the export" in admin.get("/admin/export").text
    response = admin.post_form("/admin/export.zip", form_page="/admin/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert re.fullmatch(r'attachment; filename="gallery-export-\d{8}-\d{6}\.zip"',
                        response.headers["Content-Disposition"])
    assert "Content-Length" not in response.headers  # streamed, not built in memory first
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest = orjson.loads(archive.read("manifest.json"))
        for image in images:
            stored = runtime.storage.get(runtime.keys.original(image["id"]))
            [name] = [n for n in names if image["id"] in n and n.startswith("originals/")]
            assert archive.read(name) == stored
    assert {r["id"] for r in manifest["images"]} == {i["id"] for i in images}
    entry = runtime.audit.latest(1)[0]
    assert (entry.actor, entry.action, entry.details["images"]) == ("ada", "gallery.export", 2)


def test_cleanup_puts_back_a_whole_image_missing_from_the_catalog(admin, runtime, add_image):
    image = add_image("lost.png")
    record = runtime.images.record(image["id"])
    runtime.images.catalog.apply([Remove(record.key, record.id)])
    page = admin.get("/admin/cleanup").text
    assert "Whole images missing from the index: 1" in page and image["id"] in page
    assert image["id"] not in runtime.images.view().ids()

    confirm = admin.get("/admin/cleanup/run").text
    done = admin.request("POST", "/admin/cleanup/run", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 200
    assert image["id"] in runtime.images.view().ids()
    assert admin.get(f"/media/{image['id']}").status_code == 200


def test_chart_bars_scale_to_the_busiest_day():
    drawn = bars([("2026-11-01", 0), ("2026-11-02", 1), ("2026-11-03", 200)])
    assert [b.day for b in drawn] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert drawn[0].height == 0
    assert drawn[1].height >= 2  # one upload next to a busy day stays visible
    assert drawn[2].height == CHART_HEIGHT and drawn[2].y == 0
    assert drawn[0].x < drawn[1].x < drawn[2].x
    assert all(b.height == 0 for b in bars([("2026-11-01", 0), ("2026-11-02", 0)]))
    assert bars([]) == []
