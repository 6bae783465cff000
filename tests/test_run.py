"""tests/run.py, the README's test command: its gates print only what they are for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import run as test_command

ROOT = Path(__file__).resolve().parents[1]


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
