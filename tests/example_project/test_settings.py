"""example_project/settings.py as a new user meets it: ``manage.py`` with no Dintero
settings talks to the emulator's defaults and says so; the API schema is for
logged-in users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
