"""The foundation: real MongoDB and Redis, settings, Celery configuration and /healthz."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from pymongo import IndexModel

from upvendo import mongo
from upvendo.celery import app as celery_app
from upvendo.mongo import close_client, ensure_indexes, get_client, register_indexes
from upvendo.redis import close_redis, get_redis, key

ROOT = Path(__file__).resolve().parent.parent


def test_real_mongod_is_a_replica_set_with_transactions(mongo_db: Any) -> None:
    hello = get_client().admin.command("hello")
    assert hello["setName"] == "rs0"
    assert hello["isWritablePrimary"] is True
    with get_client().start_session() as session, session.start_transaction():
        mongo_db.probe.insert_one({"n": 1}, session=session)
        session.abort_transaction()
    assert mongo_db.probe.count_documents({}) == 0


def test_real_redis_answers_with_the_test_prefix(redis_namespace: str) -> None:
    assert get_redis().ping() is True
    get_redis().set(key("probe"), "1")
    assert get_redis().get(redis_namespace + "probe") == "1"


def test_each_test_gets_an_empty_database(mongo_db: Any) -> None:
    assert mongo_db.name.startswith("test_")
    assert mongo_db.list_collection_names() == []


def test_ensure_indexes_is_idempotent(mongo_db: Any) -> None:
    register_indexes("probe_indexed", [IndexModel([("code", 1)], name="code", unique=True)])
    try:
        first = ensure_indexes()
        second = ensure_indexes()
    finally:
        mongo._indexes.pop("probe_indexed")
    assert first["probe_indexed"] == second["probe_indexed"] == ["code"]
    index_names = set(mongo_db.probe_indexed.index_information())
    assert index_names == {"_id_", "code"}


def test_no_mongodb_client_is_created_at_import_time() -> None:
    code = (
        "import django; django.setup(); import upvendo.urls, upvendo.mongo as m; "
        "print(m._client is None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def test_production_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_ENV"] = "production"
    env["DJANGO_SETTINGS_MODULE"] = "upvendo.settings"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_ENV=production" in result.stderr


def test_celery_uses_json_late_acks_limits_and_three_queues() -> None:
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit == 300
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert [queue.name for queue in conf.task_queues] == [
        "default",
        "menu-import",
        "payments-medium",
    ]


@pytest.mark.django_db
def test_healthz_is_200_when_everything_is_up() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert {name: state["status"] for name, state in body["components"].items()} == {
        "mongodb": "up",
        "redis": "up",
        "database": "up",
    }


@pytest.mark.django_db
def test_healthz_is_503_naming_mongodb_when_it_is_down() -> None:
    close_client()
    try:
        with override_settings(
            MONGODB_URI="mongodb://127.0.0.1:9/?directConnection=true", MONGODB_TIMEOUT_MS=200
        ):
            response = Client().get("/healthz")
    finally:
        close_client()
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["mongodb"]
    assert body["components"]["redis"]["status"] == "up"


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_it_is_down() -> None:
    close_redis()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
            response = Client().get("/healthz")
    finally:
        close_redis()
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]


def compose_command() -> list[str]:
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail(
        "neither `docker compose` nor `docker-compose` is installed (scripts/install-system-deps)"
    )


# The secrets docker-compose.yml requires (it has no defaults for them).
COMPOSE_SECRETS = {
    "DJANGO_SECRET_KEY": "compose-test-secret-key",
    "DJANGO_ALLOWED_HOSTS": "backoffice.example.be",
    "CREDENTIALS_ENCRYPTION_KEYS": "ZGV2ZWxvcG1lbnQtb25seS1rZXktZG8tbm90LXVzZS0=",
    "POSTGRES_PASSWORD": "compose-test-postgres",
    "MONGO_ROOT_PASSWORD": "compose-test-mongo-root",
    "MONGO_APP_PASSWORD": "compose-test-mongo-app",
    "REDIS_PASSWORD": "compose-test-redis",
}


def run_compose(
    env: dict[str, str], *args: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """docker-compose with exactly `env` (plus PATH and HOME): an empty --env-file, so that a
    local .env next to the compose file cannot fill in what the test leaves out."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    return subprocess.run(
        [
            *compose_command(),
            "--env-file",
            str(empty_env_file),
            "-f",
            str(ROOT / "docker-compose.yml"),
            *args,
        ],
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_docker_compose_file_is_valid(tmp_path: Path) -> None:
    result = run_compose(COMPOSE_SECRETS, "config", "-q", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_every_setting_read_from_the_environment_is_documented_in_env_example() -> None:
    source = (ROOT / "upvendo/settings.py").read_text()
    pattern = r'(?:\.(?:str|bool|int|float|list|db_url)|_required_in_production)\(\s*"([A-Z0-9_]+)"'
    read = set(re.findall(pattern, source))
    assert {"DJANGO_SECRET_KEY", "MONGODB_URI", "SERVICES_ENV_FILE"} <= read
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()
