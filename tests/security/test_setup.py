"""First-run set-up: only whoever can read the server's log becomes the first admin.

On a freshly deployed public site anybody may reach ``/setup`` first. The page
asks for a one-time code that the server prints in its log at start-up; every
worker agrees on it (it is kept in the bucket), it never appears in a
response, and wrong codes are throttled.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

from gallery import setup_code
from tests.test_serve import BOOT_TIMEOUT, ROOT, free_port, gallery_env, gunicorn_args, stop
from tests.web.harness import Client

ADMIN = {"username": "ada", "password": "long enough pw", "confirm": "long enough pw"}
CODE_IN_LOG = re.compile(r"open (\S+) in a browser and type this set-up code: ([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})")


def code_of(runtime) -> str:
    code = setup_code.read(runtime.storage, runtime.keys)
    assert code
    return code


def test_the_set_up_page_needs_the_code(make_client, runtime):
    client = make_client()
    page = client.get("/setup")
    assert "Set-up code" in page.text
    missing = client.post_form("/setup", ADMIN)
    assert missing.status_code == 400
    wrong = client.post_form("/setup", {**ADMIN, "code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 403
    assert "set-up code is not right" in wrong.text
    assert runtime.accounts.count() == 0

    right = client.post_form("/setup", {**ADMIN, "code": code_of(runtime).lower()})
    assert right.status_code == 302
    assert runtime.accounts.get("ada").is_admin
    assert setup_code.read(runtime.storage, runtime.keys) is None  # used up


def test_the_code_never_appears_in_a_response(make_client, runtime):
    code = code_of(runtime)
    shown = setup_code.shown(code)
    client = make_client()
    responses = [client.get(p) for p in ("/", "/setup", "/login", "/healthz", "/api/v1/images",
                                         "/nothing-here", "/admin/")]
    responses.append(client.post_form("/setup", {**ADMIN, "code": "WRONG-CODE"}))
    responses.append(client.post_form("/setup", {"code": code}))  # right code, form incomplete
    for response in responses:
        text = response.text + str(dict(response.headers))
        assert code not in text and shown not in text, response.url


@pytest.mark.parametrize("settings", [{"login_attempts": 3, "trusted_proxies": 1}])
def test_wrong_codes_are_throttled(make_client, runtime):
    client = make_client()
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    for n in range(3):
        token = client.csrf("/setup")
        response = client.request("POST", "/setup", headers=attacker,
                                  data={"csrf_token": token, **ADMIN, "code": f"WRONG{n}"})
        assert response.status_code == 403
    token = client.csrf("/setup")
    response = client.request("POST", "/setup", headers=attacker,
                              data={"csrf_token": token, **ADMIN, "code": code_of(runtime)})
    assert response.status_code == 429
    assert runtime.accounts.count() == 0
    with make_client() as owner:
        token = owner.csrf("/setup")
        response = owner.request("POST", "/setup", headers={"X-Forwarded-For": "198.51.100.1"},
                                 data={"csrf_token": token, **ADMIN, "code": code_of(runtime)})
        assert response.status_code == 302


def test_every_gunicorn_worker_prints_and_accepts_the_same_code(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = gallery_env(GALLERY_STORAGE=f"file://{tmp_path / 'bucket'}")
    with open(log, "wb") as out:
        proc = subprocess.Popen(gunicorn_args(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=out, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        found: list[tuple[str, str]] = []
        while time.monotonic() < deadline and len(found) < 2:  # one line per worker
            assert proc.poll() is None, log.read_text()
            found = CODE_IN_LOG.findall(log.read_text(errors="replace"))
            time.sleep(0.1)
        assert len(found) >= 2, log.read_text()
        assert {where for where, _ in found} == {"/setup"}
        codes = {code for _, code in found}
        assert len(codes) == 1, found
        code = codes.pop()
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        with Client(base) as browser:
            for _ in range(4):  # wrong codes on whichever worker answers
                wrong = browser.post_form("/setup", {**ADMIN, "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"},
                                          headers={"Connection": "close"})
                assert wrong.status_code == 403
                assert code not in wrong.text
            right = browser.post_form("/setup", {**ADMIN, "code": code})
            assert right.status_code == 302, right.text
    finally:
        stop(proc)


def test_users_create_works_without_the_code(tmp_path):
    env = gallery_env(GALLERY_STORAGE=f"file://{tmp_path / 'bucket'}")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "users", "create", "ada", "--role", "admin",
         "--password-stdin"],
        cwd=ROOT, env=env, input="a long password\n", capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "set-up code" not in done.stderr + done.stdout
