"""The private Redis that tests restart (tests/private_redis.py): its own process only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.celery_worker import redis_client
from tests.private_redis import PrivateRedis, private_redis


def test_restart_loses_the_data_keeps_the_port_and_spares_the_shared_redis(tmp_path: Path) -> None:
    shared = redis_client()  # DINTERO_TEST_REDIS, the machine's Redis
    shared_pid = shared.info("server")["process_id"]
    shared.set("dintero:private-redis-test", "kept")
    with private_redis(tmp_path) as server:
        assert server.port != shared.connection_pool.connection_kwargs["port"]
        server.client().set("queued", "message")
        first_pid = server.process.pid if server.process else None
        downtime = server.restart()
        assert downtime > 0
        assert server.process is not None and server.process.pid != first_pid
        assert server.client().get("queued") is None  # nothing saved
    assert server.process.poll() is not None  # stopped at the end of the block
    assert shared.info("server")["process_id"] == shared_pid
    assert shared.get("dintero:private-redis-test") == b"kept"
    shared.delete("dintero:private-redis-test")


def test_it_never_shuts_down_a_server_it_did_not_start(tmp_path: Path) -> None:
    """A server on the port whose pid is not our child's is left alone."""
    (tmp_path / "theirs").mkdir()
    with private_redis(tmp_path / "theirs") as theirs:
        impostor = PrivateRedis(tmp_path)
        impostor.port = theirs.port
        impostor.process = subprocess.Popen(["sleep", "30"])
        try:
            with pytest.raises(AssertionError, match="not our redis-server"):
                impostor.shutdown()
        finally:
            impostor.process.kill()
            impostor.process.wait()
        assert theirs.client().ping()
