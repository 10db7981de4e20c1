"""The run command's supervisor (scripts/devstack.py) brings the whole stack up and, on Ctrl-C,
stops every process it started: the web server, the workers, beat, the simulator and mongod."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e_support import services_script, wait_for

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


def test_the_run_command_serves_healthz_and_ctrl_c_stops_all_it_started(tmp_path: Path) -> None:
    services = services_script()
    free_port, alive = services.free_port, services.pid_alive
    state_dir, web_port = tmp_path / "dev", free_port()
    env = {
        **os.environ,
        "RUN_STATE_DIR": str(state_dir),
        "PORT": str(web_port),
        "SIMULATOR_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MONGODB_DB": f"runtest_{uuid.uuid4().hex[:8]}",
        "CELERY_KEY_PREFIX": f"runtest-{uuid.uuid4().hex[:8]}:",
        "REDIS_KEY_PREFIX": f"runtest:{uuid.uuid4().hex[:8]}:",
        "SERVICES_ENV_FILE": "/dev/null",
    }
    log = (tmp_path / "run.log").open("w+")
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "devstack.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # As when started in the background by a script: SIGINT is inherited as ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    started: list[int] = []
    try:
        wait_for(
            lambda: "The stack is up" in (tmp_path / "run.log").read_text() or run.poll(),
            timeout=180,
            interval=0.5,
            what="the stack to come up",
        )
        output = (tmp_path / "run.log").read_text()
        assert run.poll() is None, output
        started = [child.pid for child in psutil.Process(run.pid).children(recursive=True)]
        started.append(int((state_dir / "mongod.pid").read_text()))  # forked: not a child
        health = httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert "Demo login:     demo / demo-password" in output
        assert len(started) >= 8  # web (master + workers), 3 workers, beat, simulator, mongod

        run.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert run.wait(timeout=90) == 0
    finally:
        # Whatever failed above, leave nothing behind: the supervisor stops its stack on
        # SIGTERM; anything still alive after that is killed.
        if run.poll() is None:
            run.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.wait(timeout=60)
        leftovers = [pid for pid in started if alive(pid)]
        for pid in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        run.kill()
        log.close()

    assert leftovers == []
    output = (tmp_path / "run.log").read_text()
    assert output.rstrip().endswith("run: stopped."), output
    assert not (state_dir / "run.pid").exists()
