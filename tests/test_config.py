"""Settings: declared once, read from GALLERY_* variables, unknown ones refused."""

from __future__ import annotations

import pytest

from gallery.config import load_settings
from gallery.errors import ConfigError


def test_defaults_off_replit():
    settings = load_settings({})
    assert settings["storage"] == "file://./data"
    assert settings["visibility"] == "public"
    assert settings["max_file_bytes"] == 25_000_000
    assert settings["trusted_proxies"] == 0


def test_defaults_on_replit():
    settings = load_settings({"REPL_ID": "abc"})
    assert settings["storage"] == "replit://"
    assert settings["trusted_proxies"] == 1


def test_unknown_setting_is_refused_with_a_hint():
    with pytest.raises(ConfigError) as err:
        load_settings({"GALLERY_STORGE": "memory://"})
    assert "GALLERY_STORGE" in err.value.message
    assert "did you mean GALLERY_STORAGE" in err.value.message


@pytest.mark.parametrize(
    ("raw", "value"),
    [("25MB", 25_000_000), ("512KiB", 524_288), ("1000", 1000), ("1.5 GB", 1_500_000_000)],
)
def test_sizes_take_units(raw, value):
    assert load_settings({"GALLERY_MAX_FILE_BYTES": raw})["max_file_bytes"] == value


@pytest.mark.parametrize(
    ("env", "raw"),
    [("GALLERY_MAX_FILE_BYTES", "lots"), ("GALLERY_MAX_FRAMES", "-1"),
     ("GALLERY_VISIBILITY", "secret"), ("GALLERY_PREFIX", "a/../b"),
     ("GALLERY_STORAGE_TIMEOUT", "0")],
)
def test_bad_values_name_the_variable(env, raw):
    with pytest.raises(ConfigError) as err:
        load_settings({env: raw})
    assert env in err.value.message


def test_secret_key_is_kept_verbatim():
    settings = load_settings({"GALLERY_SECRET_KEY": "s3cr3t=%/+"})
    assert settings["secret_key"] == "s3cr3t=%/+"


@pytest.mark.parametrize(("raw", "prefix"), [("", ""), ("photos", "photos/"), ("/a/b/", "a/b/")])
def test_prefix_is_normalised(raw, prefix):
    assert load_settings({"GALLERY_PREFIX": raw})["prefix"] == prefix


def test_overrides_win_and_are_checked():
    assert load_settings({}, {"visibility": "private"})["visibility"] == "private"
    with pytest.raises(ConfigError):
        load_settings({}, {"no_such": 1})


@pytest.mark.parametrize("raw", ["Photos", "my gallery", "fotos/é", "a~b", ".hidden", "a/.b",
                                 "100%", "x" * 256, "a//b"])
def test_prefix_outside_the_key_alphabet_is_refused(raw):
    with pytest.raises(ConfigError) as err:
        load_settings({"GALLERY_PREFIX": raw})
    assert "GALLERY_PREFIX" in err.value.message and "lower case letters" in err.value.message
