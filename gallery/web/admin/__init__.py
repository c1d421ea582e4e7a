"""The admin pages under ``/admin``: dashboard, images, users, tokens, the site's settings,
maintenance, audit.

Only admins get in: anonymous visitors are sent to the sign-in page (with
``next=``), other users get ``403``. Every change is a CSRF-checked POST, the
destructive ones behind a confirmation page, and each is written to the audit
log.
"""

from __future__ import annotations

from gallery.web.admin import dashboard, images, maintenance, site, tokens, users
from gallery.web.admin.common import bp

#: The modules are imported for their routes, which they add to ``bp``.
__all__ = ["bp", "dashboard", "images", "maintenance", "site", "tokens", "users"]
