"""A fresh ``django-admin startproject`` with the README's quickstart pasted in, run
from a clean virtual environment that has only the built wheel and its extras."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from . import docs

QUICKSTART = docs.section("README.md", "## Quickstart for a shop")
TESTING = docs.section("README.md", "## Testing your shop")
EXTRAS = "drf,redis,testing"

#: Only for watching the run: the receiver's log line reaches the server's output.
OBSERVE = """
# The packaging test's own line (not from the docs): show the shop's INFO log lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"shop": {"handlers": ["console"], "level": "INFO"}},
}
"""


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def clean_venv(where: Path, root: Path) -> Path:
    """The wheel (DINTERO_WHEEL, or built here) with its extras, in a new venv; or the
    one the gates built already (DINTERO_WHEEL_VENV)."""
    ready = os.environ.get("DINTERO_WHEEL_VENV")
    if ready:
        return Path(ready)
    wheel = os.environ.get("DINTERO_WHEEL")
    if not wheel:
        run(sys.executable, "-m", "build", "--wheel", "--outdir", where / "dist", root, cwd=root)
        wheel = str(next((where / "dist").glob("dintero_django-*.whl")))
    venv = where / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=where)
    run(venv / "bin" / "pip", "install", "--quiet", f"{wheel}[{EXTRAS}]", cwd=where, timeout=600)
    return venv


def start_project(venv: Path, where: Path) -> Path:
    """``startproject myshop``, ``startapp shop``, then every quickstart block in place."""
    where.mkdir()
    run(venv / "bin" / "django-admin", "startproject", "myshop", ".", cwd=where)
    run(venv / "bin" / "python", "manage.py", "startapp", "shop", cwd=where)
    for block in docs.blocks(QUICKSTART, "python"):
        paste(where, block)
    for block in schema_blocks():
        paste(where, block, f"myshop/{block.target}", append=True)
    with (where / "myshop" / "settings.py").open("a") as settings:
        settings.write(OBSERVE)
    return where


def schema_blocks() -> list[docs.Block]:
    """docs/rest-api.md's lines for the OpenAPI schema (settings, urls)."""
    found = [
        block
        for block in docs.blocks(docs.section("docs/rest-api.md", "# REST API"), "python")
        if "the OpenAPI schema" in block.code.splitlines()[0]
    ]
    assert [block.target for block in found] == ["settings.py", "urls.py"], found
    return found


def paste(project: Path, block: docs.Block, target: str | None = None, *, append: bool | None = None) -> None:
    path = project / (target or block.target)
    if append if append is not None else block.appends:
        assert path.exists(), f"{block.target} is to be added to, but the project has none"
        with path.open("a") as out:
            out.write("\n\n" + block.code)
    else:
        path.write_text(block.code)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def answers(url: str) -> bool:
    """Any HTTP answer (a 500 too: the caller's first request then says what failed)."""
    try:
        requests.get(url, timeout=5)
    except requests.RequestException:
        return False
    return True


class Process:
    """A background process of the shop (emulator, server, worker), its output in a file."""

    def __init__(self, cmd: list[str | Path], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [str(part) for part in cmd],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
