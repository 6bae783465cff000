#!/usr/bin/env python3
"""The one test command: ``python3 tests/run.py`` from a fresh clone.

It creates ``.venv`` (if missing), installs the package with its test and dev
extras, makes sure PostgreSQL and Redis answer, then runs the suite on SQLite
and on PostgreSQL (the PostgreSQL leg includes the concurrency tests and the
real ``celery worker`` tier). A skipped test fails a leg: a skip must never
hide a failure.

Options:
  --leg sqlite|postgres|all   which database legs (default: all)
  --no-gates                  skip the quality gates (ruff, mypy, makemigrations --check, wheel)
  --no-reliability            leave out the reliability battery (tests/reliability)

The reliability battery splits itself between the legs (tests/reliability/
conftest.py): single-connection scenarios (the model test, schema fuzzing) on
SQLite, concurrency, chaos and load on PostgreSQL, so each runs once.
  --python PATH               interpreter for the virtual environment (default: this one)
  --venv DIR                  virtual environment folder (default: .venv)
  -k / -x / other args        passed on to pytest (after --)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leg", choices=["sqlite", "postgres", "all", "none"], default="all")
    parser.add_argument("--no-gates", dest="gates", action="store_false")
    parser.add_argument("--no-reliability", dest="reliability", action="store_false")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--venv", default=str(ROOT / ".venv"))
    parser.add_argument("--django", default="", help="pip requirement for Django, e.g. 'Django>=6,<6.2'")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    venv = Path(args.venv)
    python = ensure_venv(venv, args.python, args.django)
    ensure_services()
    started = time.monotonic()
    if args.gates:
        run_gates(python)
    legs = {"all": ["sqlite", "postgres"], "none": []}.get(args.leg, [args.leg])
    failed = [leg for leg in legs if run_leg(python, leg, args.pytest_args, args.reliability) != 0]
    print(
        f"\n== legs run: {legs}; failed: {failed or 'none'}; {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 1 if failed else 0


def sh(*cmd: str, env: dict[str, str] | None = None, check: bool = True) -> int:
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, check=False)
    if check and result.returncode != 0:
        raise SystemExit(result.returncode)
    return result.returncode


def ensure_venv(venv: Path, base_python: str, django: str) -> str:
    python = venv / "bin" / "python"
    if not python.exists():
        sh(base_python, "-m", "venv", str(venv))
        sh(str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(str(python), "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    if django:
        sh(str(python), "-m", "pip", "install", "--quiet", django)
    return str(python)


def ensure_services() -> None:
    """PostgreSQL and Redis on 127.0.0.1; start them if this machine has them stopped."""
    if (
        shutil.which("pg_isready")
        and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode != 0
    ):
        clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        for version in clusters:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
            )
        wait_for(["pg_isready", "-q", "-h", "127.0.0.1"], "PostgreSQL")
    if (
        shutil.which("redis-cli")
        and subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, check=False
        ).returncode
        != 0
    ):
        os.makedirs("/var/lib/redis", exist_ok=True)
        os.makedirs("/var/log/redis", exist_ok=True)
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/var/lib/redis",
                "--logfile",
                "/var/log/redis/ci.log",
            ],
            check=False,
        )
        wait_for(["redis-cli", "-h", "127.0.0.1", "ping"], "Redis")


def wait_for(cmd: list[str], name: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(cmd, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit(f"{name} did not start")


#: ``makemigrations --check`` under settings that silence the test settings' deliberate
#: configuration warnings (tests/gate_settings.py): the gate prints only its own answer.
MIGRATIONS_GATE = ("manage.py", "makemigrations", "--check", "--dry-run")
MIGRATIONS_GATE_ENV = {"DJANGO_SETTINGS_MODULE": "tests.gate_settings"}


def run_gates(python: str) -> None:
    bin_dir = Path(python).parent
    sh(str(bin_dir / "ruff"), "check", ".")
    sh(str(bin_dir / "ruff"), "format", "--check", ".")
    sh(str(bin_dir / "mypy"), "dintero_django")
    # The layers of docs/architecture.md (.importlinter), and no import cycle at all.
    sh(str(bin_dir / "lint-imports"), "--no-cache")
    sh(python, "tests/import_cycles.py")
    sh(python, *MIGRATIONS_GATE, env=MIGRATIONS_GATE_ENV)
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    sh(python, "-m", "build", "--wheel", "--outdir", str(dist))
    check_wheel(python, dist)


def check_wheel(python: str, dist: Path) -> None:
    """The wheel installs into a clean environment and imports (emulator included)."""
    wheel = next(dist.glob("dintero_django-*.whl"))
    clean = ROOT / "dist" / "venv"
    sh(python, "-m", "venv", str(clean))
    sh(str(clean / "bin" / "pip"), "install", "--quiet", f"{wheel}[drf,redis,testing]")
    sh(
        str(clean / "bin" / "python"),
        "-c",
        "import dintero_django, dintero_django.emulator, dintero_django.signature;"
        "from importlib.resources import files;"
        "assert files('dintero_django').joinpath('py.typed').is_file();"
        # The compiled translation and the admin's stylesheet travel with the package.
        "assert files('dintero_django').joinpath('locale/nb/LC_MESSAGES/django.mo').is_file();"
        "assert files('dintero_django').joinpath('static/dintero_django/admin.css').is_file();"
        "print('wheel ok', dintero_django.__version__)",
    )
    # The README's quickstart pasted into a fresh project on this wheel (tests/packaging).
    env = {"DINTERO_WHEEL_VENV": str(clean), "DINTERO_FORBID_SKIPS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    sh(python, "-m", "pytest", "tests/packaging", env=env)


def run_leg(python: str, leg: str, extra: list[str], reliability: bool) -> int:
    env = {"DINTERO_FORBID_SKIPS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    # Worker-tier tests not marked postgres run on SQLite too (SQLite with a real worker).
    marks = "not postgres" if leg == "sqlite" else ""
    if leg == "postgres":
        env["DINTERO_TEST_DB"] = "postgres"
    cmd = [python, "-m", "pytest", "--ignore=tests/packaging"]  # run once, by the gates
    if marks:
        cmd += ["-m", marks]
    if not reliability:
        cmd += ["--ignore=tests/reliability"]
    print(f"\n== {leg} leg", flush=True)
    return sh(*cmd, *extra, env=env, check=False)


if __name__ == "__main__":
    sys.exit(main())
