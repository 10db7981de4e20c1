"""Run the whole stack for development: `scripts/run` (after bootstrap) calls this.

It starts MongoDB and Redis (scripts/services.py), migrates, ensures the MongoDB indexes,
starts the Kassanet POS simulator as the demo register, seeds the demo (user, location and a
Hendrickx integration connected to the simulator), then runs the web server, one Celery worker
per queue and celery-beat. Ctrl-C (or SIGTERM) stops everything it started, and only that.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import ROOT, ServiceError, Services, pid_alive, port_is_free, read_int

# Where the stack keeps its MongoDB data, logs and lock (RUN_STATE_DIR: tests run their own).
STATE_DIR = Path(os.environ.get("RUN_STATE_DIR", ROOT / ".var" / "dev")).resolve()
LOCK_FILE = STATE_DIR / "run.pid"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
WEB_PORT = int(os.environ.get("PORT", "8000"))
SIMULATOR_PORT = int(os.environ.get("SIMULATOR_PORT", "8765"))
SIMULATOR_SIGNATURE_KEY = "demo-signature-key"
SIMULATOR_ENCRYPTION_TOKEN = "demo-encryption-token"


class StackError(Exception):
    pass


def fail(message: str) -> None:
    print(f"run: {message}", file=sys.stderr)
    sys.exit(1)


def check_not_running() -> None:
    pid = read_int(LOCK_FILE)
    if pid and pid != os.getpid() and pid_alive(pid):
        fail(
            f"the stack is already running (pid {pid}, http://127.0.0.1:{WEB_PORT}/); "
            "stop it with Ctrl-C in its terminal first."
        )
    for name, port, variable in (
        ("web server", WEB_PORT, "PORT"),
        ("POS simulator", SIMULATOR_PORT, "SIMULATOR_PORT"),
    ):
        if not port_is_free(port):
            fail(
                f"port {port} for the {name} is in use by another program; "
                f"free it or choose another with {variable}=<port> scripts/run."
            )


class Stack:
    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.services = Services("dev", STATE_DIR)
        self.env = dict(os.environ, DJANGO_ENV=os.environ.get("DJANGO_ENV", "development"))
        self.stopping = False

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            raise StackError(f"manage.py {args[0]} failed: {lines[-1]}")
        return result.stdout

    def spawn(self, name: str, *command: str) -> None:
        log = open(STATE_DIR / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        self.processes.append((name, process))

    def wait_for_http(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            self.check_children()
            time.sleep(0.3)
        raise StackError(f"{url} did not answer within {timeout:.0f} s (see .var/dev/*.log)")

    def check_children(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with status {process.returncode}; see .var/dev/{name}.log"
                )

    def start(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        LOCK_FILE.write_text(f"{os.getpid()}\n")
        print("run: starting MongoDB and Redis ...", flush=True)
        self.env.update(self.services.start())
        print("run: migrating and ensuring indexes ...", flush=True)
        self.manage("migrate", "--noinput")
        self.manage("ensure_indexes")
        self.manage("ensure_schedules")
        self.spawn(
            "simulator",
            PYTHON, "-m", "kassanet.simulator",
            "--host", "127.0.0.1",
            "--port", str(SIMULATOR_PORT),
            "--signature-key", SIMULATOR_SIGNATURE_KEY,
            "--encryption-token", SIMULATOR_ENCRYPTION_TOKEN,
            "--encrypt",
            "--products", "250",
            "--tables", "20",
        )  # fmt: skip
        simulator_url = f"http://127.0.0.1:{SIMULATOR_PORT}/kassanet/"
        self.wait_for_http(f"http://127.0.0.1:{SIMULATOR_PORT}/_control/state")
        base_url = f"http://127.0.0.1:{WEB_PORT}"
        demo = self.manage(
            "seed_demo",
            "--base-url", base_url,
            "--pos-url", simulator_url,
            "--pos-signature-key", SIMULATOR_SIGNATURE_KEY,
            "--pos-encryption-token", SIMULATOR_ENCRYPTION_TOKEN,
        )  # fmt: skip
        celery = [PYTHON, "-m", "celery", "-A", "upvendo"]
        for queue in ("default", "menu-import", "payments-medium", "connection-tests"):
            self.spawn(
                f"worker-{queue}",
                *celery, "worker", "-Q", queue, "-n", f"{queue}@%h",
                "--concurrency", "2", "--loglevel", "INFO",
            )  # fmt: skip
        self.spawn("beat", *celery, "beat", "--loglevel", "INFO")
        self.spawn(
            "web",
            PYTHON, "-m", "gunicorn", "upvendo.wsgi",
            "--bind", f"127.0.0.1:{WEB_PORT}",
            "--workers", "2", "--threads", "4", "--access-logfile", "-",
        )  # fmt: skip
        self.wait_for_http(f"{base_url}/healthz")
        print(
            "\n".join(
                [
                    "",
                    "The stack is up. Press Ctrl-C to stop everything.",
                    f"  Backoffice:     {base_url}/hendrickx  (and /vanhoutte)",
                    f"  API docs:       {base_url}/api/docs/",
                    f"  Health:         {base_url}/healthz",
                    f"  POS simulator:  {simulator_url}  (control: http://127.0.0.1:{SIMULATOR_PORT}/_control/state)",
                    f"  Logs:           {STATE_DIR}/*.log",
                    *("  " + line for line in demo.strip().splitlines()),
                    "",
                ]
            ),
            flush=True,
        )

    def watch(self) -> None:
        while not self.stopping:
            self.check_children()
            time.sleep(1)

    def stop(self) -> None:
        self.stopping = True
        for _, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what is left of its group
        self.services.stop()
        LOCK_FILE.unlink(missing_ok=True)


def main() -> int:
    check_not_running()
    stack = Stack()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicitly for SIGINT too: a process started in the background by a non-interactive shell
    # inherits SIGINT as ignored, and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        stack.watch()
    except KeyboardInterrupt:
        print("\nrun: stopping ...", flush=True)
        return_code = 0
    except (StackError, ServiceError) as exc:
        print(f"run: {exc}", file=sys.stderr, flush=True)
        return_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    print("run: stopped.", flush=True)
    return return_code


if __name__ == "__main__":
    sys.exit(main())
