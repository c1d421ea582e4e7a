"""The site's public pages: the about page, the Atom feeds, the sitemap and robots.txt;
and what every page reads of the site's settings (its title, the home page's choice).

Only a public gallery publishes: in a private one the feeds and the sitemap are
``404`` for everybody (a feed reader cannot sign in) and robots.txt keeps every
crawler out.

Absolute URLs come from ``GALLERY_BASE_URL`` alone, never from the request's
``Host``. Without it the feeds are still served, with root-relative links: Atom
resolves them against the feed's own address (RFC 4287 with RFC 3986), as feed
readers do; the sitemap, whose protocol demands absolute addresses, is ``404``
and robots.txt names no sitemap.

Feeds and the sitemap carry a strong ``ETag`` made of what they were built from
(the catalog's root and the site's settings as stored versions, the album, the
display names that name authors), so a reader polling with ``If-None-Match``
gets a ``304`` without the feed being built again.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

from gallery import markdown
from gallery.albums import access
from gallery.albums.model import Album
from gallery.errors import NotFound
from gallery.images.search import Search
from gallery.web.context import actor, runtime
from gallery.web.meta import absolute, canonical_url, card, home_card, page_feeds
from gallery.web.people import display_name, display_names_state
from gallery.web.views import label, site_url, visitors_see_details

bp = Blueprint("site", __name__)

#: Entries in a feed, newest first.
FEED_ENTRIES = 30
#: Most addresses in the sitemap (the protocol's limit); the newest images first.
SITEMAP_LIMIT = 50_000
#: Most tag pages the sitemap lists (the most used first).
SITEMAP_TAGS = 1000
#: How long a feed or the sitemap may be kept before it is asked for again.
FEED_CACHE = "public, max-age=300"
ATOM = "application/atom+xml"
#: Paths crawlers are kept off in a public gallery (robots.txt).
DISALLOWED = ("/admin", "/login", "/logout", "/setup", "/account", "/s/", "/api/", "/upload")

bp.add_app_template_global(canonical_url)
bp.add_app_template_global(page_feeds)


@bp.app_context_processor
def inject_site() -> dict[str, Any]:
    """``site``: the site's settings, on every page (the defaults while they cannot be read)."""
    return {"site": runtime().site.current()}


# --- the home page -------------------------------------------------------------------------------


def home_page() -> Any | None:
    """What ``/`` shows when the site's settings choose the albums or one album; ``None``
    for the latest images (and when the album chosen is gone, or not for this visitor)."""
    from gallery.web import albums as album_pages

    rt = runtime()
    site = rt.site.current()
    if site.home == "albums":
        who = actor()
        listed = rt.albums.listed(who)
        covers = album_pages.cover_images(listed[:1])
        return album_pages._index_page(og=home_card(covers.get(listed[0].id) if listed else None))
    if site.home == "album" and site.home_album:
        try:
            album = rt.albums.viewable(site.home_album, actor())
        except NotFound:
            return None
        return album_pages._album_page(album, canonical=site_url("albums.album",
                                                                  album_id=album.id))
    return None


def latest_card(images: list[dict[str, Any]]) -> dict[str, str]:
    """The card of the home page showing the latest images: the newest as its picture."""
    return home_card(images[0] if images else None)


# --- about ---------------------------------------------------------------------------------------


@bp.get("/about")
def about():
    """The about page: the site's about text (Markdown, sanitised), and its contact link.

    Raises:
        NotFound: there is no about text.
    """
    site = runtime().site.current()
    if not site.has_about:
        raise NotFound("This site has no about page yet.")
    return render_template("site/about.html", body=Markup(markdown.render(site.about)),
                           og=card(title=f"About · {site.title}", description=site.tagline,
                                   url=absolute("site.about")))


# --- feeds ---------------------------------------------------------------------------------------


def _published() -> None:
    """Raises: NotFound: a private gallery publishes no feed and no sitemap."""
    if not runtime().public:
        raise NotFound("This gallery is private: it publishes no feed and no sitemap.")


def _etag(*parts: Any) -> str:
    text = "\n".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _fresh(etag: str) -> bool:
    """Whether the client holds this version already (also as compressed by the server)."""
    wanted = request.if_none_match
    return any(wanted.contains(tag) for tag in (etag, f"{etag}:br", f"{etag}:gzip"))


def _not_modified(etag: str) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    response.headers["Cache-Control"] = FEED_CACHE
    return response


def _state(*extra: Any) -> str:
    """The ETag of what the gallery's public pages show now: the catalog's and the
    settings' stored versions, and ``extra``."""
    rt = runtime()
    _, root_version = rt.images.catalog.read_root()
    return _etag(root_version, rt.site.loaded().version, rt.settings["base_url"], *extra)


def _feed_state(*extra: Any) -> str:
    """The ETag of a feed: what :func:`_state` covers, and the display names naming its
    authors."""
    return _state(display_names_state(), *extra)


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def author_name(username: str, site_title: str) -> str:
    """How an uploader is named in feeds, which anyone may read: the account's display
    name, else the site's title (an account name is never published)."""
    return display_name(username) or site_title


def _thumbnail(image: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    variants = image.get("variants") or {}
    name = next((v for v in ("md", "lg", "sm") if v in variants), None)
    return (name, variants[name]) if name else None


def _entry_html(image: dict[str, Any], page: str) -> str:
    """The entry's content: the thumbnail, linked to the image's page, and its description."""
    found = _thumbnail(image)
    parts = []
    if found is not None:
        name, size = found
        src = site_url("media.variant", image_id=image["id"], variant=name)
        parts.append(Markup('<p><a href="{}"><img src="{}" width="{}" height="{}" alt="{}"></a></p>')
                     .format(page, src, size.get("w", ""), size.get("h", ""), label(image, visitors_see_details())))
    if image.get("description"):
        parts.append(Markup("<p>{}</p>").format(image["description"]))
    return str(Markup("").join(parts))


def _feed_id(name: str) -> str:
    """A feed's Atom id: its absolute address, or a fixed ``urn:uuid`` without a base URL."""
    base = runtime().settings["base_url"]
    if base:
        return base + name
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gallery:{runtime().keys.prefix}{name}").urn


def _atom(*, title: str, subtitle: str, page: str, self_url: str, feed_name: str,
          images: list[dict[str, Any]], updated: str | None) -> bytes:
    from feedgen.feed import FeedGenerator  # lxml: loaded by the first feed, not at start-up

    fg = FeedGenerator()
    fg.id(_feed_id(feed_name))
    fg.title(title)
    if subtitle:
        fg.subtitle(subtitle)
    fg.link(href=page, rel="alternate", type="text/html")
    fg.link(href=self_url, rel="self", type=ATOM)
    fg.generator("gallery")
    stamps = [s for s in ([updated] + [i.get("created_at") for i in images]) if s]
    fg.updated(max(_stamp(s) for s in stamps) if stamps else datetime(1970, 1, 1, tzinfo=UTC))
    if not images:
        fg.author(name=title)  # a feed with no entries still names an author
    authors: dict[str, str] = {}
    for image in images:
        entry = fg.add_entry(order="append")
        entry.id(uuid.UUID(hex=image["id"]).urn)
        entry.title(label(image, visitors_see_details()))
        page_url = site_url("pages.image", image_id=image["id"])
        entry.link(href=page_url, rel="alternate", type="text/html")
        entry.published(_stamp(image["created_at"]))
        entry.updated(_stamp(image["created_at"]))
        uploader = image.get("uploaded_by") or ""
        if uploader not in authors:
            authors[uploader] = author_name(uploader, title)
        entry.author(name=authors[uploader])
        entry.content(_entry_html(image, page_url), type="html")
        if image.get("description"):
            entry.summary(image["description"])
    return fg.atom_str(pretty=True)


def _xml_response(body: bytes, mimetype: str, etag: str, modified: datetime | None) -> Response:
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    response.headers["Cache-Control"] = FEED_CACHE
    return response.make_conditional(request)


@bp.get("/feed.xml")
def feed():
    """The newest public images as an Atom feed.

    Raises:
        NotFound: a private gallery.
    """
    _published()
    etag = _feed_state("feed")
    if _fresh(etag):
        return _not_modified(etag)
    rt = runtime()
    site = rt.site.current()
    images = rt.images.search_page(Search(), 1, FEED_ENTRIES).images
    body = _atom(title=site.title, subtitle=site.tagline, page=site_url("pages.index"),
                 self_url=site_url("site.feed"), feed_name="/feed.xml", images=images,
                 updated=site.updated_at)
    newest = _stamp(images[0]["created_at"]) if images else None
    return _xml_response(body, ATOM, etag, newest)


def _public_album(album_id: str) -> Album:
    """Raises: NotFound: no such album, or not a public one (unlisted and private albums
    have no feed)."""
    album = runtime().albums.get(album_id)
    if album.visibility != "public":
        raise NotFound("There is no such album.")
    return album


@bp.get("/albums/<album_id>/feed.xml")
def album_feed(album_id: str):
    """The newest images of a public album as an Atom feed.

    Raises:
        NotFound: a private gallery, or no such public album.
    """
    _published()
    rt = runtime()
    found = rt.albums.shelf.get(album_id) if rt.albums.exists(album_id) else None
    if found is None:
        raise NotFound("There is no such album.")
    album = _public_album(album_id)
    etag = _feed_state("album", album_id, found[0])
    if _fresh(etag):
        return _not_modified(etag)
    site = rt.site.current()
    records = sorted(rt.albums.records(album), key=lambda r: r.key, reverse=True)
    images = [r.public() for r in records[:FEED_ENTRIES]]
    body = _atom(title=f"{album.title} · {site.title}", subtitle=album.description,
                 page=site_url("albums.album", album_id=album.id),
                 self_url=site_url("site.album_feed", album_id=album.id),
                 feed_name=f"/albums/{album.id}/feed.xml", images=images,
                 updated=album.updated_at)
    stamps = [album.updated_at] + [i["created_at"] for i in images]
    return _xml_response(body, ATOM, etag, max(_stamp(s) for s in stamps))


# --- sitemap and robots ------------------------------------------------------------------------


def _url(loc: str, lastmod: str | None = None) -> str:
    date = f"<lastmod>{lastmod[:10]}</lastmod>" if lastmod else ""
    return f"<url><loc>{xml_escape(loc)}</loc>{date}</url>"


@bp.get("/sitemap.xml")
def sitemap():
    """Every page anyone may see: the home page, the about page, the album list, public
    albums, tag pages and images (the newest first, up to the protocol's 50,000).

    Raises:
        NotFound: a private gallery, or no ``GALLERY_BASE_URL`` (a sitemap lists
            absolute addresses only).
    """
    _published()
    rt = runtime()
    if not rt.settings["base_url"]:
        raise NotFound("The sitemap needs GALLERY_BASE_URL: it lists absolute addresses only.")
    albums = [a for a in rt.albums.all()
              if access.is_listed(a, None, public_gallery=True) and a.visibility == "public"]
    etag = _state("sitemap", *(f"{a.id}:{a.updated_at}" for a in albums))
    if _fresh(etag):
        return _not_modified(etag)
    site = rt.site.current()
    newest = rt.images.view().newest(0, 1)
    lines = [_url(site_url("pages.index"), newest[0].created_at if newest else None)]
    if site.has_about:
        lines.append(_url(site_url("site.about"), site.updated_at))
    if albums:
        lines.append(_url(site_url("albums.index"), max(a.updated_at for a in albums)))
    lines += [_url(site_url("albums.album", album_id=a.id), a.updated_at) for a in albums]
    lines += [_url(site_url("pages.tag", tag=tag)) for tag in rt.images.tags(SITEMAP_TAGS)]
    room = max(0, SITEMAP_LIMIT - len(lines))
    lines += [_url(site_url("pages.image", image_id=r.id), r.created_at)
              for r in rt.images.view().newest(0, room)]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(lines) + "\n</urlset>\n")
    modified = _stamp(newest[0].created_at) if newest else None
    return _xml_response(body.encode(), "application/xml", etag, modified)


@bp.get("/robots.txt")
def robots():
    """What crawlers may visit: nothing of a private gallery; in a public one everything but
    the sign-in, admin, upload and API pages and share links, with the sitemap's address."""
    rt = runtime()
    if not rt.public:
        lines = ["# A private gallery: nothing here is for crawlers.", "User-agent: *",
                 "Disallow: /"]
    else:
        lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOWED)]
        if rt.settings["base_url"]:
            lines += ["", f"Sitemap: {site_url('site.sitemap')}"]
    response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response

