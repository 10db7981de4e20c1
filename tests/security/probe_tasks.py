"""A task that leaks secrets into the log on purpose, for the worker redaction test.

The worker imports it with `celery worker --include tests.security.probe_tasks`. It reads an
integration as every real task does (its credentials are decrypted, which registers them as
secrets in the worker child), then logs them the ways a bug could: through a module logger,
through Celery's task logger, and in an exception that Celery logs with its traceback.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.log import get_task_logger

from integrations.repository import IntegrationRepository

module_logger = logging.getLogger("integrations.services")
task_logger = get_task_logger(__name__)


@shared_task(name="tests.LeakSecretsJob")
def leak_secrets(integration_id: str) -> None:
    integration = IntegrationRepository().get_by_id(integration_id)
    assert integration is not None
    credentials = integration.credentials
    module_logger.warning("module logger: signature key %s", credentials.signature_key)
    task_logger.warning("task logger: encryption token %s", credentials.encryption_token)
    raise RuntimeError(f"failed with signature key {credentials.signature_key}")
