"""Plumbing shared by the benchmarks: the machine, the database, the processes, memory.

Nothing here measures anything by itself. Each benchmark script is one command
(``.venv/bin/python bench/<name>.py``) that uses these helpers and prints its figures.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SIGNATURE_SECRET = "bench-signature-secret"


# -- the machine ----------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ram_gib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def load() -> str:
    """The 1, 5 and 15 minute load averages (what ``uptime`` shows)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    import django

    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
        f"{cpu_model()}; RAM {ram_gib():.1f} GiB; Python {platform.python_version()}; "
        f"Django {django.get_version()}; load {load()}"
    )


def header(title: str, command: str) -> None:
    print(f"# {title}")
    print(f"command: {command}")
    print(f"machine: {machine()}")
    print()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- statistics -----------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: an observed value)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-pct * len(ordered) // 100)))  # ceil without floats drifting
    return ordered[min(rank, len(ordered)) - 1]


def spread(values: Sequence[float]) -> str:
    """``median (min-max)`` of repeated runs."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


# -- Django and the database ------------------------------------------------------------


def bench_env(**extra: str) -> dict[str, str]:
    """The environment every process of a benchmark runs with."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DINTERO_EMULATOR_SIGNATURE_SECRET": SIGNATURE_SECRET,
    }
    env.update(extra)
    return env


def setup_django(**extra: str) -> None:
    """Configure this process with bench.settings (call before importing models)."""
    os.environ.update(bench_env(**extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import example_project.celery  # noqa: F401  (the project's Celery app, as its __init__ loads it)


def recreate_database(name: str) -> None:
    """Drop and create the bench database, then migrate it (quietly)."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    with psycopg.connect(dbname="postgres", host=host, port=port, user=user, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0, interactive=False)


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# -- processes --------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        """SIGTERM the process group we started, then SIGKILL if it lingers."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def spawn(name: str, command: list[str], env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, process, log)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, proc: Proc | None = None) -> Any:
    """Poll ``predicate``; a failed start stops the process it was waiting for."""
    try:
        return _wait(predicate, timeout, what, proc)
    except BaseException:
        if proc is not None:
            proc.stop()
        raise


def _wait(predicate: Callable[[], Any], timeout: float, what: str, proc: Proc | None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def http_ok(url: str) -> bool:
    import requests

    return requests.get(url, timeout=2).status_code < 500


def start_emulator(logdir: Path, port: int | None = None) -> tuple[Proc, str]:
    """The emulator in its own process (as Dintero is another machine), signing callbacks."""
    port = port or free_port()
    command = [PYTHON, "-m", "dintero_django.emulator", "--port", str(port), "--quiet"]
    command += ["--signature-secret", SIGNATURE_SECRET, "--callback-allow-http"]  # local http shop
    proc = spawn("emulator", command, bench_env(), logdir)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/_emulator/health"), 30, "the emulator", proc)
    return proc, url


def start_gunicorn(logdir: Path, env: dict[str, str], workers: int = 2, threads: int = 1) -> tuple[Proc, str]:
    """gunicorn with ``workers`` sync workers, or gthread workers when ``threads`` > 1.

    Its own URL is its ``SITE_URL`` (in ``BENCH_DINTERO``): checkout creates sessions
    in the request, so their callback and return URLs are built here.
    """
    port = free_port()
    site = json.loads(env.get("BENCH_DINTERO") or "{}")
    env = {**env, "BENCH_DINTERO": json.dumps({**site, "SITE_URL": f"http://127.0.0.1:{port}"})}
    gunicorn = shutil.which("gunicorn", path=str(BIN)) or "gunicorn"
    command = [gunicorn, "bench.wsgi:application", "--workers", str(workers), "--threads", str(threads)]
    command += ["--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning"]
    proc = spawn("gunicorn", command, env, logdir)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/bench/minimal/"), 60, "gunicorn", proc)
    # Every worker imported Django before it answers; warm both.
    for _ in range(4 * workers):
        http_ok(f"{url}/bench/minimal/")
    return proc, url


def start_celery_worker(logdir: Path, env: dict[str, str], concurrency: int = 2) -> Proc:
    command = [PYTHON, "-m", "celery", "-A", "example_project", "worker"]
    command += ["--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "bench@%h"]
    proc = spawn("celery", command, env, logdir)
    wait_until(lambda: _celery_ready(env), 60, "the celery worker", proc)
    return proc


def _celery_ready(env: dict[str, str]) -> bool:
    from example_project.celery import app

    replies = app.control.ping(timeout=0.5) or []
    return bool(replies)


# -- memory -----------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(x) for x in (task / "children").read_text().split()]
    return found


def tree(pid: int) -> list[int]:
    pids = [pid]
    for child in children(pid):
        pids += tree(child)
    return pids


def status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class MemoryWatch:
    """Peak RSS of every process in a tree: VmHWM per process, and the sampled total."""

    root: int
    interval: float = 0.2
    peak_each: dict[int, int] = field(default_factory=dict)
    peak_total: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        total = 0
        for pid in tree(self.root):
            rss = status_kib(pid, "VmRSS")
            hwm = status_kib(pid, "VmHWM")
            total += rss
            self.peak_each[pid] = max(self.peak_each.get(pid, 0), hwm)
        self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def describe(self) -> str:
        each = sorted(self.peak_each.values(), reverse=True)
        mib = ", ".join(f"{kib / 1024:.0f}" for kib in each)
        return (
            f"peak RSS total {self.peak_total / 1024:.0f} MiB (sampled every {self.interval} s); "
            f"per process VmHWM MiB: {mib}"
        )


@contextlib.contextmanager
def stopping(*procs: Proc) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in reversed(procs):
            proc.stop()


# -- callbacks -------------------------------------------------------------------------


def signed_callback(payment: Any, stamp: int, path: str | None = None) -> tuple[str, str]:
    """The path and query of ``payment``'s callback (as Dintero would call it, paid)
    and its ``Dintero-Signature`` header made at ``stamp`` (Unix seconds); ``path``
    replaces the callback view's path (bench/ceiling.py's view)."""
    from urllib.parse import urlencode, urlsplit

    from dintero_django.adapters import get_adapter
    from dintero_django.conf import get_settings
    from dintero_django.signature import signature_header

    conf = get_settings()
    params = {
        "transaction_id": str(payment.transaction_id),
        "session_id": str(payment.session_id),
        "merchant_reference": str(payment.order.dintero_order_id),
    }
    full = f"{get_adapter().callback_url(payment.order)}&{urlencode(params)}"
    parts = urlsplit(full)
    if path is not None:
        full = parts._replace(path=path).geturl()
        parts = urlsplit(full)
    signature = signature_header(conf.signature_secrets[0], conf.ACCOUNT_ID, "GET", full, stamp)
    return f"{parts.path}?{parts.query}", signature
