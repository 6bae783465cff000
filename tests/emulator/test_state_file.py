"""``--state-file``: the emulator's records survive a restart (issue 18)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dintero_django.emulator import Emulator
from dintero_django.emulator.persistence import StateFileError, write_atomically

from .support import Api
from .test_server import _Cli


def restarted(emulator: Emulator, state: Path) -> Emulator:
    emulator.stop()
    return Emulator(state_file=state, signature_secret=emulator.signature_secret).start()


def test_records_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    first = Emulator(state_file=state).start()
    assert first.restored is False
    api = Api(first)
    try:
        authorized = api.paid()
        captured = api.paid()
        assert api.capture(captured, 29900).status_code == 200
        draft = api.create_draft()
        token = api.token()
        before = {tid: api.transaction(tid) for tid in (authorized, captured)}
    finally:
        api.close()
    second = restarted(first, state)
    api = Api(second)
    try:
        assert second.restored is True
        api._token = token  # the token issued before the restart is still good
        assert {tid: api.transaction(tid) for tid in (authorized, captured)} == before
        assert api.get(f"{api.shopping}/draft_orders/{draft['id']}").json()["id"] == draft["id"]
        # Work goes on where it stopped: the authorization is captured after the restart.
        assert api.capture(authorized, before[authorized]["amount"]).status_code == 200
        assert api.transaction(authorized)["status"] == "CAPTURED"
    finally:
        api.close()
    third = restarted(second, state)
    try:
        assert len(third.runtime.store.transactions) == 2
        assert third.runtime.store.transactions[authorized].status == "CAPTURED"
    finally:
        third.stop()


def test_reset_clears_the_file_and_an_emulator_without_one_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    emulator = Emulator(state_file=state).start()
    api = Api(emulator)
    try:
        api.paid()
        assert json.loads(state.read_text())["transactions"]
        emulator.control.reset()
        assert json.loads(state.read_text())["transactions"] == {}
    finally:
        api.close()
        emulator.stop()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.json"]  # no temporary left


def test_a_failed_write_leaves_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state.json"
    write_atomically(state, '{"old": true}')

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(state, '{"new": true}')
    assert json.loads(state.read_text()) == {"old": True}
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]


def test_a_file_of_another_account_or_damaged_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    Emulator(state_file=state, account_id="T00000001").reset()  # writes an empty file for T00000001
    with pytest.raises(StateFileError, match="holds account 'T00000001'"):
        Emulator(state_file=state)
    state.write_text("{not json")
    with pytest.raises(StateFileError, match="not an emulator state file"):
        Emulator(state_file=state)


def test_command_line_restart_keeps_the_state(tmp_path: Path) -> None:
    state = tmp_path / "demo" / "emulator-state.json"
    cli = _Cli("--port", "0", "--state-file", str(state))
    try:
        emulator_like = _Remote(cli.url)
        api = Api(emulator_like)  # type: ignore[arg-type]
        session_id = api.create_session()
        api.close()
    finally:
        first_output = cli.finish(signal.SIGTERM)
    assert f"state: new, kept in {state}" in first_output
    cli = _Cli("--port", "0", "--state-file", str(state))
    try:
        api = Api(_Remote(cli.url))  # type: ignore[arg-type]
        assert api.get(f"/v1/sessions/{session_id}").status_code == 200
        api.close()
    finally:
        output = cli.finish(signal.SIGTERM)
    assert f"state: restored from {state}: 1 sessions, 0 transactions, 0 orders" in output


def test_command_line_refuses_a_damaged_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("[]")
    cli_output = _run_to_exit("--port", "0", "--state-file", str(state))
    assert cli_output[0] == 2
    assert "not a state file of this emulator version" in cli_output[1]


class _Remote:
    """What Api needs of an Emulator, for one started on the command line."""

    account_id = "T12345678"
    client_id = "emulator-client"
    client_secret = "emulator-secret"

    def __init__(self, url: str) -> None:
        self.url = url


def _run_to_exit(*args: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "dintero_django.emulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={key: value for key, value in os.environ.items() if not key.startswith("DINTERO_EMULATOR_")},
        check=False,
    )
    return result.returncode, result.stdout + result.stderr
