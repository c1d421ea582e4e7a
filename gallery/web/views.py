"""How images are shown: the image JSON of the API and the helpers templates use."""

from __future__ import annotations

from typing import Any

from flask import url_for

#: Fields of an index record that the API shows as they are.
_PUBLIC_FIELDS = (
    "id", "filename", "content_type", "size", "width", "height", "sha256",
    "created_at", "uploaded_by", "title", "description", "frames", "animated",
    "placeholder", "gps_removed",
)


def image_urls(image: dict[str, Any], *, external: bool = False) -> dict[str, Any]:
    """The page, original and thumbnail URLs of an image."""
    image_id = image["id"]
    return {
        "page": url_for("pages.image", image_id=image_id, _external=external),
        "original": url_for("media.original", image_id=image_id, _external=external),
        "thumbnails": {
            name: url_for("media.variant", image_id=image_id, variant=name, _external=external)
            for name in image.get("variants", {})
        },
    }


def image_json(image: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The API's image JSON (see the README's API section)."""
    body = {field: image[field] for field in _PUBLIC_FIELDS if field in image}
    body["variants"] = {
        name: {"width": v["w"], "height": v["h"], "size": v["size"]}
        for name, v in image.get("variants", {}).items()
    }
    body["urls"] = image_urls(image, external=True)
    body.update(extra)
    return body
