"""What pages tell link previews and search engines: Open Graph and Twitter card tags,
the canonical address, and the feeds a page offers.

Every page that has a card builds it with :func:`card` (the gallery's own pages, album
pages and the pages under a share link alike), and ``templates/_meta.html`` writes it
into the page's head.

Absolute URLs come only from ``GALLERY_BASE_URL`` (:func:`gallery.web.views.site_url`),
never from the request's ``Host``: without it a card has no ``og:url`` nor
``og:image`` and pages have no canonical link. A card shows a picture only where a
link-preview fetcher, signed in as nobody, may load it:

- the gallery's own pages (home, an image, a public or unlisted album): in a public
  gallery only; a private gallery's pages never name a picture;
- a private album: never (only signed-in users reach its page);
- a share link: its own thumbnail under the link, so the preview loads in a private
  gallery too; never for a link with a password (:mod:`gallery.web.share_view`).

An unlisted album carries its full card: its address is what its owner hands out, and
the preview is what they mean to show; it still says ``noindex`` to search engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request

from gallery.albums.model import Album
from gallery.web.context import runtime
from gallery.web.views import label, site_url

#: The thumbnails a card's picture may be, best first (large pictures make large cards).
PREVIEW_VARIANTS = ("lg", "md", "sm")
#: Longest description a card carries, in characters.
MAX_DESCRIPTION = 200


@dataclass(frozen=True, slots=True)
class Picture:
    """The picture of a card: an absolute URL that loads without signing in."""

    url: str
    width: int
    height: int
    alt: str
    type: str = "image/webp"


def picture_of(image: dict[str, Any], url_of: Callable[[str], str],
               details: bool | None = None) -> Picture | None:
    """The best preview thumbnail of ``image`` (``url_of(variant)`` gives its URL), or
    ``None`` when it has none; ``details`` as for :func:`label` (its alt text)."""
    variants = image.get("variants") or {}
    name = next((v for v in PREVIEW_VARIANTS if v in variants), None)
    if name is None:
        return None
    size = variants[name]
    return Picture(url_of(name), int(size.get("w") or 0), int(size.get("h") or 0),
                   label(image, details))


def shorten(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters (with an ellipsis)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def has_base_url() -> bool:
    return bool(runtime().settings["base_url"])


def absolute(endpoint: str, **values: Any) -> str | None:
    """The absolute URL of ``endpoint`` from ``GALLERY_BASE_URL``, or ``None`` without it."""
    return site_url(endpoint, **values) if has_base_url() else None


def card(*, title: str, description: str = "", url: str | None = None,
         picture: Picture | None = None, kind: str = "website") -> dict[str, str]:
    """The Open Graph and Twitter card tags of a page, name -> content.

    ``og:site_name`` is the site's title. ``twitter:card`` is
    ``summary_large_image`` with a picture, ``summary`` without; Twitter reads
    the rest from the Open Graph tags.
    """
    tags = {"og:type": kind, "og:site_name": runtime().site.current().title, "og:title": title}
    if description:
        tags["og:description"] = shorten(description)
    if url:
        tags["og:url"] = url
    if picture is not None:
        tags["og:image"] = picture.url
        tags["og:image:type"] = picture.type
        if picture.width and picture.height:
            tags["og:image:width"] = str(picture.width)
            tags["og:image:height"] = str(picture.height)
        tags["og:image:alt"] = picture.alt
    tags["twitter:card"] = "summary_large_image" if picture is not None else "summary"
    return tags


def gallery_picture(image: dict[str, Any] | None) -> Picture | None:
    """A thumbnail of the gallery's own (``/media/<id>/<variant>``) for a card: only in a
    public gallery (where anyone loads it) and with ``GALLERY_BASE_URL``."""
    if image is None or not runtime().public or not has_base_url():
        return None
    return picture_of(image, lambda name: site_url("media.variant", image_id=image["id"],
                                                   variant=name))


def image_card(image: dict[str, Any]) -> dict[str, str]:
    """The card of an image's page."""
    return card(title=label(image),
                description=image.get("description") or runtime().site.current().tagline,
                url=absolute("pages.image", image_id=image["id"]),
                picture=gallery_picture(image), kind="article")


def album_card(album: Album, cover: dict[str, Any] | None) -> dict[str, str]:
    """The card of an album's page; its cover as the picture, unless the album is private."""
    count = f"{album.count:,} image" + ("" if album.count == 1 else "s")
    shown = cover if album.visibility in ("public", "unlisted") else None
    return card(title=album.title, description=album.description or count,
                url=absolute("albums.album", album_id=album.id), picture=gallery_picture(shown))


def home_card(picture_image: dict[str, Any] | None) -> dict[str, str]:
    """The card of the home page: the site's title and tagline, and a picture (the newest
    image, or the first album's cover)."""
    site = runtime().site.current()
    return card(title=site.title, description=site.tagline,
                url=absolute("pages.index"), picture=gallery_picture(picture_image))


# --- canonical addresses and feeds --------------------------------------------------------------

#: Pages with a canonical address: the endpoint and the query arguments that are part of it.
CANONICAL = {
    "pages.index": ("page",),
    "pages.tag": ("page",),
    "pages.image": (),
    "albums.album": ("page",),
    "site.about": (),
}


def canonical_url(override: str | None = None) -> str | None:
    """The canonical address of the page being shown (``GALLERY_BASE_URL`` set), or ``None``.

    ``override`` (an absolute URL) wins: the home page showing one album names the
    album's own address. A search (``/?q=...``) has none: its results are not a page
    of their own. Page numbers are kept, the first page's left out.
    """
    if not has_base_url():
        return None
    if override:
        return override
    endpoint = request.endpoint or ""
    kept = CANONICAL.get(endpoint)
    if kept is None or request.view_args is None:
        return None
    if endpoint == "pages.index" and any(k in request.args for k in ("q", "tag", "sort")):
        return None
    values: dict[str, Any] = dict(request.view_args)
    for name in kept:
        value = request.args.get(name, "")
        if value.isdigit() and int(value) > 1:
            values[name] = int(value)
    return site_url(endpoint, **values)


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed a page offers (``<link rel="alternate" type="application/atom+xml">``)."""

    title: str
    url: str


def page_feeds(album: Album | None = None) -> list[Feed]:
    """The Atom feeds a page of a public gallery offers: the gallery's, and the album's on a
    public album's page."""
    rt = runtime()
    if not rt.public:
        return []
    site = rt.site.current()
    feeds = [Feed(f"{site.title}: the latest images", site_url("site.feed"))]
    if album is not None and album.visibility == "public":
        feeds.append(Feed(f"{album.title} · {site.title}",
                          site_url("site.album_feed", album_id=album.id)))
    return feeds
