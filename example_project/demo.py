#!/usr/bin/env python3
"""Run the example shop against the Dintero emulator: ``python3 example_project/demo.py``.

Needs only Python 3.11+. It creates ``.venv`` (if missing), installs the package
with its dev extras, migrates an SQLite database in example_project/demo-data/,
seeds the products and a staff superuser, starts the Dintero emulator and the
web server, and prints the URLs. Tasks run in the web process unless --redis.
Ctrl-C stops everything. Running it again keeps the database and the emulator's
records (example_project/demo-data/emulator-state.json); --fresh starts over.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "example_project" / "demo-data"
#: The emulator's records (sessions, transactions, orders): they live as long as the
#: demo database, so a restarted demo finds Dintero's side of its orders.
STATE_FILE = DATA / "emulator-state.json"
HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"

#: Demo credentials: the emulator accepts exactly these, nothing real is involved.
ACCOUNT_ID = "T12345678"
CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-client-secret"
SIGNATURE_SECRET = "demo-signature-secret"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "dintero-demo"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 example_project/demo.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
    parser.add_argument("--emulator-port", type=int, default=8765, help="emulator port (default 8765)")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="run tasks on a real Celery worker (and beat for the reconciler) over Redis at "
        f"{REDIS_URL}; starts redis-server when it is installed and not running",
    )
    parser.add_argument(
        "--redis-url",
        default=None,
        help=f"the same with another Redis (implies --redis; default {REDIS_URL})",
    )
    parser.add_argument(
        "--no-install", action="store_true", help='skip "pip install -e .[dev]" (faster restarts)'
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete the demo database and the emulator's records first"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show the servers' logs here instead of in demo-data/logs/"
    )
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="virtualenv folder")
    parser.add_argument("--python", default=sys.executable, help="interpreter that creates the virtualenv")
    parser.add_argument("--admin-password", default=ADMIN_PASSWORD)
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def run(*cmd: str, env: dict[str, str] | None = None, log: Path | None = None) -> None:
    """Run a setup step in the foreground; stop the demo if it fails.

    With ``log``, the step's output goes to that file and is shown only if it fails
    (pip: a machine's pip configuration can print dozens of harmless warnings).
    """
    say("$ " + " ".join(cmd) + (f"  (output: {log})" if log else ""))
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(_open_log(log)) if log else None
        result = subprocess.run(  # noqa: S603 (our own commands)
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, check=False
        )
    if result.returncode != 0:
        if log is not None:
            print(log.read_text(errors="replace")[-4000:], flush=True)
        raise SystemExit(f"demo: step failed with exit code {result.returncode}: {' '.join(cmd)}")


def _open_log(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


# -- setup --------------------------------------------------------------------


def ensure_venv(venv: Path, base_python: str, install: bool) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        say(f"creating the virtualenv {venv}")
        run(base_python, "-m", "venv", str(venv))
        install = True
    if install:
        run(str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "-e", ".[dev]", log=DATA / "logs" / "pip.log")  # fmt: skip
    return python


def demo_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment example_project/settings.py reads, pointed at the emulator."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)  # the demo is SQLite, tasks in-process unless --redis
    emulator = f"http://{HOST}:{args.emulator_port}"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DJANGO_DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "DEMO_SQLITE": str(DATA / "demo.sqlite3"),
            "DINTERO_ACCOUNT_ID": ACCOUNT_ID,
            "DINTERO_CLIENT_ID": CLIENT_ID,
            "DINTERO_CLIENT_SECRET": CLIENT_SECRET,
            "DINTERO_API_URL": emulator,
            "DINTERO_CHECKOUT_URL": emulator,
            "DINTERO_SIGNATURE_SECRET": SIGNATURE_SECRET,
            "DINTERO_SITE_URL": f"http://{HOST}:{args.port}",
        }
    )
    if args.redis:
        env["CELERY_BROKER_URL"] = args.redis_url
    return env


def forget_everything() -> None:
    """--fresh: the shop's database and Dintero's side (the emulator's records) go together."""
    for path in [*DATA.glob("demo.sqlite3*"), STATE_FILE]:
        path.unlink(missing_ok=True)
    say("deleted the demo database and the emulator's records")


def prepare_database(python: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    DATA.mkdir(exist_ok=True)
    if args.fresh:
        forget_everything()
    manage = (str(python), "manage.py")
    run(*manage, "migrate", "--noinput", "-v", "0", env=env)
    run(*manage, "seed_products", env=env)
    run(*manage, "ensure_superuser", "--username", ADMIN_USER,
        "--password", args.admin_password, env=env)  # fmt: skip


# -- processes ------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path | None
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def tail(self, lines: int = 25) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Services:
    """The demo's long-running children, each in its own process group."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.running: list[Service] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Service:
        log_path = None if self.verbose else DATA / "logs" / f"{name}.log"
        log_file = None
        if log_path is not None:
            log_path.parent.mkdir(exist_ok=True)
            log_file = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own commands)
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the group
        )
        service = Service(name, process, log_path, log_file)
        self.running.append(service)
        say(f"started {name} (pid {process.pid})")
        return service

    def dead(self) -> Service | None:
        return next((s for s in self.running if s.process.poll() is not None), None)

    def stop_all(self) -> None:
        for service in reversed(self.running):
            stop(service)
        self.running.clear()


def stop(service: Service, grace: float = 15.0) -> None:
    """SIGTERM the service, wait, then SIGKILL whatever is left of its process group."""
    process = service.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            say(f"{service.name} did not stop in {grace:.0f} s; killing it")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # children it left behind, if any
    process.wait()
    if service.log_file:
        service.log_file.close()
    say(f"stopped {service.name}")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def require_free(port: int, option: str) -> None:
    if not port_is_free(port):
        raise SystemExit(
            f"demo: port {port} on {HOST} is in use (another demo running?). Stop it or "
            f"pick another with {option}."
        )


def wait_until_up(service: Service, url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own local URL)
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"demo: {service.name} did not come up at {url}\n{service.tail()}")


def start_emulator(services: Services, python: Path, env: dict[str, str], port: int) -> None:
    require_free(port, "--emulator-port")
    cmd = [
        str(python), "-m", "dintero_django.emulator", "--host", HOST, "--port", str(port),
        "--account-id", ACCOUNT_ID, "--client-id", CLIENT_ID,
        "--client-secret", CLIENT_SECRET, "--signature-secret", SIGNATURE_SECRET,
        "--state-file", str(STATE_FILE),
        # The demo shop is plain http on 127.0.0.1, where Dintero never calls back.
        "--callback-allow-http",
    ]  # fmt: skip
    service = services.start("emulator", cmd, env)
    wait_until_up(service, f"http://{HOST}:{port}/_emulator/health")


def start_web(services: Services, python: Path, env: dict[str, str], port: int) -> None:
    require_free(port, "--port")
    cmd = [str(python), "manage.py", "runserver", f"{HOST}:{port}", "--noreload"]
    service = services.start("web", cmd, env)
    wait_until_up(service, f"http://{HOST}:{port}/")


def start_celery(services: Services, python: Path, env: dict[str, str]) -> None:
    ensure_redis(services, env, env["CELERY_BROKER_URL"])
    celery = [str(python), "-m", "celery", "-A", "example_project"]
    services.start("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], env)
    schedule = str(DATA / "celerybeat-schedule")
    services.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", schedule], env)


def ensure_redis(services: Services, env: dict[str, str], url: str) -> None:
    """Use the Redis at ``url``; start a local redis-server there if none answers."""
    parts = urlsplit(url)
    port = parts.port or 6379
    if parts.hostname != HOST or not port_is_free(port):
        say(f"using the Redis at {url}")
        return
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit(
            f"demo: --redis needs Redis on {HOST}:{port}. Start it, or install it "
            "(Debian/Ubuntu: apt-get install redis-server) and run the demo again."
        )
    cmd = [server, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    service = services.start("redis", cmd, env)
    deadline = time.monotonic() + 15
    while port_is_free(port):
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"demo: redis-server did not start\n{service.tail()}")
        time.sleep(0.2)


# -- main -----------------------------------------------------------------------


def banner(args: argparse.Namespace) -> None:
    shop = f"http://{HOST}:{args.port}"
    emulator = f"http://{HOST}:{args.emulator_port}"
    tasks = f"Celery worker + beat, broker {args.redis_url}" if args.redis else "in the web process"
    logs = "shown above" if args.verbose else f"{DATA / 'logs'}/<service>.log"
    print(
        f"""
  dintero-django demo shop is running
  ------------------------------------
  Shop          {shop}/
  Admin         {shop}/admin/   user {ADMIN_USER!r}, password {args.admin_password!r}
  REST API      {shop}/api/dintero/orders/
  API schema    {shop}/api/schema/   (log into the admin first)
  Emulator      {emulator}/_emulator/state   (Dintero, both APIs, payment pages)
  Tasks         {tasks}
  Logs          {logs}

  Add products to the cart, check out, and pick an outcome on the emulator's
  payment page ("Authorize", "Decline", ...). Press Ctrl-C to stop.
""",
        flush=True,
    )


def supervise(services: Services) -> int:
    """Wait for Ctrl-C (0), or for a service to die on its own (1)."""
    while True:
        dead = services.dead()
        if dead is not None:
            say(f"{dead.name} exited with code {dead.process.returncode}\n{dead.tail()}")
            return 1
        time.sleep(0.5)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.redis = args.redis or bool(args.redis_url)
    args.redis_url = args.redis_url or REDIS_URL
    if sys.version_info < (3, 11) and args.python == sys.executable:
        raise SystemExit("demo: needs Python 3.11 or newer (or pass --python /path/to/python3.11)")
    require_free(args.emulator_port, "--emulator-port")  # before any setup work
    require_free(args.port, "--port")
    python = ensure_venv(args.venv, args.python, install=not args.no_install)
    env = demo_env(args)
    prepare_database(python, env, args)
    services = Services(verbose=args.verbose)
    # Also when started from a script, where SIGINT may arrive ignored.
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        start_emulator(services, python, env, args.emulator_port)
        if args.redis:
            start_celery(services, python, env)
        start_web(services, python, env, args.port)
        banner(args)
        return supervise(services)
    except KeyboardInterrupt:
        print(flush=True)
        say("stopping")
        return 0
    finally:
        services.stop_all()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during setup: the step's own process stopped too
        sys.exit(130)
