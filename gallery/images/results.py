"""What the image use cases take and give back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a signed-in user, or the command line (``"cli"``, with an admin's rights)."""

    username: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The stored image, and whether it was already there (nothing new stored then)."""

    image: dict[str, Any]
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One numbered page of the gallery, newest first."""

    images: list[dict[str, Any]]
    number: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True, slots=True)
class Media:
    """Where one stored file of an image is, and how to serve it."""

    key: str
    content_type: str
    size: int
    etag: str  # strong, with its quotes: '"<sha256>"'
    filename: str  # the name to offer when it is downloaded
    #: When the image was uploaded: its bytes never change after that (``Last-Modified``).
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What a reindex changed.

    Attributes:
        added: ids now in the catalog that were not before.
        dropped: ids removed (their original is gone).
        unchanged: how many records were already right.
        updated: ids whose record was corrected from ``meta.json``.
        kept: ids kept as they were although ``meta.json`` could not be used
            (missing, damaged, or written after the listing) while the
            original exists.
        duplicates: ids left out because an image with the same bytes is in.
        damaged: ids whose ``meta.json`` could not be read.
        repaired: the old catalog was damaged and has been replaced.
        total: images in the catalog now.
    """

    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    repaired: bool = False
    total: int = 0
