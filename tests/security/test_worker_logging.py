"""A real Celery worker process keeps Django's secret-redacting log filter: a secret logged by
a task (module logger, task logger, exception traceback) appears as [REDACTED] in the worker's
own output (docs/security.md, "Web and deployment")."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from tests.e2e_support import celery_worker, wait_for
from tests.security.probe_tasks import leak_secrets

pytestmark = pytest.mark.e2e

SIGNATURE_KEY = "worker-log-signature-key-7f3a9c"
ENCRYPTION_TOKEN = "worker-log-encryption-token-5d1e"


def test_a_secret_logged_by_a_task_is_redacted_in_the_worker_log(
    settings: Any, indexed_db: Database[dict[str, Any]]
) -> None:
    credentials = Credentials(
        "https://pos.example.be/kassanet/", SIGNATURE_KEY, ENCRYPTION_TOKEN, True
    )
    integration = IntegrationRepository().upsert("0" * 24, "hendrickx", credentials, {})

    with celery_worker(
        db_name=settings.MONGODB_DB,
        redis_prefix=settings.REDIS_KEY_PREFIX,
        queues=["default"],
        include=["tests.security.probe_tasks"],
    ) as worker:
        leak_secrets.apply_async((integration.id,), queue="default")
        log = wait_for(
            lambda: (
                worker.log()
                if "tests.LeakSecretsJob" in worker.log() and "raised unexpected" in worker.log()
                else None
            ),
            timeout=60,
            what="the task to fail in the worker",
        )

    assert SIGNATURE_KEY not in log, log
    assert ENCRYPTION_TOKEN not in log, log
    assert "module logger: signature key [REDACTED]" in log
    assert "task logger: encryption token [REDACTED]" in log
    # Celery's own failure line and the traceback it logs
    assert "RuntimeError('failed with signature key [REDACTED]')" in log
    assert "RuntimeError: failed with signature key [REDACTED]" in log
