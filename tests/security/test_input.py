"""Odd input answers 400 (or a one-line configuration error), never a 500 or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gallery.config import SETTINGS, load_settings
from gallery.errors import ConfigError
from tests.imaging.fixtures import jpeg

ROOT = Path(__file__).resolve().parents[2]

#: Values that str.isdigit, int, float or a careless parser get wrong.
ODD_VALUES = [
    "²", "¹²", "١٢", "１２", "٣", "Ⅻ", "𝟗", "1²", "9" * 400, "1" + "0" * 30, "-1", "-0", "+1", "",
    " ", " 1", "1 ", "0", "00", "1.5", "1e3", "1e400", "-1e400", "inf", "-inf", "nan", "0x10",
    "1_000", "\x00", "1\x00", "🙂", "null", "[]", "{}", "%", "%%", "..", "../..", "a" * 5000,
    "\u202e1", "true",
]
QUERY_NAMES = ["page", "limit", "cursor", "per_page", "sort", "order", "q", "uploader", "type",
               "tag", "download", "next"]


def upload(client) -> dict:
    created = client.api("POST", "/api/v1/images", files={"file": ("a.jpg", jpeg(), "image/jpeg")})
    assert created.status_code == 201, created.text
    return created.json()


def get_paths(app, image_id: str) -> list[str]:
    """Every GET route of the app, with a real image id and variant where it takes them."""
    urls = app.url_map.bind("localhost")
    values = {"image_id": image_id, "variant": "sm"}
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if set(rule.arguments) - set(values):
            continue
        paths.append(urls.build(rule.endpoint, {k: values[k] for k in rule.arguments}))
    return sorted(set(paths))


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_no_query_value_makes_any_page_fail(app, uploader, admin, anonymous, who):
    image = upload(uploader)
    client = {"anonymous": anonymous, "admin": admin}[who]
    paths = get_paths(app, image["id"])
    assert "/" in paths and "/api/v1/images" in paths and "/admin/images" in paths
    failures = []
    for path in paths:
        if path in ("/logout",):
            continue
        for value in ODD_VALUES:
            # Each odd value in every known parameter at once, then alone in the one each
            # route reads first (page, limit), so a 400 from one cannot hide a 500 of another.
            for params in ({name: value for name in QUERY_NAMES}, {"page": value},
                           {"limit": value}):
                response = client.get(path, params=params)
                if response.status_code >= 500:
                    failures.append((path, sorted(params), value, response.status_code))
    assert not failures, failures[:20]


@pytest.mark.parametrize("value", ["²", "¹", "１２", "٣", "9" * 400, "-1", "", "0", "1e3", " 7"])
def test_odd_page_and_limit_are_a_clear_400(anonymous, uploader, value):
    upload(uploader)
    page = anonymous.get("/", params={"page": value})
    assert page.status_code == 400, (value, page.status_code)
    assert "whole number" in page.text
    listing = anonymous.get("/api/v1/images", params={"limit": value})
    assert listing.status_code == 400, (value, listing.status_code)
    assert listing.json()["error"]["code"] == "bad_request"
    assert "whole number" in listing.json()["error"]["message"]


def test_plain_page_and_limit_still_work(anonymous, uploader):
    upload(uploader)
    assert anonymous.get("/", params={"page": "1"}).status_code == 200
    listing = anonymous.get("/api/v1/images", params={"limit": "100"})
    assert listing.status_code == 200 and len(listing.json()["images"]) == 1


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"title": ' * 50_000 + b'"x"' + b"}" * 50_000,
    b'{"title": [[[[[[[[[["deep"]]]]]]]]]]}',
    b'{"title": "' + b"x" * 200_000 + b'"}',
    b"\xff\xfe not json",
    b'{"title": "a", }',
    b"NaN",
    b'{"title": "\\ud800"}',
], ids=["deep-array", "deep-object", "nested-ten", "large", "binary", "trailing-comma", "nan",
        "lone-surrogate"])
def test_odd_json_in_a_patch_is_a_400(uploader, body):
    image = upload(uploader)
    response = uploader.api("PATCH", f"/api/v1/images/{image['id']}", data=body,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.json()["error"]["code"] == "bad_request"
    again = uploader.get(f"/api/v1/images/{image['id']}")
    assert again.status_code == 200 and again.json()["title"] == image["title"]


def test_a_plain_patch_still_works(uploader):
    image = upload(uploader)
    response = uploader.api("PATCH", f"/api/v1/images/{image['id']}",
                            json={"title": "Harbour", "description": "At dusk"})
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Harbour"


# --- settings ------------------------------------------------------------------------------

NUMBER_SETTINGS = [s for s in SETTINGS if s.parse.__name__ in (
    "_parse_bytes", "_parse_positive_int", "_parse_count", "_parse_positive_float")]
BAD_NUMBERS = ["1e400", "-1e400", "inf", "-inf", "nan", "NaN", "-1", "-5MB", "1" + "0" * 40,
               "1" + "0" * 400 + "MB", "²", "١٢", "１２", "1²", "0x10", "1e3", "", "MB", "1.2.3",
               "5 MB MB", "\x00", "1\x00", "🙂"]


@pytest.mark.parametrize("setting", NUMBER_SETTINGS, ids=[s.env for s in NUMBER_SETTINGS])
def test_every_number_setting_refuses_odd_values_with_a_config_error(setting):
    for value in BAD_NUMBERS:
        if value == "":
            continue  # empty means the default
        with pytest.raises(ConfigError) as caught:
            load_settings({setting.env: value})
        assert setting.env in caught.value.message
        assert "\n" not in caught.value.message


def test_number_settings_still_read_plain_values():
    values = load_settings({"GALLERY_MAX_FILE_BYTES": "1.5MB", "GALLERY_MAX_REQUEST_BYTES": "512KiB",
                            "GALLERY_MAX_FILES": "1_000", "GALLERY_STORAGE_TIMEOUT": "2.5",
                            "GALLERY_TRUSTED_PROXIES": "0"})
    assert values["max_file_bytes"] == 1_500_000
    assert values["max_request_bytes"] == 512 * 1024
    assert values["max_files"] == 1000
    assert values["storage_timeout"] == 2.5
    assert values["trusted_proxies"] == 0


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    return env | {"GALLERY_STORAGE": "memory://"} | settings


@pytest.mark.parametrize("command", [
    [str(Path(sys.executable).parent / "flask"), "--app", "app", "users", "list"],
    [sys.executable, "-m", "gallery.serve", "--port", "1"],
], ids=["flask", "server"])
@pytest.mark.parametrize(("name", "value"), [("GALLERY_MAX_FILE_BYTES", "1e400"),
                                             ("GALLERY_MAX_PIXELS", "²"),
                                             ("GALLERY_STORAGE_TIMEOUT", "nan"),
                                             ("GALLERY_LOGIN_WINDOW", "-5")])
def test_a_bad_setting_is_one_line_and_a_non_zero_exit(command, name, value):
    done = subprocess.run(command, cwd=ROOT, env=_env(**{name: value}), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and "Traceback" not in done.stderr
