"""The about page over real HTTP: Markdown shown as sanitised HTML (script and event-handler
payloads come out inert), the contact link, 404 while there is no about text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from gallery.markdown import ALLOWED_TAGS

#: What the page's frame has of its own, around the about text.
FRAME_TAGS = {"html", "head", "meta", "title", "link", "script", "body", "a", "header", "div",
              "nav", "main", "p", "article", "h1", "footer", "small", "form", "input",
              "button", "span"}

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)></svg>",
    '<div onclick="alert(1)">a raw HTML block</div>',
    '<a href="javascript:alert(1)">inline HTML link</a>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](javascript&#58;alert(1))",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![data](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x](https://ok.example/a.png "t" onerror=alert(1))',
    "<iframe src=//evil.example></iframe>",
    "<form action=//evil.example><input name=password></form>",
]


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def about_text(html: str) -> str:
    return re.search(r'<div class="about-text">(.*?)</div>\s*(?:<p class="about-contact">|'
                     r"</article>)", html, re.S).group(1)


def test_there_is_no_about_page_until_there_is_a_text(runtime, anonymous, users):
    response = anonymous.get("/about")
    assert response.status_code == 404
    assert "This site has no about page yet." in response.text
    runtime.site.update({"about": "   \n  "}, actor="ada")
    runtime.site.forget()
    assert anonymous.get("/about").status_code == 404


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_comes_alive_on_the_about_page(runtime, anonymous, users, payload):
    runtime.site.update({"about": f"## Me\n\nBefore.\n\n{payload}\n\nAfter."}, actor="ada")
    runtime.site.forget()
    response = anonymous.get("/about")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = about_text(response.text)
    parser = Elements()
    parser.feed(body)
    for tag, attrs in parser.found:
        assert tag in ALLOWED_TAGS, (payload, body)
        assert not any(name.startswith("on") or name == "style" for name in attrs), body
        for name in ("href", "src"):
            if name in attrs:
                assert urlsplit(attrs[name] or "").scheme in ("", "http", "https", "mailto"), body
    assert "<h3>Me</h3>" in body and "<p>Before.</p>" in body and "<p>After.</p>" in body
    whole = Elements()
    whole.feed(response.text)
    scripts = [a.get("src") for t, a in whole.found if t == "script"]
    assert set(scripts) == {"/static/site.js", "/static/time.js"}  # the frame's modules only
    assert {t for t, _ in whole.found} <= FRAME_TAGS | ALLOWED_TAGS


def test_links_are_marked_nofollow_and_the_contact_link_shows(runtime, anonymous, users):
    runtime.site.update({"about": "See [my portfolio](https://ada.example/work).",
                         "contact": "mailto:ada@example.com"}, actor="ada")
    runtime.site.forget()
    html = anonymous.get("/about").text
    assert ('<a href="https://ada.example/work" rel="nofollow noopener">my portfolio</a>'
            in about_text(html))
    assert '<a class="button" href="mailto:ada@example.com" rel="me noopener">Get in touch</a>' \
        in html
    assert re.search(r"<title>About · Gallery</title>", html)
