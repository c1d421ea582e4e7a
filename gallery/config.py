"""Every setting, declared once: name, default, help and parser.

Settings are read from ``GALLERY_*`` environment variables; an unknown
``GALLERY_*`` key is an error (it is almost always a typo). The README's
settings table is checked against :data:`SETTINGS` by the tests.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gallery.errors import ConfigError
from gallery.keys import check_prefix

ENV_PREFIX = "GALLERY_"


def on_replit(environ: Mapping[str, str]) -> bool:
    """Whether we run inside a Replit workspace or deployment."""
    return bool(environ.get("REPL_ID"))


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}

_SIZE = re.compile(r"([0-9]+)(?:\.([0-9]+))?([a-z]*)")
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")

MAX_BYTES = 10**12
"""No size setting goes beyond a terabyte."""

MAX_WHOLE = 10**9
"""No count or duration setting goes beyond a billion."""

MAX_SECONDS = 3600.0
"""No timeout setting goes beyond an hour."""


def _plain(raw: str) -> str:
    """``raw`` without surrounding spaces and digit-group underscores; ASCII only.

    Raises:
        ValueError: characters outside ASCII (other scripts' digits, fullwidth forms, ...).
    """
    text = raw.strip().replace("_", "")
    if not text.isascii():
        raise ValueError("use plain digits 0-9")
    return text


def _parse_bytes(raw: str) -> int:
    text = _plain(raw).lower().replace(" ", "")
    match = _SIZE.fullmatch(text)
    if match is None or match.group(3) not in _UNITS:
        raise ValueError("expected a size such as 25MB, 512KiB or 1000000")
    whole, fraction, unit = match.groups()
    if len(whole) > 15:
        raise ValueError(f"expected a size of at most {MAX_BYTES // 10**9} GB")
    scale = _UNITS[unit]
    value = int(whole) * scale + (int(fraction) * scale // 10 ** len(fraction) if fraction else 0)
    if value <= 0:
        raise ValueError("expected a positive size")
    if value > MAX_BYTES:
        raise ValueError(f"expected a size of at most {MAX_BYTES // 10**9} GB")
    return value


def _parse_bytes_or_zero(raw: str) -> int:
    """A size as :func:`_parse_bytes` reads it, or zero (``0``, ``0MB``: off)."""
    match = _SIZE.fullmatch(_plain(raw).lower().replace(" ", ""))
    if match and match.group(3) in _UNITS and not match.group(1).strip("0") \
            and not (match.group(2) or "").strip("0"):
        return 0
    return _parse_bytes(raw)


def _whole(raw: str, minimum: int) -> int:
    text = _plain(raw)
    if not _WHOLE.fullmatch(text) or len(text) > 10 or not minimum <= int(text) <= MAX_WHOLE:
        raise ValueError(f"expected a whole number from {minimum} to {MAX_WHOLE}")
    return int(text)


def _parse_positive_int(raw: str) -> int:
    return _whole(raw, 1)


def _parse_count(raw: str) -> int:
    return _whole(raw, 0)


def _parse_positive_float(raw: str) -> float:
    text = _plain(raw)
    if not _DECIMAL.fullmatch(text) or len(text) > 20:
        raise ValueError(f"expected a number of seconds above 0, at most {MAX_SECONDS:.0f}")
    value = float(text)
    if not 0 < value <= MAX_SECONDS:
        raise ValueError(f"expected a number of seconds above 0, at most {MAX_SECONDS:.0f}")
    return value


def _parse_prefix(raw: str) -> str:
    return check_prefix(raw)


def _parse_str(raw: str) -> str:
    return raw.strip()


def _parse_base_url(raw: str) -> str:
    """An http(s) address without query, fragment or credentials; stored without a trailing ``/``."""
    text = raw.strip()
    if not text:
        return ""
    expected = "expected an http or https address such as https://photos.example.com"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as err:
        raise ValueError(expected) from err
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(expected)
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(f"{expected}, without a query (?...) or fragment (#...)")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{expected}, without a user name or password")
    if any(ord(c) <= 32 or ord(c) == 127 for c in text) or "\\" in text:
        raise ValueError(f"{expected}, without spaces or control characters")
    return text.rstrip("/")


def _parse_visibility(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("public", "private"):
        raise ValueError("expected public or private")
    return value


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its environment name, default (a string, as typed), help and parser."""

    name: str
    default: str | Callable[[Mapping[str, str]], str]
    help: str
    parse: Callable[[str], Any] = _parse_str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def default_for(self, environ: Mapping[str, str]) -> str:
        return self.default(environ) if callable(self.default) else self.default

    def default_text(self) -> str:
        """The default as the README shows it."""
        if self.name == "storage":
            return "`file://./data` (on Replit: `replit://`)"
        if self.name == "trusted_proxies":
            return "`0` (on Replit: `1`)"
        if self.name == "cache_dir":
            return "a folder per user and bucket in the system's temporary folder"
        if self.default == "":
            return "(none)"
        return f"`{self.default}`"


def _default_proxies(environ: Mapping[str, str]) -> str:
    return "1" if on_replit(environ) else "0"


def _default_storage(environ: Mapping[str, str]) -> str:
    return "replit://" if on_replit(environ) else "file://./data"


SETTINGS: tuple[Setting, ...] = (
    Setting("storage", _default_storage,
            "Where every object lives: `file://PATH`, `memory://`, `replit://[BUCKET]`, `gs://BUCKET` "
            "or `s3://BUCKET` (README: Storage URLs)."),
    Setting("prefix", "",
            "Key prefix inside the bucket, so several apps can share one bucket.", _parse_prefix),
    Setting("secret_key", "",
            "Session signing key. When unset it is generated once and kept in the bucket, "
            "so every worker and restart share it.", secret=True),
    Setting("visibility", "public",
            "`public`: anyone can browse, only users upload. `private`: sign-in needed to see anything.",
            _parse_visibility),
    Setting("max_file_bytes", "25MB", "Largest single image accepted.", _parse_bytes),
    Setting("max_request_bytes", "200MB", "Largest upload request (all files together).", _parse_bytes),
    Setting("max_files", "100", "Most files in one upload form.", _parse_positive_int),
    Setting("max_pixels", "50000000", "Most pixels (width x height) in one image or frame.",
            _parse_positive_int),
    Setting("max_frames", "500", "Most frames in one animated GIF or WebP.", _parse_positive_int),
    Setting("page_size", "48", "Images per gallery page and default API page.", _parse_positive_int),
    Setting("trusted_proxies", _default_proxies,
            "How many reverse proxies in front of the app set `X-Forwarded-*` headers "
            "(0 when serving directly).", _parse_count),
    Setting("storage_timeout", "20",
            "Seconds one storage call may wait in all, its retries included, before it "
            "answers 503.", _parse_positive_float),
    Setting("base_url", "",
            "The site's public address (`https://photos.example.com`). Absolute URLs are built "
            "from it, never from a request's `Host` header; without it, URLs in the API are "
            "root-relative.", _parse_base_url),
    Setting("login_attempts", "5",
            "Failed sign-ins allowed for one account from one address within the window "
            "(an address may fail 4 times as often across accounts; an account is never locked "
            "for other addresses).",
            _parse_positive_int),
    Setting("login_window", "900", "Window for counting failed sign-ins, in seconds.",
            _parse_positive_int),
    Setting("show_details", "false",
            "Whether visitors see each image's camera and date taken on its page and in the API "
            "(owners and admins always do); the site's settings on `/admin/site` may override "
            "it.", _parse_bool),
    Setting("cleanup_grace", "3600",
            "`gallery cleanup` leaves alone anything younger than this many seconds, "
            "so uploads in progress are safe (0: no grace).", _parse_count),
    Setting("cache_dir", "",
            "Where originals and thumbnails from a bucket over the network (`replit://`, `gs://`, "
            "`s3://`) are kept on local disk, shared by the workers of the machine "
            "(README: Media cache)."),
    Setting("cache_bytes", "512MB",
            "Most bytes the media cache keeps; the least recently served go first "
            "(`0`: no cache).", _parse_bytes_or_zero),
    # -- the trash
    Setting("trash_days", "30",
            "Days a deleted image stays in the trash, where its owner or an admin can restore "
            "it, before it is removed for good (`0`: deletes are immediate and final).",
            _parse_count),
)

_BY_ENV = {s.env: s for s in SETTINGS}


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read every setting from ``environ`` (default ``os.environ``), then apply ``overrides``.

    Returns:
        A dict of setting name (lower case, without the prefix) to parsed value.

    Raises:
        ConfigError: an unknown ``GALLERY_*`` key, or a value that does not parse.
    """
    environ = os.environ if environ is None else environ
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in _BY_ENV)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, _BY_ENV, n=1)
            hints.append(f"{name} is not a setting (did you mean {close[0]}?)" if close
                         else f"{name} is not a setting (README: Settings lists them)")
        raise ConfigError("; ".join(hints))
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or (raw.strip() == "" and setting.name != "prefix"):
            raw = setting.default_for(environ)
        values[setting.name] = _parse(setting, raw)
    for name, value in (overrides or {}).items():
        key = name.lower().removeprefix("gallery_")
        matches = [s for s in SETTINGS if s.name == key]
        if not matches:
            raise ConfigError(f"Unknown setting {name!r} in overrides.")
        values[key] = _parse(matches[0], value) if isinstance(value, str) else value
    return values


def _parse(setting: Setting, raw: str) -> Any:
    if setting.name == "secret_key" or raw == "" and setting.parse is _parse_str:
        return raw
    try:
        return setting.parse(raw)
    except (ValueError, OverflowError) as err:
        shown = "(hidden)" if setting.secret else repr(raw)
        raise ConfigError(f"{setting.env}={shown} is not valid: {err}.") from err


def settings_table() -> str:
    """The README's settings table, in Markdown."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.env}` | {s.default_text()} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
