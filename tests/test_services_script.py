"""scripts/services.py: real mongod and redis-server started, reused and stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "services.py"


def run_services(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def parse(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.strip().splitlines())


def test_start_is_idempotent_and_stop_leaves_nothing(tmp_path: Path) -> None:
    state = str(tmp_path / "svc")
    first = run_services("start", "--profile", "test", "--dir", state)
    assert first.returncode == 0, first.stderr
    try:
        second = run_services("start", "--profile", "test", "--dir", state)
        assert second.returncode == 0, second.stderr
        assert parse(second.stdout) == parse(first.stdout)
        uri = parse(first.stdout)["MONGODB_URI"]
        client: MongoClient[dict[str, object]]
        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            assert client.admin.command("hello")["setName"] == "rs0"
        pid = int((tmp_path / "svc" / "mongod.pid").read_text())
        status = run_services("status", "--profile", "test", "--dir", state)
        assert (
            f"mongodb: up on 127.0.0.1:{uri.split(':')[2].split('/')[0]} (pid {pid})"
            in status.stdout
        )
    finally:
        stop = run_services("stop", "--profile", "test", "--dir", state)
    assert stop.returncode == 0
    assert not (tmp_path / "svc").exists()
    assert (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


def test_redis_that_cannot_be_started_is_reported_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # no redis-server on this PATH
    result = run_services("start", "--profile", "test", "--dir", str(tmp_path / "svc"), env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("services: Redis: nothing answers on 127.0.0.1:")
    assert "redis-server is not installed" in result.stderr


def test_run_command_explains_in_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "devstack.py")],
            env=dict(os.environ, PORT=str(port)),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"port {port} for the web server is in use" in result.stderr
