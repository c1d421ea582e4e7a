"""`flask --app app gallery backfill`, through click's runner on a file bucket."""

from __future__ import annotations

import pytest

from gallery.catalog import Change
from tests.imaging import heif_files as files


@pytest.fixture
def app(tmp_path):
    from gallery import create_app

    return create_app({"storage": f"file://{tmp_path / 'bucket'}", "secret_key": "cli-test"},
                      environ={})


def test_backfill_reads_the_originals_missing_details_and_can_run_again(app):
    images = app.extensions["gallery"].images
    heic = images.upload(files.heic_with_gps(), "a.heic", uploaded_by="ada").image["id"]
    images.upload(files.encode_avif(), "b.avif", uploaded_by="ada")
    ops = [Change(r.key, r.id, lambda current: current.with_changes(camera={}, taken_at=None))
           for r in images.view().records()]
    for record in images.d.catalog.apply(ops).values():
        images.d.store.write_meta(record)

    runner = app.test_cli_runner()
    done = runner.invoke(args=["gallery", "backfill"])
    assert done.exit_code == 0, done.output
    assert "Checked 2 images: 1 got camera details or a date taken, 1 have none in their file." \
        in done.output
    images.catalog.forget()
    assert images.record(heic).taken_at == "2026-07-14T18:03:12+02:00"
    assert images.get(heic)["camera"]["model"] == "Model Nine"

    again = runner.invoke(args=["gallery", "backfill"])
    assert again.exit_code == 0
    assert "Checked 1 image: 0 got camera details or a date taken, 1 have none" in again.output
    assert "Skipped 1 image that had them already or cannot have them." in again.output
