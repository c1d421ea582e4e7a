"""Run ``flask --app app ...`` as a child process, the way an operator does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from tests.support.serve import REPO_ROOT, gallery_env


def flask(*args: str, settings: Mapping[str, str], extra: Mapping[str, str] | None = None,
          stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``flask --app app ARGS`` with ``settings`` as its only ``GALLERY_*`` variables."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO_ROOT, env=gallery_env(settings, extra), input=stdin,
        capture_output=True, text=True, timeout=timeout,
    )
