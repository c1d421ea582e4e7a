"""`gallery trash list|restore|empty`, run as a user runs them: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gallery import create_app
from gallery.images.results import Actor
from tests.images import make_image

ROOT = Path(__file__).resolve().parent.parent


def test_trash_list_restore_and_empty(tmp_path):
    storage = f"file://{tmp_path / 'bucket'}"
    app = create_app({"storage": storage, "secret_key": "cli-test"}, environ={})
    images = app.extensions["gallery"].images
    ids = [images.upload(make_image("png", n), f"p{n}.png", uploaded_by="ada",
                         title=f"Picture {n}").image["id"] for n in range(3)]
    for image_id in ids:
        images.delete(image_id, actor=Actor("ada"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    env |= {"GALLERY_STORAGE": storage, "GALLERY_SECRET_KEY": "cli-test"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "gallery", "trash",
                               *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].startswith(ids[2])  # most recent first
    assert "Picture 0" in listing.stdout and "by ada" in listing.stdout
    assert "3 images in the trash" in listing.stderr
    assert {e["id"] for e in json.loads(cli("list", "--json").stdout)} == set(ids)

    restored = cli("restore", ids[0])
    assert restored.returncode == 0, restored.stderr
    assert f"Restored {ids[0]} “Picture 0”." in restored.stdout
    missing = cli("restore", ids[0])
    assert missing.returncode == 1 and "no such image in the trash" in missing.stderr

    assert "Deleted 0 images for good." in cli("empty", "--older-than", "5", "--yes").stdout
    emptied = cli("empty", "--yes")
    assert emptied.returncode == 0 and "Deleted 2 images for good." in emptied.stdout
    assert cli("list").stdout.strip() == "The trash is empty."
    images.catalog.forget()
    assert images.view().ids() == {ids[0]}
