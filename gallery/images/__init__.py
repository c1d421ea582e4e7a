"""The image domain: records, the objects of one image, and the use cases over them.

``record`` holds the typed records; ``store`` owns one image's objects
(original, thumbnails, ``meta.json``, tombstone); ``upload``, ``edit``,
``delete``, ``repair`` and ``read`` are the use cases; ``service`` puts them
together as :class:`~gallery.images.service.Images`. No Flask here.

This module imports nothing, so :mod:`gallery.catalog` can use the records
without an import cycle.
"""
