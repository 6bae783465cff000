"""A private PostgreSQL server for tests that stop or restart the database.

A test that restarts PostgreSQL must never touch a server it did not start: the one at
127.0.0.1:5432 is the machine's. This one is initialised (Debian's PostgreSQL 15
binaries) into a temporary folder, listens on a free port and a socket in that folder,
trusts local connections, and runs without fsync. PostgreSQL refuses to run as root, so
its programs run as the ``postgres`` user when the test is root. ``pg_ctl -D <our
folder>`` is the only handle used to stop it: no other server can be hit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.private_redis import HOST, free_port

BIN = Path(os.environ.get("DINTERO_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dintero-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(BIN / args[0]), *args[1:]]), check=True, capture_output=True, timeout=120
        )

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses={HOST} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=100"
        )
        log = str(self.directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: connections are cut, transactions rolled back; ``immediate``: a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> float:
        stopped = time.monotonic()
        self.stop(mode)
        self.start()
        return time.monotonic() - stopped

    def running(self) -> bool:
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def dsn(self, name: str) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={name}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a fixed test name, not input

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                check=False,
                timeout=120,
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self) -> str:
        log = self.directory / "postgres.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    assert (BIN / "initdb").exists(), f"PostgreSQL 15 programs not found in {BIN} (Debian: postgresql-15)"
    server = PrivatePostgres().init()
    try:
        server.start()
        yield server
    finally:
        server.remove()
