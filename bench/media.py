"""How fast is media served? The gallery against a bare Flask ``send_file``, both under waitress.

Run: ``python bench/media.py [--duration 1.5] [--rounds 7] [--profile]``

One photo-like JPEG (2400x1600) is uploaded through the domain into a temporary
``file://`` bucket. Two servers then run side by side on loopback, each waitress
with 8 threads:

* ``gallery``: ``app:app`` over that bucket, started as ``make run`` starts it
  (``python -m gallery.serve``);
* ``baseline``: a one-route Flask app answering ``/media/<id>[/<variant>]`` with
  ``send_file(path, mimetype, etag, conditional=True, max_age=1 year)`` on the
  very files the bucket holds, under ``waitress-serve --threads 8``.

A load generator in separate processes (``--clients`` processes of
``--connections`` keep-alive ``http.client`` connections each) requests one URL
for ``--duration`` seconds (at most ``--max-requests`` requests per connection),
reading every body whole. Cases: the original (200), the ``sm`` thumbnail (200)
and a revalidation of the original (``If-None-Match``: 304). After a warm-up,
every case runs ``--rounds`` times on each server, the two back to back,
alternating which goes first; the table shows median requests per second and
the median of the per-round ratios gallery/baseline next to its target. Both
servers share the machine with the load generator, so absolute figures depend
on it; the ratio is what to read. The CPU time the server's processes spend per
request (Linux ``/proc``) is shown too: it hardly moves when other work shares
the machine, which throughput does.

Then the same photo is uploaded into buckets over the network, each served by
the gallery like the first (its media cache on, in a fresh folder): ``replit://``
(fake-gcs-server behind the fake Replit sidecar) and ``s3://`` (SeaweedFS), as
the tests run them (``--remote replit,s3``; ``--remote ""`` for none). They are
measured in the same rounds, and a second table shows their ratio against the
gallery on ``file://``: what a request costs when the cache answers, as the
readiness check and the warm-up have filled it. In the steady state such a
request asks the bucket nothing (the catalog is checked once every two seconds
per process: a ``stat`` of its root and of the image's shard), and neither does
a 304; ``--cache-bytes 0`` measures the same buckets without the cache.

``--profile`` also runs the app in-process under cProfile (Flask test client,
``--profile-requests`` requests per case) and prints where the time goes.
Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PHOTO = (2400, 1600)
PHOTO_QUALITY = 75  # about 500 KB, like a web-sized camera photo
CASES = [
    # name, path suffix, revalidate, expected status, target ratio
    ("original 200", "", False, 200, 0.8),
    ("sm thumbnail 200", "/sm", False, 200, 0.8),
    ("original 304", "", True, 304, 0.9),
]
START_TIMEOUT = 30.0
THREADS = 8  # as make run

BASELINE = '''\
"""A bare Flask app serving the same files as the gallery, straight from disk."""

import json
import os

from flask import Flask, abort, send_file

FILES = json.loads(os.environ["BENCH_FILES"])
app = Flask(__name__)


def _serve(name):
    found = FILES.get(name)
    if found is None:
        abort(404)
    return send_file(found["path"], mimetype=found["content_type"], etag=found["etag"],
                     conditional=True, max_age=31536000)


@app.get("/media/<image_id>")
def original(image_id):
    return _serve(image_id)


@app.get("/media/<image_id>/<variant>")
def variant(image_id, variant):
    return _serve(f"{image_id}/{variant}")
'''


# --- the load generator (runs in child processes) ----------------------------------


def load(port: int, path: str, etag: str | None, expect: int, connections: int,
         start_at: float, duration: float, max_requests: int) -> dict[str, Any]:
    """Request ``path`` on 127.0.0.1:``port`` over ``connections`` keep-alive connections,
    from ``start_at`` (wall clock) for ``duration`` seconds."""
    headers = {"If-None-Match": etag} if etag else {}
    counts = [0] * connections
    errors = [0] * connections

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.connect()
            time.sleep(max(0.0, start_at - time.time()))
            deadline = time.perf_counter() + max(0.0, start_at + duration - time.time())
            done = 0
            while done < max_requests and time.perf_counter() < deadline:
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    errors[slot] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    if errors[slot] > 100:
                        break
                    continue
                if response.status != expect:
                    errors[slot] += 1
                done += 1
            counts[slot] = done
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, start_at - time.time()) + duration + 30)
    return {"requests": sum(counts), "errors": sum(errors)}


def measure(server: Server, path: str, etag: str | None, expect: int, *, clients: int,
            connections: int, duration: float, max_requests: int) -> dict[str, Any]:
    """Run ``clients`` load processes at once against ``server``.

    Returns requests per second, and the CPU time the server's processes spent
    per request (user + system; less sensitive to other load on the machine).
    """
    spec = {"port": server.port, "path": path, "etag": etag, "expect": expect,
            "connections": connections, "start_at": time.time() + 0.3, "duration": duration,
            "max_requests": max_requests}
    args = [sys.executable, __file__, "--load", json.dumps(spec)]
    cpu_before = server.cpu_seconds()
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    results = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=duration + 60)
            if proc.returncode != 0:
                raise RuntimeError(f"load generator failed with {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    cpu = server.cpu_seconds() - cpu_before
    requests = sum(r["requests"] for r in results)
    return {"rps": requests / duration, "errors": sum(r["errors"] for r in results),
            "cpu_us": cpu / max(1, requests) * 1e6, "requests": requests}


def share(ours: dict[str, Any], other: dict[str, Any]) -> float:
    """Requests per second of ``ours`` over ``other``'s (0 when ``other`` answered none)."""
    return ours["rps"] / other["rps"] if other["rps"] else 0.0


# --- servers -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One server in its own process group, logging to a file.

    ``app:app`` (the gallery) starts as ``make run`` starts it; any other WSGI
    module under ``waitress-serve`` with the same number of threads.
    """

    def __init__(self, name: str, module: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log
        self._log_file = open(log, "wb")
        if module == "app:app":
            command = [str(BIN / "python"), "-m", "gallery.serve", "--host", "127.0.0.1",
                       "--port", str(self.port), "--threads", str(THREADS)]
        else:
            command = [str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{self.port}",
                       f"--threads={THREADS}", module]
        self.proc = subprocess.Popen(
            command,
            cwd=cwd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, deadline: float) -> None:
        """Poll until ``path`` has answered 200 a few times (bounded by ``deadline``), or fail."""
        answered = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    answered += 1
                    if answered >= 8:
                        return
                    continue
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {path} in time:\n"
                           f"{self.log.read_text(errors='replace')[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server and its live children (Linux ``/proc``)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.proc.pid or ppid == self.proc.pid:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log_file.close()


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ``GALLERY_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    env.update(extra)
    return env


# --- set-up ------------------------------------------------------------------------


def prepare(bucket: Path) -> tuple[str, dict[str, dict[str, str]]]:
    """Upload the photo into a fresh ``file://`` bucket; its id and the files to serve."""
    from gallery import create_app
    from tests.imaging.fixtures import jpeg

    app = create_app({"storage": f"file://{bucket}", "secret_key": "bench"}, environ={})
    runtime = app.extensions["gallery"]
    runtime.accounts.create_user("bench", "bench password 1", role="admin")
    data = jpeg(*PHOTO, quality=PHOTO_QUALITY)
    image = runtime.images.upload(data, "photo.jpg", uploaded_by="bench").image
    files = {}
    for name, variant in ((image["id"], None), (f"{image['id']}/sm", "sm")):
        media = runtime.images.media(image["id"], variant)
        files[name] = {"path": runtime.storage.local_path(media.key),
                       "content_type": media.content_type, "etag": media.etag.strip('"'),
                       "size": str(media.size)}
    runtime.storage.close()
    return image["id"], files


def prepare_remote(storage_url: str) -> tuple[str, dict[str, str]]:
    """Upload the photo into the bucket at ``storage_url``; its id and the ETags by suffix."""
    from gallery import create_app
    from tests.imaging.fixtures import jpeg

    app = create_app({"storage": storage_url, "secret_key": "bench"}, environ={})
    runtime = app.extensions["gallery"]
    runtime.accounts.create_user("bench", "bench password 1", role="admin")
    image = runtime.images.upload(jpeg(*PHOTO, quality=PHOTO_QUALITY), "photo.jpg",
                                  uploaded_by="bench").image
    etags = {suffix: runtime.images.media(image["id"], variant).etag.strip('"')
             for suffix, variant in (("", None), ("/sm", "sm"))}
    runtime.storage.close()
    return image["id"], etags


@contextlib.contextmanager
def remote_buckets(names: list[str]) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    """The emulators for ``names`` (``replit``, ``s3``) running, a fresh bucket in each:
    ``{name: (storage URL, environment a server needs)}``. The environment is set in
    this process too, while they run."""
    from tests.support.gcs_server import GCSServer, emulator_env
    from tests.support.s3_server import S3Server
    from tests.support.sidecar import FakeSidecar

    unknown = set(names) - {"replit", "s3"}
    if unknown:
        raise SystemExit(f"--remote takes replit and s3, not {', '.join(sorted(unknown))}")
    saved = dict(os.environ)
    found: dict[str, tuple[str, dict[str, str]]] = {}
    with contextlib.ExitStack() as stack:
        try:
            if "replit" in names:
                gcs = stack.enter_context(GCSServer())
                bucket = gcs.create_bucket()
                stack.enter_context(FakeSidecar(default_bucket=bucket))
                found["replit"] = (f"replit://{bucket}", emulator_env(gcs.url))
            if "s3" in names:
                s3 = stack.enter_context(S3Server())
                found["s3"] = (f"s3://{s3.create_bucket()}", s3.env())
            for _, env in found.values():
                os.environ.update(env)
            yield found
        finally:
            os.environ.clear()
            os.environ.update(saved)


# --- profile -----------------------------------------------------------------------


def profile(tmp: Path, bucket: Path, image_id: str, files: dict[str, dict[str, str]],
            requests: int) -> None:
    """Where a request's time goes, in-process: the gallery and the baseline on the
    Flask test client (no network), timed plainly, then the gallery under cProfile."""
    import cProfile
    import importlib.util
    import pstats

    from gallery import create_app

    gallery = create_app({"storage": f"file://{bucket}", "secret_key": "bench"}, environ={})
    os.environ["BENCH_FILES"] = json.dumps(files)
    spec = importlib.util.spec_from_file_location("baseline", tmp / "baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    del os.environ["BENCH_FILES"]
    etags = {"": files[image_id]["etag"], "/sm": files[f"{image_id}/sm"]["etag"]}

    def run(app: Any, path: str, headers: dict[str, str], count: int) -> tuple[float, int]:
        client = app.test_client()
        start = time.perf_counter()
        for _ in range(count):
            response = client.get(path, headers=headers)
            response.close()
        return (time.perf_counter() - start) / count * 1e6, response.status_code

    print(f"\nIn-process (Flask test client, no network), best of 5 x {requests} requests:")
    header = f"{'case':<18} {'gallery us':>11} {'baseline us':>12} {'extra us':>9}"
    print(header)
    print("-" * len(header))
    profiles = []
    for name, suffix, revalidate, expect, _ in CASES:
        path = f"/media/{image_id}{suffix}"
        headers = {"If-None-Match": f'"{etags[suffix]}"'} if revalidate else {}
        run(gallery, path, headers, 50)
        run(module.app, path, headers, 50)
        ours = base = float("inf")
        for _ in range(5):  # interleaved; the best run is the one least disturbed
            ours = min(ours, run(gallery, path, headers, requests)[0])
            base = min(base, run(module.app, path, headers, requests)[0])
        status = run(gallery, path, headers, 1)[1]
        note = "" if status == expect else f"  (answered {status}, expected {expect})"
        print(f"{name:<18} {ours:>11.0f} {base:>12.0f} {ours - base:>9.0f}{note}")
        profiler = cProfile.Profile()
        profiler.enable()
        run(gallery, path, headers, requests)
        profiler.disable()
        profiles.append((name, profiler))
    for name, profiler in profiles:
        print(f"\n== gallery under cProfile: {name}, {requests} requests "
              "(cumulative; gallery code and the extensions it runs) ==")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(
            r"gallery/|flask_login|flask_wtf|werkzeug/utils.py|flask/helpers.py", 22)


# --- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="measurements per case (median)")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=2, help="connections per process")
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per connection")
    parser.add_argument("--remote", default="replit,s3",
                        help="buckets over the network to measure with the media cache, "
                             "comma-separated: replit, s3 (empty: none)")
    parser.add_argument("--cache-bytes", default="512MB",
                        help="GALLERY_CACHE_BYTES of the servers over the network (0: no cache)")
    parser.add_argument("--profile", action="store_true", help="also profile the app in-process")
    parser.add_argument("--profile-requests", type=int, default=2000)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(load(**json.loads(args.load))))
        return 0

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    opts = {"clients": args.clients, "connections": args.connections,
            "duration": args.duration, "max_requests": args.max_requests}
    remote = [name for name in args.remote.split(",") if name.strip()]
    with tempfile.TemporaryDirectory() as tmp, remote_buckets(remote) as buckets:
        tmp_path = Path(tmp)
        bucket = tmp_path / "bucket"
        image_id, files = prepare(bucket)
        (tmp_path / "baseline.py").write_text(BASELINE)
        etags = {"": files[image_id]["etag"], "/sm": files[f"{image_id}/sm"]["etag"]}
        # What each server serves: the image id and its ETags by path suffix.
        targets = {"gallery": (image_id, etags), "baseline": (image_id, etags)}
        for name, (url, _) in buckets.items():
            targets[name] = prepare_remote(url)
        servers: list[Server] = []
        try:
            servers.append(Server(
                "gallery", "app:app", ROOT,
                clean_env(GALLERY_STORAGE=f"file://{bucket}", GALLERY_SECRET_KEY="bench"),
                tmp_path / "gallery.log"))
            servers.append(Server(
                "baseline", "baseline:app", tmp_path,
                clean_env(BENCH_FILES=json.dumps(files)), tmp_path / "baseline.log"))
            for name, (url, env) in buckets.items():
                servers.append(Server(
                    name, "app:app", ROOT,
                    clean_env(GALLERY_STORAGE=url, GALLERY_SECRET_KEY="bench",
                              GALLERY_CACHE_DIR=str(tmp_path / f"cache-{name}"),
                              GALLERY_CACHE_BYTES=args.cache_bytes, **env),
                    tmp_path / f"{name}.log"))
            deadline = time.monotonic() + START_TIMEOUT
            for server in servers:
                server.wait_ready(f"/media/{targets[server.name][0]}", deadline)

            def run(server: Server, suffix: str, revalidate: bool, expect: int,
                    **changes: Any) -> dict[str, Any]:
                served, tags = targets[server.name]
                return measure(server, f"/media/{served}{suffix}",
                               f'"{tags[suffix]}"' if revalidate else None, expect,
                               **{**opts, **changes})

            size = int(files[image_id]["size"])
            sm_size = int(files[f"{image_id}/sm"]["size"])
            print(f"Media serving: waitress, {THREADS} threads on 127.0.0.1, {os.cpu_count()} CPUs; "
                  f"{args.clients}x{args.connections} keep-alive connections, "
                  f"{args.duration:g} s per run, median of {args.rounds} rounds")
            print(f"original: {PHOTO[0]}x{PHOTO[1]} JPEG, {size / 1024:.0f} KB; "
                  f"sm: WebP, {sm_size / 1024:.0f} KB")
            results: dict[tuple[str, str], list[dict[str, Any]]] = {}
            errors = 0
            for _, suffix, revalidate, expect, _ in CASES:  # warm-up, not counted
                for server in servers:
                    run(server, suffix, revalidate, expect, duration=min(1.0, args.duration))
            for round_ in range(args.rounds):
                order = servers if round_ % 2 == 0 else servers[::-1]
                for name, suffix, revalidate, expect, _ in CASES:
                    for server in order:  # back to back: drift hits all alike
                        got = run(server, suffix, revalidate, expect)
                        errors += got["errors"]
                        results.setdefault((name, server.name), []).append(got)
        finally:
            for server in servers:
                server.stop()

        print()
        header = (f"{'case':<18} {'gallery req/s':>14} {'baseline req/s':>15} {'ratio':>7} "
                  f"{'target':>7} {'':>5}  {'CPU us/req gallery':>18} {'baseline':>9} "
                  f"{'ratio':>6}  per-round req/s ratios")
        print(header)
        print("-" * len(header))
        for name, _, _, _, target in CASES:
            ours = results[(name, "gallery")]
            base = results[(name, "baseline")]
            ratios = [share(a, b) for a, b in zip(ours, base, strict=True)]
            ratio = statistics.median(ratios)
            verdict = "ok" if ratio >= target else "BELOW"
            cpu_ours = statistics.median(r["cpu_us"] for r in ours)
            cpu_base = statistics.median(r["cpu_us"] for r in base)
            cpu_ratio = f"{cpu_base / cpu_ours:>5.2f}x" if cpu_ours and cpu_base else f"{'-':>6}"
            print(f"{name:<18} {statistics.median(r['rps'] for r in ours):>14.0f} "
                  f"{statistics.median(r['rps'] for r in base):>15.0f} {ratio:>6.2f}x "
                  f"{target:>6.2f}x {verdict:>5}  {cpu_ours:>18.0f} {cpu_base:>9.0f} "
                  f"{cpu_ratio}  " + " ".join(f"{r:.2f}" for r in ratios))
        print("ratio: median of the per-round ratios gallery/baseline, each pair measured back to "
              "back; req/s: medians.\nCPU us/req: user+system time of the server's processes per "
              "request (median); its ratio is baseline/gallery, the throughput ratio to expect "
              "when the servers are CPU-bound, and steadier when other work shares the machine.")
        if buckets:
            print()
            header = (f"{'case':<18} {'backend':<8} {'req/s':>8} {'file:// req/s':>14} "
                      f"{'ratio':>7}  {'CPU us/req':>10} {'file://':>8} {'ratio':>6}  "
                      "per-round req/s ratios")
            print(header)
            print("-" * len(header))
            for name, _, _, _, _ in CASES:
                local = results[(name, "gallery")]
                for backend in buckets:
                    ours = results[(name, backend)]
                    ratios = [share(a, b) for a, b in zip(ours, local, strict=True)]
                    cpu_ours = statistics.median(r["cpu_us"] for r in ours)
                    cpu_local = statistics.median(r["cpu_us"] for r in local)
                    cpu_ratio = (f"{cpu_local / cpu_ours:>5.2f}x" if cpu_ours and cpu_local
                                 else f"{'-':>6}")
                    print(f"{name:<18} {backend:<8} "
                          f"{statistics.median(r['rps'] for r in ours):>8.0f} "
                          f"{statistics.median(r['rps'] for r in local):>14.0f} "
                          f"{statistics.median(ratios):>6.2f}x  {cpu_ours:>10.0f} "
                          f"{cpu_local:>8.0f} {cpu_ratio}  "
                          + " ".join(f"{r:.2f}" for r in ratios))
            print(f"The gallery over a bucket on the network (GALLERY_CACHE_BYTES="
                  f"{args.cache_bytes}), against the gallery on file:// in the same rounds "
                  "(ratio: backend/file://; CPU ratio: file:///backend). A request served from the "
                  "cache asks the bucket nothing; the catalog is checked every 2 s per process.")
        if errors:
            print(f"{errors} requests failed or answered an unexpected status")
        if args.profile:
            profile(tmp_path, bucket, image_id, files, max(1, args.profile_requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
