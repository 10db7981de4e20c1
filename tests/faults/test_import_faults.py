"""Fault injection on the menu import: a slow, erroring, offline or clock-skewed register, a
worker SIGKILLed mid-import, and MongoDB itself killed and restarted mid-import. A real
menu-import worker (restartable on its broker prefix), the simulator over HTTP; stage
retries 1 s apart. The SIGKILL scenario has its own workers and beat, with an import's
stall threshold compressed to 5 s (stage time limit 4 s) and resumption every second.

Invariant after each: the import finished (success or error with its reason) and the menu
is fully old (same bytes) or fully new (a re-import changes nothing); no secret in any log.
"""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from accounts.services import VendorUser
from integrations.credentials import Credentials
from integrations.repository import Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location, LocationRepository
from tests.e2e_support import _producer_prefix, wait_for
from tests.faults.support import (
    MongoServer,
    assert_menu_old_or_new,
    assert_no_secrets,
    secret_simulator,
    shared_namespace,
    wait_sync_finished,
)
from tests.menus.support import dump_menu
from tests.orders.e2e_stack import CeleryStack
from upvendo.mongo import close_client, ensure_indexes, get_client, get_db

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DB_NAME = f"test_faults_import_{uuid.uuid4().hex[:8]}"
REDIS_PREFIX = f"test:faults-import-{uuid.uuid4().hex[:8]}:"
QUEUES = (("menu-import", 1),)
RESUMING_QUEUES = (("menu-import", 1), ("default", 1))  # beat's jobs run on `default`
PRODUCTS = 300
WORKER_SETTINGS = {
    "MONGODB_DB": DB_NAME,
    "REDIS_KEY_PREFIX": REDIS_PREFIX,
    "POS_TIMEOUT_SECONDS": "1",
    "MENU_IMPORT_RETRY_DELAY": "1",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "MONGODB_TIMEOUT_MS": "2000",
}
RESUMING_SETTINGS = {
    **WORKER_SETTINGS,
    "CELERY_VISIBILITY_TIMEOUT": "3600",  # no redelivery: only the resumption can finish it
    "MENU_IMPORT_TIME_LIMIT": "4",
    "MENU_IMPORT_SOFT_TIME_LIMIT": "3",
    "MENU_IMPORT_STALL_SECONDS": "5",
    "MENU_IMPORT_RESUME_SECONDS": "1",
}


@contextlib.contextmanager
def menu_workers(
    env: dict[str, str], queues: tuple[tuple[str, int], ...] = QUEUES, *, beat: bool = False
) -> Iterator[CeleryStack]:
    """Workers (and beat) that can be killed and started again on the same broker prefix."""
    with tempfile.TemporaryDirectory(prefix="faults-import-") as tmp:
        stack = CeleryStack(env, beat_db=Path(tmp) / "beat.sqlite3")
        try:
            with _producer_prefix(stack.broker_prefix):
                if beat:
                    stack.start_beat()
                stack.start_workers(queues)
                yield stack
        finally:
            stack.stop()


def worker_logs(stack: CeleryStack) -> str:
    processes = [*stack.workers, *([stack.beat] if stack.beat else [])]
    return "\n".join(process.log() for process in processes)


@pytest.fixture(scope="module")
def stack() -> Iterator[CeleryStack]:
    with menu_workers(WORKER_SETTINGS) as running:
        yield running
    get_client().drop_database(DB_NAME)


mongo_db, redis_namespace = shared_namespace(DB_NAME, REDIS_PREFIX)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with secret_simulator(products=PRODUCTS, tables=5, encrypt=True) as handle:
        yield handle


def connect(location: Location, sim: SimulatorHandle) -> Integration:
    return IntegrationRepository().upsert(
        location.id,
        "hendrickx",
        Credentials(sim.base_url, sim.signature_key, sim.encryption_token, True),
        {},
    )


@pytest.fixture
def imported(
    stack: CeleryStack, sim: SimulatorHandle, location: Location
) -> Iterator[tuple[Integration, Any]]:
    """An integration whose menu was imported from catalog seed 1; the register now serves
    seed 2 (so the next import changes most records)."""
    sim.reset()
    sim.regenerate(products=PRODUCTS, seed=1, tables=5)
    integration = connect(location, sim)
    status = get_service("hendrickx").import_menu_now(integration)
    assert status["status"] == "success", status["message"]
    sim.regenerate(products=PRODUCTS, seed=2, tables=5)
    yield integration, dump_menu(get_db(), location.id)


def wait_for_register_read(sim: SimulatorHandle, counted: int) -> None:
    """Until the menu stage has called GetAllProducts (more than ``counted`` times in all)."""
    wait_for(
        lambda: sim.counters().get("GetAllProducts", 0) > counted,
        timeout=30,
        interval=0.02,
        what="the menu stage to call the register",
    )


def start_import(integration: Integration) -> str:
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None
    return get_service(found.provider).import_menu(found)


def test_an_import_from_a_register_as_slow_as_the_client_timeout_ends_old_or_new(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, stack: CeleryStack, captured: Any
) -> None:
    integration, before = imported
    sim.set_faults(latency_ms=900)  # the worker's client gives up after 1 s

    status = wait_sync_finished(integration.id, start_import(integration), timeout=60)

    assert_menu_old_or_new(mongo_db, integration.id, before, status)
    assert_no_secrets(sim, worker_logs(stack), captured.text)


def test_500s_with_garbage_bodies_are_retried_and_the_new_menu_is_imported(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, stack: CeleryStack, captured: Any
) -> None:
    integration, before = imported
    # 4 failures: the client's own 3 attempts fail the stage once; its retry succeeds.
    sim.set_faults(
        endpoint_status={
            "endpoint": "GetAllProducts", "status": 500, "count": 4, "body": "<h1>Oops</h1>"
        }
    )  # fmt: skip

    status = wait_sync_finished(integration.id, start_import(integration), timeout=30)

    assert status["status"] == "success", status["message"]
    assert assert_menu_old_or_new(mongo_db, integration.id, before, status) == "new"
    assert_no_secrets(sim, worker_logs(stack), captured.text)


def test_a_garbage_success_answer_fails_the_import_with_its_reason_and_keeps_the_menu(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, stack: CeleryStack, captured: Any
) -> None:
    integration, before = imported
    sim.set_faults(
        endpoint_status={"endpoint": "GetAllProducts", "status": 200, "count": None,
                         "body": "this is not base64"}
    )  # fmt: skip

    status = wait_sync_finished(integration.id, start_import(integration), timeout=30)

    assert status["status"] == "error"
    assert status["message"].startswith("Menu import failed at the menu stage: Invalid base64")
    assert assert_menu_old_or_new(mongo_db, integration.id, before, status) == "old"
    assert_no_secrets(sim, worker_logs(stack), captured.text)


def test_an_import_during_an_outage_fails_and_keeps_the_menu_then_succeeds_after_it(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, stack: CeleryStack, captured: Any
) -> None:
    integration, before = imported
    sim.set_faults(offline=True)

    failed = wait_sync_finished(integration.id, start_import(integration), timeout=30)

    assert failed["status"] == "error"
    assert assert_menu_old_or_new(mongo_db, integration.id, before, failed) == "old"
    sim.set_faults(offline=False)
    status = wait_sync_finished(integration.id, start_import(integration), timeout=30)
    assert assert_menu_old_or_new(mongo_db, integration.id, before, status) == "new"
    assert_no_secrets(sim, worker_logs(stack), captured.text)


def test_a_register_clock_skewed_beyond_300_s_fails_the_import_with_the_reason(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, stack: CeleryStack, captured: Any
) -> None:
    integration, before = imported
    sim.set_clock_skew(-400)

    failed = wait_sync_finished(integration.id, start_import(integration), timeout=30)

    assert failed["status"] == "error"
    assert re.search(
        r"\(CLOCK_SKEW: the Date header is (399|400|401) s away from the register clock\)",
        failed["message"],
    ), failed["message"]
    assert assert_menu_old_or_new(mongo_db, integration.id, before, failed) == "old"
    sim.set_clock_skew(0)
    status = wait_sync_finished(integration.id, start_import(integration), timeout=30)
    assert assert_menu_old_or_new(mongo_db, integration.id, before, status) == "new"
    assert_no_secrets(sim, worker_logs(stack), captured.text)


def test_a_worker_killed_mid_import_is_resumed_by_beat_and_imports_the_new_menu(
    imported: Any, mongo_db: Any, sim: SimulatorHandle, captured: Any
) -> None:
    integration, before = imported
    with menu_workers(RESUMING_SETTINGS, RESUMING_QUEUES, beat=True) as resuming:
        sim.set_faults(latency_ms=600)  # the menu stage reads the register for ~2 s
        counted = sim.counters().get("GetAllProducts", 0)
        run_id = start_import(integration)
        wait_for_register_read(sim, counted)
        killed_logs = worker_logs(resuming)

        resuming.kill_workers()  # SIGKILL mid-stage: the stage stays unacknowledged in Redis
        sim.set_faults(latency_ms=0)
        resuming.start_workers(RESUMING_QUEUES)

        # Beat finds the run without progress for 5 s and re-enqueues it from the menu
        # stage (Redis would redeliver the killed stage only after an hour here).
        status = wait_sync_finished(integration.id, run_id, timeout=60)
        logs = worker_logs(resuming)

    assert status["status"] == "success", status["message"]
    assert (status["run_id"], status["resumes"]) == (run_id, 1)
    assert assert_menu_old_or_new(mongo_db, integration.id, before, status) == "new"
    resumed = [
        entry.message
        for entry in IntegrationRepository().logs(integration.id)
        if entry.context.get("run_id") == run_id and entry.level == "warning"
    ]
    assert resumed == [
        "The menu stage stopped making progress (its worker was lost?); resumed (1 of 3)."
    ]
    assert_no_secrets(sim, killed_logs, logs, captured.text)


@pytest.fixture
def own_mongod(settings: Any) -> Iterator[MongoServer]:
    """A MongoDB replica set of this test's own, for this process and the worker."""
    server = MongoServer()
    server.start()
    previous = django_settings.MONGODB_URI
    settings.MONGODB_URI = server.uri
    settings.MONGODB_TIMEOUT_MS = 2000
    close_client()
    try:
        ensure_indexes(get_db())
        yield server
    finally:
        close_client()
        settings.MONGODB_URI = previous
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_mongodb_restarted_mid_import_leaves_the_menu_old_or_new(
    sig: signal.Signals,
    own_mongod: MongoServer,
    sim: SimulatorHandle,
    vendor_user: VendorUser,
    captured: Any,
) -> None:
    db = get_db()
    location = LocationRepository().create(
        vendor_id=str(vendor_user.vendor.pk),
        name="Gent",
        timezone="Europe/Brussels",
        currency="EUR",
    )
    sim.reset()
    sim.regenerate(products=PRODUCTS, seed=1, tables=5)
    integration = connect(location, sim)
    first = get_service("hendrickx").import_menu_now(integration)
    assert first["status"] == "success", first["message"]
    before = dump_menu(db, location.id)
    sim.regenerate(products=PRODUCTS, seed=2, tables=5)
    sim.set_faults(latency_ms=600)
    counted = sim.counters().get("GetAllProducts", 0)

    with menu_workers({**WORKER_SETTINGS, "MONGODB_URI": own_mongod.uri}) as workers:
        run_id = start_import(integration)
        wait_for_register_read(sim, counted)
        own_mongod.kill(sig)  # the stage's next write finds no database
        own_mongod.start()
        sim.set_faults(latency_ms=0)
        status = wait_sync_finished(integration.id, run_id, timeout=90)
        logs = worker_logs(workers)

    assert_menu_old_or_new(db, integration.id, before, status)
    assert_no_secrets(sim, logs, captured.text)
