"""The web layer: thin blueprints over the domain services."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gallery.accounts import SESSION_LIFETIME
from gallery.runtime import Runtime


def init_app(app: Flask, runtime: Runtime) -> None:
    """Configure Flask from the runtime's settings and register every part."""
    settings = runtime.settings
    app.extensions["gallery"] = runtime
    from gallery.web import session

    # The session key is fetched from the bucket on the first request that needs it.
    session.init_app(app, runtime.secret_key)
    app.config.update(
        # Flask/Werkzeug's own request limits, checked before our per-file ones.
        MAX_CONTENT_LENGTH=settings["max_request_bytes"],
        MAX_FORM_MEMORY_SIZE=1_000_000,  # text fields; the parser needs headroom beyond them
        MAX_FORM_PARTS=settings["max_files"] + 20,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="gallery_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_NAME="gallery_remember",
        REMEMBER_COOKIE_DURATION=SESSION_LIFETIME,  # the session it restores ends then too
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in auth's guard (valid Bearer calls skip it)
        JSON_SORT_KEYS=False,
    )
    if settings["trusted_proxies"]:
        hops = settings["trusted_proxies"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from gallery.web import (
        admin,
        albums,
        api,
        auth,
        compression,
        errors,
        media,
        pages,
        share,
        site_pages,
        tagging,
        upload,
    )
    from gallery.web import trash as trash_pages
    from gallery.web.views import site_url

    app.add_template_global(site_url)
    from gallery.web import people

    people.init_app(app)
    auth.init_app(app)
    session.wrap_sessions(app)  # around the session interface auth installed
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(upload.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(albums.bp)
    app.register_blueprint(share.bp)
    app.register_blueprint(site_pages.bp)
    compression.init_app(app)
    app.register_blueprint(trash_pages.bp)
    app.register_blueprint(tagging.bp)

    from gallery.cli import init_app as init_cli

    init_cli(app)
