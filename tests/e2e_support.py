"""A real Celery worker in a subprocess, for end-to-end tests.

    with celery_worker(db_name=..., redis_prefix=..., queues=["menu-import"]) as worker:
        ...  # tasks sent from this process reach it (same broker, same key prefix)

The worker talks to the same MongoDB and Redis servers as the tests (MONGODB_URI and
REDIS_URL from the environment) with the database name and Redis key prefix it is given, so
it sees the test's data. Its broker keys carry a prefix of its own; this process's Celery app
is pointed at that prefix while the worker runs. The worker's process group is killed at
the end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import kombu.pools

from upvendo.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def services_script() -> ModuleType:
    """scripts/services.py (not a package), loaded as a module of its own: its free_port(),
    pid_alive() and Services for tests that start or check services themselves."""
    spec = importlib.util.spec_from_file_location("test_services", ROOT / "scripts/services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Poll ``condition`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    broker_prefix: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """Kill the whole worker (main process and pool children) at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextlib.contextmanager
def _producer_prefix(prefix: str) -> Iterator[None]:
    """Point this process's Celery app at the worker's broker key prefix."""
    options = dict(celery_app.conf.broker_transport_options or {})

    def reset_pools() -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        kombu.pools.reset()  # the producer pools are global, keyed by connection

    celery_app.conf.broker_transport_options = {**options, "global_keyprefix": prefix}
    reset_pools()
    try:
        yield
    finally:
        celery_app.conf.broker_transport_options = options
        reset_pools()


@contextlib.contextmanager
def celery_worker(
    *,
    db_name: str,
    redis_prefix: str,
    queues: Sequence[str],
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
    include: Sequence[str] = (),
) -> Iterator[Worker]:
    """`include`: extra task modules the worker imports (celery worker --include)."""
    broker_prefix = f"test-celery-{uuid.uuid4().hex[:10]}:"
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "upvendo.settings",
        "DJANGO_ENV": "test",
        "SERVICES_ENV_FILE": "/dev/null",
        "MONGODB_DB": db_name,
        "REDIS_KEY_PREFIX": redis_prefix,
        "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_KEY_PREFIX": broker_prefix,
        **(env or {}),
    }
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the worker's life
        prefix="celery-worker-", suffix=".log", delete=False
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "upvendo",
        "worker",
        "-Q",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "-P",
        "prefork",
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
        *(["--include", ",".join(include)] if include else []),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=worker_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = Worker(process, Path(log_file.name), broker_prefix)
    try:
        with _producer_prefix(broker_prefix):
            wait_for(
                lambda: process.poll() is not None or " ready." in worker.log(),
                timeout=ready_timeout,
                what="the Celery worker to be ready",
            )
            if process.poll() is not None:
                raise AssertionError(f"the Celery worker exited:\n{worker.log()}")
            yield worker
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        log_file.close()
        with contextlib.suppress(OSError):
            os.unlink(log_file.name)


def worker_env_for(settings: Any) -> dict[str, str]:
    """The database name and Redis prefix a worker needs to see a test's data."""
    return {"db_name": settings.MONGODB_DB, "redis_prefix": settings.REDIS_KEY_PREFIX}
