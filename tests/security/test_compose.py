"""docker-compose.yml: MongoDB with authentication, Redis with a password, the web port on
127.0.0.1 only, and no default password (compose refuses to start without each secret).
Checked with `docker-compose config` (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_foundation import COMPOSE_SECRETS, run_compose


@pytest.mark.parametrize("name", sorted(COMPOSE_SECRETS))
def test_compose_refuses_to_start_without_each_secret(name: str, tmp_path: Path) -> None:
    missing = {k: v for k, v in COMPOSE_SECRETS.items() if k != name}

    result = run_compose(missing, "config", "-q", tmp_path=tmp_path)

    assert result.returncode != 0
    assert f"Set {name} (see .env.example)" in result.stderr


@pytest.mark.parametrize("name", ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "MONGO_APP_PASSWORD"])
def test_an_empty_password_is_refused_too(name: str, tmp_path: Path) -> None:
    result = run_compose({**COMPOSE_SECRETS, name: ""}, "config", "-q", tmp_path=tmp_path)

    assert result.returncode != 0
    assert f"Set {name} (see .env.example)" in result.stderr


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_compose(COMPOSE_SECRETS, "config", tmp_path=tmp_path_factory.mktemp("compose"))
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def published(port: Any) -> tuple[str, str]:
    """(host address, host port) of a port entry, in compose v1's short or v2's long form."""
    if isinstance(port, dict):
        return str(port.get("host_ip", "")), str(port["published"])
    host, _, _container_port = str(port).rpartition(":")
    address, _, host_port = host.rpartition(":")
    return address, host_port


def test_only_the_web_port_is_published_and_only_on_loopback(config: dict[str, Any]) -> None:
    ports = {name: service.get("ports", []) for name, service in config["services"].items()}

    assert {name for name, entries in ports.items() if entries} == {"web"}
    assert [published(port) for port in ports["web"]] == [("127.0.0.1", "8000")]


def test_mongodb_runs_with_authentication_and_the_app_uses_its_own_user(
    config: dict[str, Any],
) -> None:
    mongo = config["services"]["mongo"]
    assert "--keyFile" in mongo["command"]  # a key file turns authentication on
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"] == "compose-test-mongo-root"
    assert mongo["environment"]["MONGO_APP_PASSWORD"] == "compose-test-mongo-app"
    assert any("/docker-entrypoint-initdb.d" in str(volume) for volume in mongo["volumes"])

    for name in ("web", "migrate", "worker-default", "worker-menu-import", "beat"):
        uri = config["services"][name]["environment"]["MONGODB_URI"]
        assert uri.startswith("mongodb://upvendo:compose-test-mongo-app@mongo:27017/"), name
        assert "authSource=upvendo" in uri


def test_the_app_user_is_limited_to_read_write_on_its_database() -> None:
    script = (
        Path(__file__).resolve().parents[2] / "deploy/mongo-init/create-app-user.js"
    ).read_text()

    assert 'roles: [{ role: "readWrite", db: "upvendo" }]' in script
    assert "process.env.MONGO_APP_PASSWORD" in script


def test_redis_requires_a_password_and_the_app_sends_it(config: dict[str, Any]) -> None:
    redis = config["services"]["redis"]
    assert "--requirepass" in " ".join(redis["command"])
    assert redis["environment"]["REDIS_PASSWORD"] == "compose-test-redis"
    for name in ("web", "worker-payments", "beat"):
        url = config["services"][name]["environment"]["REDIS_URL"]
        assert url == "redis://:compose-test-redis@redis:6379/0", name


def test_the_proxy_ssl_header_is_not_trusted_by_default(config: dict[str, Any]) -> None:
    assert config["services"]["web"]["environment"]["DJANGO_PROXY_SSL_HEADER"] in ("", None)
