"""example_project/demo.py: its help, --fresh, the emulator's state file, quiet pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from example_project import demo

ROOT = Path(__file__).resolve().parents[2]


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
