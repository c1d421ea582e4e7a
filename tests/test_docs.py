"""The README tells the truth about settings and commands."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from gallery.cli import albums_cli, gallery_cli, links_cli, tokens_cli, users_cli
from gallery.config import SETTINGS, settings_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_settings_table_matches_the_declaration():
    match = re.search(
        r"<!-- settings-table:[^>]*-->\n(.*?)\n<!-- /settings-table -->", README, re.S
    )
    assert match, "README lost its settings table markers"
    assert match.group(1).strip() == settings_table(), (
        "README's settings table is out of date; regenerate it with "
        "python -c 'from gallery.config import settings_table; print(settings_table())'"
    )


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_has_help(setting):
    assert setting.help.strip().endswith((".", ")"))


def _commands(group: click.Group) -> list[str]:
    return [f"{group.name} {name}" for name in group.commands]


@pytest.mark.parametrize(
    "command", _commands(users_cli) + _commands(tokens_cli) + _commands(gallery_cli)
    + _commands(albums_cli) + _commands(links_cli)
)
def test_every_command_is_documented(command):
    group, name = command.split()
    documented = f"`{name} " in README or f"`{name}`" in README if group == "gallery" else (
        f"`{group} {name}" in README or f"{group} {name}" in README
    )
    assert documented, f"README does not mention `{command}`"


def test_readme_starts_with_the_two_commands():
    assert "make run" in README and "make test" in README
