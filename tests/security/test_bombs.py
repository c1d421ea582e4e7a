"""Decoding-cost bombs: small files that would cost far more to decode than they weigh.

Each bomb goes through the real upload pipeline in a child process, which
reports its peak resident memory and the time taken: a refused bomb must be
refused cheaply, and the largest files still accepted must stay within one
upload's budget (a few seconds, about 300 MB). The bounds are generous: the
machine is shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security import bombs

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000

#: What one upload may cost at worst: the pipeline's budget, with room for a busy machine.
WORST_SECONDS = 15.0
WORST_MEMORY = 360 * MB
#: What refusing a bomb may cost.
REFUSE_SECONDS = 3.0
REFUSE_MEMORY = 60 * MB


def decode_in_child(tmp_path: Path, data: bytes) -> dict:
    """Run ``data`` through the pipeline in a fresh process; what it cost and how it ended."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.security.decode_child", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["used_bytes"] = report["peak_bytes"] - report["start_peak_bytes"]
    return report


REFUSED = [
    # builder, status, words of the message
    ("jpeg_many_scans", 422, "3000 scans"),
    ("png_16bit_rgba", 413, "memory"),
    ("png_8bit_rgba", 413, "memory"),
    ("png_huge_iccp", 422, "PNG"),
    ("png_text_flood", 422, "PNG"),
    ("png_text_after_image", 422, "PNG"),
    ("gif_frames_bomb", 413, "frames"),
    ("webp_frames_bomb", 413, "frames"),
]


@pytest.mark.parametrize(("builder", "status", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bomb_is_refused_before_it_costs_much(tmp_path, builder, status, words):
    data = getattr(bombs, builder)()
    assert len(data) < 3 * MB  # a bomb is small: its cost is in the decoding
    report = decode_in_child(tmp_path, data)
    assert (report["outcome"], report["status"]) == ("refused", status), report
    assert words in report["message"]
    assert report["seconds"] < REFUSE_SECONDS, report
    assert report["used_bytes"] < REFUSE_MEMORY, report


HARMLESS = ["png_exif_bomb", "jpeg_exif_bomb", "webp_huge_icc"]


@pytest.mark.parametrize("builder", HARMLESS)
def test_hostile_metadata_costs_little(tmp_path, builder):
    """Looping EXIF directories and a colour profile of garbage do not cost their claims."""
    report = decode_in_child(tmp_path, getattr(bombs, builder)())
    assert report["seconds"] < REFUSE_SECONDS, report
    assert report["used_bytes"] < REFUSE_MEMORY, report


AT_LIMITS = ["png_rgba_at_memory_limit", "png_rgb_at_pixel_limit", "png_grey16_at_memory_limit",
             "jpeg_progressive_at_limits", "webp_frames_at_limit", "gif_frames_at_limit"]


@pytest.mark.slow
@pytest.mark.parametrize("builder", AT_LIMITS)
def test_the_largest_accepted_upload_stays_within_budget(tmp_path, builder):
    report = decode_in_child(tmp_path, getattr(bombs, builder)())
    assert report["outcome"] == "accepted", report
    assert report["seconds"] < WORST_SECONDS, report
    assert report["used_bytes"] < WORST_MEMORY, report


def test_the_scan_limit_is_what_real_progressive_jpegs_pass(tmp_path):
    """One scan more than the limit is refused; a real progressive JPEG has about ten."""
    from tests.imaging.fixtures import jpeg_progressive

    assert decode_in_child(tmp_path, jpeg_progressive())["outcome"] == "accepted"
    over = decode_in_child(tmp_path, bombs.jpeg_many_scans(scans=101, side=256))
    assert (over["status"], "101 scans" in over["message"]) == (422, True), over


@pytest.mark.parametrize(("builder", "status", "words"), [("jpeg_many_scans", 422, "scans"),
                                                          ("png_16bit_rgba", 413, "memory")])
def test_the_api_answers_a_bomb_with_a_clear_error(uploader, builder, status, words):
    data = getattr(bombs, builder)()
    response = uploader.api("POST", "/api/v1/images",
                            files={"file": ("holiday.jpg", data, "image/jpeg")})
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    listing = uploader.get("/api/v1/images").json()
    assert listing["images"] == []
