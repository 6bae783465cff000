"""Server plumbing, the Emulator lifecycle and the command line."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from dintero_django.emulator import Emulator, EmulatorConfig
from dintero_django.emulator.config import ConfigError

from .support import Api

REPO = Path(__file__).resolve().parents[2]


def test_start_stop_and_context_manager() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    assert emulator.start() is emulator
    url = emulator.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    assert emulator.port != 0
    assert requests.get(f"{url}/_emulator/health", timeout=5).status_code == 200
    emulator.stop()
    emulator.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_emulator/health", timeout=5)
    with Emulator() as again:
        assert requests.get(f"{again.url}/_emulator/health", timeout=5).status_code == 200
    assert "stopped" in repr(again)


def test_stop_hangs_up_kept_alive_connections() -> None:
    emulator = Emulator().start()
    url = emulator.url
    http = requests.Session()
    http.trust_env = False
    assert http.get(f"{url}/_emulator/health", timeout=5).status_code == 200
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        http.get(f"{url}/_emulator/health", timeout=5)
    http.close()


def test_config_keywords(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(orders_strict=False, signature_secret="abc")
    assert emulator.config.orders_strict is False
    assert emulator.signature_secret == "abc"
    assert emulator.control.config()["orders_strict"] is False
    emulator.control.config(orders_strict=True)
    emulator.reset()
    assert emulator.config.orders_strict is False  # reset restores the start-up config
    with pytest.raises(ConfigError, match="unknown config knob"):
        Emulator(no_such_option=True)


def test_defaults_are_documented() -> None:
    described = EmulatorConfig.describe()
    assert described["token_expires_in"]["default"] == 14400
    assert all(knob["doc"] for knob in described.values())


def test_http_11_keep_alive(api: Api) -> None:
    response = api.get("/v1/transactions")
    assert response.raw.version == 11
    assert response.headers["Server"] == "dintero-emulator"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "close" not in response.headers.get("Connection", "")


def test_connection_close_is_honoured(emu: Emulator) -> None:
    response = requests.get(f"{emu.url}/_emulator/health", headers={"Connection": "close"}, timeout=5)
    assert response.headers["Connection"] == "close"


def test_unknown_endpoint_and_method(api: Api) -> None:
    missing = api.get("/v2/whatever")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "NOT_FOUND", "message": "no such endpoint: GET /v2/whatever", "errors": []}
    }
    wrong_method = api.delete("/v1/sessions-profile")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', '{"a": "\xff"}'.encode("latin-1")])
def test_bad_json_bodies(api: Api, body: bytes) -> None:
    response = api.post("/v1/sessions-profile", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body:")


def test_chunked_request_body(api: Api) -> None:
    import json

    payload = json.dumps(api.session_body()).encode()

    def chunks() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = api.post("/v1/sessions-profile", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_unicode_return_url_is_encoded_in_location(api: Api) -> None:
    body = api.session_body()
    body["url"]["return_url"] = "https://shop.example.com/kvittering/ærlig"
    session_id = api.post("/v1/sessions-profile", json=body).json()["id"]
    response = api.http.post(
        f"{api.url}/v1/view/{session_id}/", data={"outcome": "AUTHORIZED"}, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://shop.example.com/kvittering/%C3%A6rlig?")


def test_ipv6_loopback(make_emulator: Callable[..., Emulator]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        emulator = make_emulator(host="::1")
    except OSError as error:
        pytest.skip(f"cannot bind ::1: {error}")
    assert emulator.url.startswith("http://[::1]:")
    assert requests.get(f"{emulator.url}/_emulator/health", timeout=5).status_code == 200


class _Cli:
    """The emulator as a subprocess; a reader thread collects its output lines."""

    def __init__(self, *args: str, **env: str) -> None:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("DINTERO_EMULATOR_")
        }
        environment.update(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dintero_django.emulator", *args],
            cwd=REPO,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.banner = self._banner()
        match = re.search(r"listening on (http://\S+)", self.banner)
        if match is None:
            self.process.kill()
            pytest.fail(f"emulator did not start: {self.banner!r}")
        self.url = match.group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _banner(self) -> str:
        banner = ""
        # Three lines; the last one names the control API.
        while "control API" not in banner:
            try:
                banner += self.lines.get(timeout=20)
            except queue.Empty:
                break
        return banner

    def finish(self, sig: int) -> str:
        self.process.send_signal(sig)
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        return "".join(self.output)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_command_line(sig: int) -> None:
    cli = _Cli(
        "--port",
        "0",
        "--account-id",
        "P00000042",
        DINTERO_EMULATOR_CLIENT_ID="cli-client",
        DINTERO_EMULATOR_SIGNATURE_SECRET="sig",
    )
    url, banner, process = cli.url, cli.banner, cli.process
    try:
        health = requests.get(f"{url}/_emulator/health", timeout=5).json()
        assert health["account_id"] == "P00000042"
        token = requests.post(
            f"{url}/v1/accounts/P00000042/auth/token",
            auth=("cli-client", "emulator-secret"),
            json={
                "grant_type": "client_credentials",
                "audience": "https://api.dintero.com/v1/accounts/P00000042",
            },
            timeout=5,
        )
        assert token.status_code == 200
        assert requests.get(f"{url}/_emulator/config", timeout=5).json()["signature_secret"] == "sig"
    finally:
        output = cli.finish(sig)
    assert process.returncode == 0, output
    assert "client_id=cli-client" in banner
    assert "callbacks: signed" in banner
    assert "POST /v1/accounts/P00000042/auth/token -> 200 [token]" in output
    assert token.json()["access_token"] not in output
    assert "stopping" in output


def test_command_line_quiet_and_env_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = _Cli("--quiet", DINTERO_EMULATOR_PORT=str(port), DINTERO_EMULATOR_HOST="127.0.0.1")
    url, banner, process = cli.url, cli.banner, cli.process
    assert url == f"http://127.0.0.1:{port}"
    try:
        assert requests.get(f"{url}/v1/transactions", timeout=5).status_code == 401
    finally:
        output = cli.finish(signal.SIGTERM)
    assert process.returncode == 0
    assert "/v1/transactions" not in output
    assert "client_secret: the default" in banner and "emulator-secret" not in banner
