"""What an image is called when nobody gave it a title.

Cameras and phones name their files by a counter or a clock (``DSCN0040``,
``IMG_1234``, ``PXL_20230401_123456789``): such a name says nothing to a person.
Where the photo knows when it was taken, that date is a better title
("1 April 2023, 14:05", the camera's own clock, as the photographer saw it).

An upload named so gets no stored title (``""``); pages show the date taken in
its place (:func:`shown_title`). Images stored earlier kept the file's name as
their title: a title equal to a camera file name is treated the same way, so
no record needs rewriting. A title someone typed is always shown as typed.
"""

from __future__ import annotations

import re

from gallery.images.record import parse_taken_at

#: File names cameras and phones give, without the extension; matched whole, any case.
#: Screenshots (``Screenshot_20230401-123456``) are left out: their name says what they are.
CAMERA_NAME = re.compile(
    r"""
    (?:
        _?DSC[NF_]?\d{3,5}                      # Nikon DSCN0040, Sony DSC01234, Fujifilm DSCF
      | IMG[_-]?E?\d{3,5}                       # Canon, iPhone IMG_1234, edited IMG_E1234
      | IMG[_-]\d{8}[_-]\d{6}\d{0,3}(?:[_-]\w{1,12})?   # Android IMG_20230401_140500
      | IMG-\d{8}-WA\d{4}                       # WhatsApp
      | VID[_-]\d{8}[_-]\d{6}
      | P\d{7}                                  # Panasonic, Olympus P1010001
      | PXL_\d{8}_\d{6,9}(?:\.[A-Z_]{1,12})*    # Pixel, with .MP, .PORTRAIT ...
      | MVIMG_\d{8}_\d{6}
      | \d{8}_\d{6}                             # Samsung 20230401_123456
      | G[OHX](?:PR|\d{2})\d{4}                 # GoPro GOPR0001, GH010001, GX010001
      | (?:DJI|SAM|DSCF|HPIM|IMGP|SDC|DCP)_?\d{4,5}
      | (?:CIMG|PICT|DCIM|MVC-)\d{3,5}
    )
    (?:\ ?\(\d{1,3}\)|[-~_]\d{1,3})?           # a copy: IMG_1234 (1), IMG_1234-2, IMG_1234~2
    """,
    re.VERBOSE | re.IGNORECASE,
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def stem(filename: str) -> str:
    """``filename`` without its extension (``IMG_1234.JPG`` -> ``IMG_1234``)."""
    return filename.rpartition(".")[0] or filename


def is_camera_name(name: str) -> bool:
    """Whether ``name`` (a file name's stem) is one a camera or phone made up."""
    return bool(name) and CAMERA_NAME.fullmatch(name.strip()) is not None


def taken_title(taken_at: str | None) -> str | None:
    """``1 April 2023, 14:05`` from a ``taken_at`` (the camera's clock, offset left
    out: the time the photographer saw); ``None`` when it is not a date taken."""
    moment = parse_taken_at(taken_at)
    if moment is None:
        return None
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def default_title(filename: str, taken_at: str | None) -> str:
    """The title an upload of ``filename`` gets when none is given: the file's stem,
    or ``""`` for a camera's name on a photo that knows when it was taken (pages show
    that date instead, see :func:`shown_title`)."""
    name = stem(filename)
    if is_camera_name(name) and taken_title(taken_at) is not None:
        return ""
    return name


def shown_title(title: str | None, filename: str | None, taken_at: str | None, *,
                may_see_taken: bool) -> str:
    """What an image is called on pages.

    Its title; where it has none, or the title is just the camera's file name, the
    date taken (only for those who may see it, ``may_see_taken``); else the file
    name's stem; else the file name.
    """
    title = title or ""
    name = stem(filename or "")
    if (not title or title == name) and is_camera_name(name) and may_see_taken:
        dated = taken_title(taken_at)
        if dated is not None:
            return dated
    return title or name or filename or ""
