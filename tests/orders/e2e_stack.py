"""Real Celery workers and a real celery beat, in subprocesses, sharing one broker prefix.

`tests/e2e_support.celery_worker` starts one worker with a prefix of its own; the order push
tests need two workers (queues `default` and `payments-medium`) plus beat on the SAME prefix,
and must SIGKILL and restart the workers on that prefix, so they start processes here and
reuse e2e_support's polling and producer-prefix switch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.e2e_support import ROOT, _producer_prefix, wait_for

QUEUES: tuple[tuple[str, int], ...] = (
    ("default", 3),
    ("payments-medium", 2),
    ("connection-tests", 1),  # beat's re-tests of disconnected registers
)


class Process:
    def __init__(self, name: str, command: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.queue, self.concurrency = "", 0  # a worker's, to start it again
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open for the process' life
            prefix=f"orders-{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def wait_ready(self, marker: str, timeout: float = 60.0) -> None:
        wait_for(
            lambda: self.process.poll() is not None or marker in self.log(),
            timeout=timeout,
            what=f"{self.name} to start",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the process group: the main process and its pool children at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log_file.name)


class CeleryStack:
    """Workers for `default`, `payments-medium` and `connection-tests`, and beat, on one
    broker prefix."""

    def __init__(self, env: dict[str, str], *, beat_db: Path) -> None:
        self.broker_prefix = f"test-orders-{uuid.uuid4().hex[:10]}:"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "upvendo.settings",
            "DJANGO_ENV": "test",
            "SERVICES_ENV_FILE": "/dev/null",
            "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CELERY_KEY_PREFIX": self.broker_prefix,
            "DATABASE_URL": f"sqlite:///{beat_db}",
            **env,
        }
        self.workers: list[Process] = []
        self.beat: Process | None = None

    def _celery(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "upvendo", *args]

    def start_workers(self, queues: Sequence[tuple[str, int]] = QUEUES) -> None:
        """One worker per (queue, concurrency)."""
        started = [self._start_worker(queue, concurrency) for queue, concurrency in queues]
        for worker in started:
            worker.wait_ready(" ready.")

    def _start_worker(self, queue: str, concurrency: int) -> Process:
        worker = Process(
            f"worker-{queue}",
            self._celery(
                "worker",
                "-Q",
                queue,
                "--concurrency",
                str(concurrency),
                "-P",
                "prefork",
                "-n",
                f"{queue}-{uuid.uuid4().hex[:6]}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ),
            self.env,
        )
        worker.queue, worker.concurrency = queue, concurrency
        self.workers.append(worker)
        return worker

    def restart_exited_workers(self) -> list[str]:
        """Start a new worker for each one that exited, as production's process supervisor
        does (docker compose `restart: unless-stopped`); returns the exited workers' logs."""
        exited = [w for w in self.workers if w.process.poll() is not None]
        logs = []
        for worker in exited:
            self.workers.remove(worker)
            logs.append(worker.log())
            worker.stop()
            self._start_worker(worker.queue, worker.concurrency).wait_ready(" ready.")
        return logs

    def kill_workers(self) -> None:
        for worker in self.workers:
            worker.kill()
            worker.stop()
        self.workers = []

    def start_beat(self) -> None:
        """Migrate the beat database, write the schedules, start beat."""
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )
        subprocess.run(
            [*manage, "ensure_schedules"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )
        self.beat = Process(
            "beat",
            self._celery(
                "beat",
                "-S",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--max-interval",
                "1",
                "--loglevel",
                "INFO",
            ),
            self.env,
        )
        self.beat.wait_ready("beat: Starting")

    def stop(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            process.stop()

    def logs(self) -> str:
        processes = [*self.workers, *([self.beat] if self.beat else [])]
        return "\n".join(f"--- {p.name}\n{p.log()[-4000:]}" for p in processes)


@contextlib.contextmanager
def celery_stack(
    env: dict[str, str], queues: Sequence[tuple[str, int]] = QUEUES
) -> Iterator[CeleryStack]:
    """Beat (schedules written by `ensure_schedules`) and one worker per (queue, concurrency),
    with this process's Celery producer on their broker prefix."""
    with tempfile.TemporaryDirectory(prefix="orders-beat-") as tmp:
        stack = CeleryStack(env, beat_db=Path(tmp) / "beat.sqlite3")
        try:
            with _producer_prefix(stack.broker_prefix):
                stack.start_beat()
                stack.start_workers(queues)
                yield stack
        finally:
            stack.stop()
