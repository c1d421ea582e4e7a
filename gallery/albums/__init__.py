"""Albums (ordered lists of images) and the share links that open them (``docs/catalog.md``)."""

from gallery.albums.links import Links, Opened, link_json
from gallery.albums.model import Album, ShareLink, Usage
from gallery.albums.service import AlbumPage, Albums, PruneReport

__all__ = ["Album", "AlbumPage", "Albums", "Links", "Opened", "PruneReport", "ShareLink",
           "Usage", "link_json"]
