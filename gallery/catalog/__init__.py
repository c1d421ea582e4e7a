"""The JSON catalog: a root naming size-capped shards, and hash buckets (``docs/catalog.md``)."""

from gallery.catalog.catalog import Add, AdminRow, Catalog, CatalogView, Change, Remove
from gallery.catalog.cursor import decode_cursor, encode_cursor
from gallery.catalog.hashes import HashIndex

__all__ = ["Add", "AdminRow", "Catalog", "CatalogView", "Change", "HashIndex", "Remove",
           "decode_cursor", "encode_cursor"]
