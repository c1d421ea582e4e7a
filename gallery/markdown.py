"""Markdown an admin writes (the about page), turned into HTML that is safe to show anyone.

Two layers, each enough on its own for what it covers:

1. markdown-it-py in CommonMark mode with raw HTML off: ``<script>``, ``<img
   onerror=...>`` or any other tag typed into the text comes out as text, and links
   to ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` addresses (other than
   pictures) are not made.
2. nh3 (the Ammonia sanitiser) then keeps only the tags and attributes Markdown
   produces, links to ``http:``, ``https:`` and ``mailto:`` (and addresses on this
   site), drops every event handler and ``style``, and gives each link
   ``rel="nofollow noopener"``.

Headings move one level down (``#`` becomes ``<h2>``): the page has its own ``<h1>``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: What the sanitiser lets through: the tags CommonMark (with tables and strikethrough)
#: produces, and nothing else.
ALLOWED_TAGS = frozenset({
    "a", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"



@cache
def _parser() -> MarkdownIt:
    """The parser, made on first use (so a starting worker does not pay for it)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return parser.enable(["table", "strikethrough"])


def render(text: str) -> str:
    """``text`` (Markdown) as sanitised HTML; ``""`` for an empty text."""
    if not text.strip():
        return ""
    parser = _parser()
    env: dict = {}
    tokens = parser.parse(text, env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    html = parser.renderer.render(tokens, parser.options, env)
    return sanitise(html)


def sanitise(html: str) -> str:
    """Only :data:`ALLOWED_TAGS` with :data:`ALLOWED_ATTRIBUTES`, safe URLs and ``rel`` on
    links; comments and the contents of ``script`` and ``style`` are dropped."""
    import nh3

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
