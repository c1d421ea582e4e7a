"""The gallery served by the very command ``make run`` uses, as a child process.

:func:`serve_command` asks make for the ``run`` recipe (``make -n``), so a
change of server in the Makefile (gunicorn today) is followed here without
editing any test. :class:`ServedGallery` starts it on a free loopback port with
the settings a test gives and stops it (its whole process group) afterwards.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


def serve_command(port: int, *, host: str = "127.0.0.1", workers: int = 2) -> list[str]:
    """The command ``make run`` runs, for ``host:port`` (without bootstrapping .venv).

    Raises:
        RuntimeError: make printed no command for ``run``.
    """
    printed = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "run",
         f"HOST={host}", f"PORT={port}", f"WORKERS={workers}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    command = printed.replace("\\\n", " ").strip().splitlines()
    if not command:
        raise RuntimeError("`make -n run` printed no command")
    return shlex.split(command[-1])


def gallery_env(settings: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``GALLERY_*`` variable, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    return env | dict(extra or {}) | dict(settings)


class ServedGallery:
    """The gallery served by ``make run``'s command on a free port; a context manager.

    Args:
        port: where it listens (127.0.0.1).
        env: its whole environment.
        log: file that receives its output.
    """

    def __init__(self, port: int, env: Mapping[str, str], log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(
            serve_command(port), cwd=REPO_ROOT, env=dict(env), stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_answering(self, timeout: float = 30.0) -> requests.Response:
        """The first answer to ``/healthz`` (any status), waiting at most ``timeout``.

        Raises:
            AssertionError: the server exited or did not answer in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                f"the server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                return requests.get(self.base + "/healthz", timeout=10)
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {timeout:.0f} s:\n{self.output()}")

    def workers(self) -> set[int]:
        """The pids of the server's child processes (its workers), if it has any."""
        children: set[int] = set()
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                children |= {int(p) for p in (task / "children").read_text().split()}
            except OSError:
                continue
        return children

    def stop(self) -> None:
        """TERM the process group, wait boundedly, then KILL."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._out.close()

    def __enter__(self) -> ServedGallery:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
