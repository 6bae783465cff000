"""The pytest plugin: fixtures, settings, and loading before Django is configured."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from dintero_django.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]


def test_function_fixture_resets_the_session_emulator(request: pytest.FixtureRequest) -> None:
    server: Emulator = request.getfixturevalue("dintero_emulator_server")
    server.control.config(orders_strict=False)
    server.control.add_fault("token", "latency", seconds=0.01)
    requests.post(f"{server.url}/v1/accounts/T12345678/auth/token", timeout=5)
    emulator: Emulator = request.getfixturevalue("dintero_emulator")
    assert emulator is server
    assert emulator.control.requests_log() == []
    assert emulator.control.faults() == []
    assert emulator.control.config()["orders_strict"] is True


def test_dintero_settings(settings: Any, request: pytest.FixtureRequest) -> None:
    settings.DINTERO = {"SITE_URL": "https://shop.example.com", "ACCOUNT_ID": "P99999999"}
    emulator: Emulator = request.getfixturevalue("dintero_settings")
    assert {
        "SITE_URL": "https://shop.example.com",
        "ACCOUNT_ID": emulator.account_id,
        "CLIENT_ID": emulator.client_id,
        "CLIENT_SECRET": emulator.client_secret,
        "API_URL": emulator.url,
        "CHECKOUT_URL": emulator.url,
        "SIGNATURE_SECRET": emulator.signature_secret,
    } == settings.DINTERO


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DINTERO_EMULATOR_SIGNATURE_SECRET")
        and not key.startswith("PYTEST_")
    }
    env.update(extra)
    return env


def test_plugin_imports_without_django_settings() -> None:
    code = textwrap.dedent(
        """
        import sys
        import dintero_django.emulator.pytest_plugin
        from django.conf import settings
        assert not settings.configured, "settings were configured"
        assert "dintero_django.emulator.app" not in sys.modules, "emulator imported eagerly"
        import dintero_django.emulator
        import dintero_django.signature
        assert not settings.configured
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


SHOP_TEST = """
import os
import requests


def test_uses_the_emulator(dintero_emulator):
    assert dintero_emulator.signature_secret == os.environ["EXPECTED_SECRET"]
    token = requests.post(
        f"{dintero_emulator.url}/v1/accounts/{dintero_emulator.account_id}/auth/token",
        auth=(dintero_emulator.client_id, dintero_emulator.client_secret),
        json={
            "grant_type": "client_credentials",
            "audience": "https://api.dintero.com/v1/accounts/" + dintero_emulator.account_id,
        },
        timeout=5,
    )
    assert token.status_code == 200
"""


@pytest.mark.parametrize(
    ("env_secret", "expected"),
    [(None, "from-ini"), ("from-env", "from-env"), ("", "")],
    ids=["ini", "env-wins", "env-empty"],
)
def test_signature_secret_from_ini_or_environment(
    tmp_path: Path, env_secret: str | None, expected: str
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ndintero_emulator_signature_secret = from-ini\n")
    (tmp_path / "test_shop.py").write_text(SHOP_TEST)
    # Only our plugin: auto-loading every installed plugin costs seconds per run (the
    # entry-point registration itself is checked in test_registered_as_pytest11).
    extra = {"EXPECTED_SECRET": expected, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    if env_secret is not None:
        extra["DINTERO_EMULATOR_SIGNATURE_SECRET"] = env_secret
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "dintero_django.emulator.pytest_plugin",
            "test_shop.py",
        ],
        cwd=tmp_path,
        env=_clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_registered_as_pytest11() -> None:
    from importlib.metadata import entry_points

    [entry] = [e for e in entry_points(group="pytest11") if e.name == "dintero_emulator"]
    assert entry.value == "dintero_django.emulator.pytest_plugin"
