"""The example project and its demo, as a new user meets them (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from example_project import demo
from tests import run as test_command

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ...`` with no DINTERO_* variable but those given."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DINTERO_", "DJANGO_"))}
    clean.update({"DEMO_SQLITE": str(tmp_path / "db.sqlite3"), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_manage_py_without_dintero_settings_uses_the_emulator_and_says_so(tmp_path: Path) -> None:
    result = manage("check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "dintero.E003" not in output
    assert "(shop.I001) No DINTERO_* connection variables are set" in output
    assert "http://127.0.0.1:8765" in output
    assert "python3 example_project/demo.py" in output


def test_half_configured_credentials_still_fail_with_a_hint_naming_the_demo(tmp_path: Path) -> None:
    result = manage("check", tmp_path=tmp_path, DINTERO_CLIENT_ID="only-the-id")
    assert result.returncode == 1
    assert "dintero.E003" in result.stderr
    assert "python3 example_project/demo.py" in result.stderr
    assert "shop.I001" not in result.stderr


def test_migrate_runs_without_dintero_settings(tmp_path: Path) -> None:
    result = manage("migrate", "--noinput", "-v", "0", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db.sqlite3").is_file()


SCHEMA_REQUESTS = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.urls import resolve
from rest_framework.test import APIRequestFactory, force_authenticate
view = resolve("/api/schema/").func
factory = APIRequestFactory()
anonymous = view(factory.get("/api/schema/"))
request = factory.get("/api/schema/")
force_authenticate(request, user=User(username="staff"))
print(json.dumps([anonymous.status_code, view(request).status_code]))
"""


def test_api_schema_is_for_logged_in_users_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCHEMA_REQUESTS],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DEMO_SQLITE": str(tmp_path / "db"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    anonymous, logged_in = json.loads(result.stdout.strip().splitlines()[-1])
    assert anonymous == 403
    assert logged_in == 200


def test_demo_help_lists_each_option_once() -> None:
    result = subprocess.run(
        [sys.executable, "example_project/demo.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for option in (
        "--redis",
        "--redis-url",
        "--port",
        "--emulator-port",
        "--no-install",
        "--fresh",
        "--verbose",
    ):
        listed = [line for line in lines if line.strip().startswith(option + " ") or line.strip() == option]
        assert len(listed) == 1, (option, listed)


def test_fresh_forgets_the_database_and_the_emulator_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DATA", tmp_path)
    monkeypatch.setattr(demo, "STATE_FILE", tmp_path / "emulator-state.json")
    kept = [tmp_path / "logs", tmp_path / "celerybeat-schedule"]
    for path in [tmp_path / "demo.sqlite3", tmp_path / "demo.sqlite3-wal", demo.STATE_FILE, kept[1]]:
        path.write_text("x")
    kept[0].mkdir()
    demo.forget_everything()
    assert sorted(tmp_path.iterdir()) == sorted(kept)


def test_demo_starts_the_emulator_with_its_state_file(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    class Recorder:
        def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Any:
            started.append(cmd)
            return None

    monkeypatch.setattr(demo, "require_free", lambda port, option: None)
    monkeypatch.setattr(demo, "wait_until_up", lambda service, url: None)
    demo.start_emulator(Recorder(), Path("python"), {}, 8765)  # type: ignore[arg-type]
    cmd = started[0]
    assert cmd[cmd.index("--state-file") + 1] == str(demo.STATE_FILE)
    assert demo.STATE_FILE.parent == demo.DATA


def test_demo_keeps_pip_output_in_a_log_unless_it_fails(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Built at run time, so the command line that demo.run() echoes does not contain it.
    noisy = "import sys\nfor _ in range(95): print('WARN' + 'ING: Location ignored', file=sys.stderr)"
    demo.run(sys.executable, "-c", noisy, log=tmp_path / "pip.log")
    shown = capfd.readouterr()
    assert "WARNING" not in shown.out + shown.err
    assert (tmp_path / "pip.log").read_text().count("WARNING") == 95
    with pytest.raises(SystemExit, match="step failed"):
        demo.run(sys.executable, "-c", noisy + "; sys.exit(3)", log=tmp_path / "pip.log")
    assert "WARNING: Location ignored" in capfd.readouterr().out


def test_migrations_gate_prints_no_configuration_warnings() -> None:
    result = subprocess.run(
        [sys.executable, *test_command.MIGRATIONS_GATE],
        cwd=ROOT,
        env={**os.environ, **test_command.MIGRATIONS_GATE_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
    assert "dintero.W" not in result.stdout + result.stderr, result.stderr
    assert result.stderr.strip() == ""
