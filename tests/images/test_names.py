"""Filenames are kept readable but made safe."""

from __future__ import annotations

import pytest

from gallery.names import sanitize_filename


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("Café del Mar 日本.jpg", "Café del Mar 日本.jpg"),
        ("Cafe\u0301.jpg", "Caf\u00e9.jpg"),  # NFC
        ("Ωμέγα — παράδειγμα.png", "Ωμέγα — παράδειγμα.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\pic.png", "pic.png"),
        ("a/b\\c.gif", "c.gif"),
        ("  ..hidden.png", "hidden.png"),
        ("name.jpg...", "name.jpg"),
        ('we"ird<>:*?|name.jpg', "weirdname.jpg"),
        ("semi;colon'quote`.jpg", "semicolonquote.jpg"),
        ("tab\tand\nnewline.jpg", "tab and newline.jpg"),
        ("ctrl\x00\x1f\x7f.jpg", "ctrl.jpg"),
        ("many    spaces\u00a0 here.jpg", "many spaces here.jpg"),
        ("\u202egnp.exe.jpg", "gnp.exe.jpg"),  # bidi override dropped
        ("zero\u200bwidth.jpg", "zerowidth.jpg"),
        ("", "image"),
        ("...", "image"),
        ("/", "image"),
        ("dir/", "image"),
        ('???"', "image"),
        ("\x00\x01", "image"),
    ],
)
def test_sanitize_filename(given: str, expected: str) -> None:
    assert sanitize_filename(given) == expected


@pytest.mark.parametrize(
    ("given", "max_length", "expected"),
    [
        ("a" * 300 + ".jpeg", 120, "a" * 115 + ".jpeg"),
        ("b" * 300, 120, "b" * 120),
        ("abcdef.jpg", 5, "a.jpg"),
        ("abcdef.jpg", 4, "abcd"),
        ("x" * 10 + "." + "y" * 40, 20, "x" * 10 + "." + "y" * 9),  # no short extension to keep
        ("ab   cdef.jpg", 7, "ab.jpg"),
        ("日本語の写真" * 30 + ".png", 50, "日本語の写真" * 7 + "日本語の" + ".png"),
    ],
)
def test_long_names_are_capped_keeping_the_extension(given: str, max_length: int, expected: str) -> None:
    result = sanitize_filename(given, max_length)
    assert result == expected
    assert len(result) <= max_length


def test_max_length_must_be_positive() -> None:
    with pytest.raises(ValueError):
        sanitize_filename("a.jpg", 0)
