"""What every fault scenario checks at its end, and the services a scenario may break.

Invariants (docs/faults.md), asserted, never printed:

- `assert_orders_settled`: every paid order is paid exactly once on the register, or it
  visibly failed (`failed` / `need_requeue` with an `errMessage`) and the register took no
  payment for it; no register bill mixes two orders.
- `assert_no_table_lock_held`: no table lock is left held by an order that ended (paid or
  failed), none past its timeout, and no table was ever granted to two owners at once.
- menus: `tests.menus.support.dump_menu` before and after: fully old (equal bytes) or fully
  new (`assert_menu_is_current`: a re-import finds nothing to change).
- `assert_no_secrets`: the register's signature key and encryption token appear in no
  captured log (the test process and every worker / beat log file).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from integrations.repository import IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from orders import services
from orders.locks import TableLockRepository
from orders.pricing import LineRequest
from orders.repository import TransactionRepository
from orders.states import ENDED
from tests.e2e_support import services_script, wait_for
from tests.menus.support import dump_menu
from tests.orders.conftest import Menu
from upvendo.celery import app as celery_app
from upvendo.mongo import ensure_indexes, get_db

SETTLED = ("paid", "failed", "need_requeue")


def shared_namespace(db_name: str, redis_prefix: str) -> tuple[Any, Any]:
    """Module fixtures replacing the per-test database and Redis prefix with fixed ones, which
    the module's long-lived worker subprocesses were started with."""

    @pytest.fixture(autouse=True)
    def mongo_db(settings: Any) -> Database[dict[str, Any]]:
        settings.MONGODB_DB = db_name
        db = get_db()
        ensure_indexes(db)
        return db

    @pytest.fixture(autouse=True)
    def redis_namespace(settings: Any) -> str:
        settings.REDIS_KEY_PREFIX = redis_prefix
        return redis_prefix

    return mongo_db, redis_namespace


def secret_simulator(**config: Any) -> SimulatorHandle:
    """A simulator whose signature key and token are unique strings (easy to grep for)."""
    return start_simulator(
        signature_key=f"sigkey-{uuid.uuid4().hex}",
        encryption_token=f"tok-{uuid.uuid4().hex[:20]}",
        **config,
    )


def push_statuses(ids: Iterable[str]) -> dict[str, str]:
    repo = TransactionRepository()
    result = {}
    for transaction_id in ids:
        txn = repo.get(transaction_id)
        assert txn is not None and txn.push is not None
        result[transaction_id] = str(txn.push.status)
    return result


def wait_settled(
    ids: list[str],
    *,
    timeout: float,
    allowed: tuple[str, ...] = SETTLED,
    logs: Callable[[], str] = str,
    each_poll: Callable[[], object] = lambda: None,
) -> dict[str, str]:
    """Wait until every push is in one of `allowed`; returns the statuses. On a timeout the
    failure shows `logs()`, read then (the workers' logs up to the failure)."""

    def settled() -> dict[str, str] | None:
        each_poll()
        statuses = push_statuses(ids)
        return statuses if all(v in allowed for v in statuses.values()) else None

    try:
        return wait_for(
            settled,
            timeout=timeout,
            interval=0.2,
            what=f"every order to be {' or '.join(allowed)}",
        )
    except AssertionError:
        raise AssertionError(f"{Counter(push_statuses(ids).values())}\n{logs()}") from None


def assert_orders_settled(sim: SimulatorHandle, ids: list[str]) -> Counter[str]:
    """Paid exactly once, or visibly not paid with a reason; returns the status counts."""
    payments = Counter(p["reference"] for p in sim.payments())
    repo = TransactionRepository()
    statuses: Counter[str] = Counter()
    for transaction_id in ids:
        txn = repo.get(transaction_id)
        assert txn is not None and txn.push is not None
        status = str(txn.push.status)
        statuses[status] += 1
        if status == "paid":
            assert payments[transaction_id] == 1, (transaction_id, payments[transaction_id])
        else:
            assert status in ("failed", "need_requeue"), (transaction_id, status)
            assert txn.push.err_message, (transaction_id, "failed without a reason")
            assert payments[transaction_id] == 0, (transaction_id, "failed but paid")
    assert set(payments) <= set(ids), "the register took a payment nobody ordered"
    for bill in sim.bills():
        assert len(bill["references"]) == 1, bill
    return statuses


def assert_no_table_lock_held(
    location_id: str,
    provider: str,
    *,
    ttl: timedelta,
    now: datetime | None = None,
) -> None:
    """An order that ended (paid or failed) holds no lock; every held lock times out within
    `ttl`; no table was ever granted to two owners at once."""
    now = now or datetime.now(UTC)
    repo = TransactionRepository()
    for lock in TableLockRepository().for_location(location_id, provider):
        if lock.owner is not None:
            assert lock.expires_at is not None and lock.expires_at <= now + ttl, lock
            owner = repo.get(lock.owner)
            assert owner is not None and owner.push is not None, lock
            assert owner.push.status not in ENDED, (owner.push.status, lock)
        holder = None
        for event in lock.events:
            if event["event"] == "claim":
                assert holder in (None, event["owner"]), (lock.table_number, lock.events)
                holder = event["owner"]
            elif event["owner"] == holder:
                holder = None


def assert_no_secrets(sim: SimulatorHandle, *logs: str) -> None:
    secrets = {"signature key": sim.signature_key, "encryption token": sim.encryption_token}
    for index, text in enumerate(logs):
        for name, value in secrets.items():
            assert value not in text, f"the register's {name} is in log {index}"


# -- services a scenario restarts ------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a free port, restartable on that port."""

    def __init__(self) -> None:
        self._services = services_script()
        self.port: int = self._services.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="faults-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        command = [
            binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(self.port),
            "--save", "", "--appendonly", "no", "--dir", str(self.dir),
            "--pidfile", str(self.dir / "redis.pid"),
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        subprocess.run(command, check=True)
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        return bool(self._services.redis_ping(self.port))

    def shutdown(self) -> None:
        """`redis-cli shutdown nosave`: every queued message is lost."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            check=False,
            capture_output=True,
        )
        wait_for(lambda: not self.answers(), timeout=10, what="redis-server to stop")

    def stop(self) -> None:
        if self.answers():
            self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


class MongoServer:
    """A single-node replica set of the test's own (scripts/services.py), killable and
    restartable on the same port with the same data."""

    def __init__(self) -> None:
        self._services = services_script()
        self.dir = Path(tempfile.mkdtemp(prefix="faults-mongo-"))
        self._runner = self._services.Services("test", self.dir)
        self.port = 0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet=rs0"

    def start(self) -> None:
        if self.port:
            # Restart on the same port: clients keep their URI and reconnect.
            port = self.port
            setattr(self._services, "free_port", lambda: port)  # noqa: B010 - a module of our own
        self.port = self._runner.start_mongod()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        pid = self._services.read_int(self._runner.mongo_pidfile)
        assert pid, "mongod is not running"
        os.kill(pid, sig)
        wait_for(lambda: not self._services.pid_alive(pid), timeout=30, what="mongod to die")

    def stop(self) -> None:
        self._runner.stop_mongod()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def producer_broker(url: str) -> Iterator[None]:
    """Send this process's Celery messages to another broker (a Redis of the test's own)."""
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous


def wait_sync_finished(integration_id: str, run_id: str, *, timeout: float) -> dict[str, Any]:
    """The import's final sync status (success or error)."""

    def outcome() -> dict[str, Any] | None:
        found = IntegrationRepository().get_by_id(integration_id)
        assert found is not None
        status = found.sync_status
        return status if status["run_id"] == run_id and status["status"] != "in_progress" else None

    return wait_for(outcome, timeout=timeout, interval=0.1, what=f"import {run_id} to finish")


def assert_menu_old_or_new(
    db: Any, integration_id: str, before: dict[str, list[bytes]], status: dict[str, Any]
) -> str:
    """After an import: an error leaves the menu byte-for-byte as it was; a success leaves
    exactly the register's menu (a re-import finds nothing to change). Returns which."""
    found = IntegrationRepository().get_by_id(integration_id)
    assert found is not None
    if status["status"] == "error":
        assert status["message"].endswith("The previous menu is unchanged."), status["message"]
        assert dump_menu(db, found.location_id) == before
        return "old"
    assert status["status"] == "success", status
    again = get_service(found.provider).import_menu_now(found)
    assert again["status"] == "success", again["message"]
    changes = {
        entity: (c["created"], c["updated"], c["deleted"])
        for entity, c in again["details"]["report"].items()
    }
    assert set(changes.values()) == {(0, 0, 0)}, changes
    return "new"


def paid_orders(location: Location, menu: Menu, count: int) -> list[str]:
    """`count` kiosk orders, each paid (which enqueues its push); returns their ids."""
    ids = []
    for index in range(count):
        product = f"P{1 + index % 4}"  # P5 has a required modifier group
        txn = services.create_transaction(
            location,
            channel="kiosk",
            service_type="takeaway",
            table_number=None,
            lines=[LineRequest(menu.items[product], 1 + index % 2)],
        )
        services.confirm_payment(
            txn,
            amount=txn.total,
            currency=txn.currency,
            payment_provider="stripe",
            payment_reference=f"pi_{txn.id}",
        )
        ids.append(txn.id)
    return ids
