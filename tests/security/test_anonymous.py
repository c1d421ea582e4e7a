"""Anonymous requests with bodies: refused before the body is read.

An attacker without an account must not make the server read, parse or spool
to disk up to the request limit (200 MB by default) per request. The tests
announce a large body, send only its start over a raw socket, and expect the
answer while the rest is still unsent: a server that read the body would sit
waiting for it instead.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from tests.web.harness import Client

#: What the announced body would be: far more than is sent.
ANNOUNCED = 150_000_000
#: How long the answer may take; a server waiting for the body would never answer.
ANSWER_WITHIN = 10.0
BOUNDARY = "attackboundary"


def head_of_upload(field: str) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + b"\xff" * 4096


def send_partial(base: str, method: str, path: str, headers: dict[str, str], start: bytes) -> bytes:
    """Send the request line, ``headers`` and the first bytes of a body; return the answer's head.

    Raises:
        TimeoutError: no answer within ``ANSWER_WITHIN`` seconds (the server waits for the body).
    """
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_WITHIN) as sock:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + start)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def multipart_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(ANNOUNCED), **extra}


def test_anonymous_api_upload_is_401_not_a_csrf_error(anonymous):
    response = anonymous.request("POST", "/api/v1/images",
                                 files={"file": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


@pytest.mark.parametrize(("method", "path"), [("PATCH", "/api/v1/images/" + "0" * 32),
                                              ("DELETE", "/api/v1/images/" + "0" * 32)])
def test_anonymous_api_changes_are_401(anonymous, users, method, path):
    response = anonymous.request(method, path, json={"title": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


@pytest.mark.parametrize("csrf", [False, True])
def test_anonymous_api_upload_is_refused_before_its_body(base_url, anonymous, csrf):
    extra = {"X-CSRFToken": anonymous.csrf("/login")} if csrf else {}
    cookie = "; ".join(f"{c.name}={c.value}" for c in anonymous.session.cookies)
    if cookie:
        extra["Cookie"] = cookie
    answer = send_partial(base_url, "POST", "/api/v1/images", multipart_headers(**extra),
                          head_of_upload("file"))
    assert status_of(answer) == 401, answer[:300]
    assert b"not_signed_in" in answer or b"application/json" in answer


def test_anonymous_form_upload_is_sent_to_sign_in_before_its_body(base_url, users):
    answer = send_partial(base_url, "POST", "/upload", multipart_headers(), head_of_upload("images"))
    assert status_of(answer) == 302, answer[:300]
    assert b"/login" in answer


def test_a_chunked_anonymous_upload_is_refused_before_its_body(base_url, users):
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
               "Transfer-Encoding": "chunked"}
    start = head_of_upload("file")
    chunk = f"{len(start):x}\r\n".encode() + start + b"\r\n"
    answer = send_partial(base_url, "POST", "/api/v1/images", headers, chunk)
    assert status_of(answer) == 401, answer[:300]


@pytest.mark.parametrize("path", ["/login", "/setup", "/logout", "/images/" + "0" * 32 + "/edit"])
def test_other_anonymous_bodies_are_capped_small(base_url, users, path):
    answer = send_partial(base_url, "POST", path, multipart_headers(), head_of_upload("x"))
    assert status_of(answer) in (302, 401, 413), answer[:300]


def test_a_junk_token_upload_is_refused_before_its_body(base_url, users):
    answer = send_partial(base_url, "POST", "/api/v1/images",
                          multipart_headers(Authorization="Bearer junk"), head_of_upload("file"))
    assert status_of(answer) == 401, answer[:300]


def test_signed_in_uploads_still_work(uploader):
    from tests.web.images import distinct_png

    token = uploader.csrf("/upload")
    response = uploader.request("POST", "/api/v1/images", headers={"X-CSRFToken": token},
                                files={"file": ("a.png", distinct_png(7), "image/png")})
    assert response.status_code == 201
    page = uploader.post_form("/upload", files={"images": ("b.png", distinct_png(8), "image/png")})
    assert page.status_code == 200 and "Uploaded." in page.text


def test_sign_in_still_works_with_a_small_form(make_client, users):
    client: Client = make_client()
    assert client.login("ada", "correct horse battery").status_code == 302
