"""Production settings, each in a fresh process with DJANGO_ENV=production and the secrets set:
`manage.py check --deploy` is clean, http is redirected, HSTS is sent, the proxy header is
trusted only when configured, and the OpenAPI schema and docs need a login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "backoffice.example.be"


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "API_THROTTLE_", "AXES_", "PASSWORD_"))
    }
    env.update(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "upvendo.settings",
            "SERVICES_ENV_FILE": "/dev/null",
            # 50 characters, more than 5 distinct ones, no "django-insecure" prefix (W009)
            "DJANGO_SECRET_KEY": "hX2v9QeL0pZk7tWmB4rYc8sNf1uJd6gA3oKiVb5xTnCqRwEyMl",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "CREDENTIALS_ENCRYPTION_KEYS": "ZGV2ZWxvcG1lbnQtb25seS1rZXktZG8tbm90LXVzZS0=",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    env.update(extra)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_deploy_in_production_prints_no_warning(tmp_path: Path) -> None:
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr and "security.W" not in result.stderr


def test_check_deploy_would_catch_a_weakened_setting(tmp_path: Path) -> None:
    """The test above can fail: HSTS off is a warning that fails the check."""
    result = check_deploy(production_env(tmp_path, DJANGO_SECURE_HSTS_SECONDS="0"))

    assert result.returncode != 0
    assert "security.W004" in result.stderr


# The requests run in the production process itself (Django's test client, no server).
PROBE = r"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client

def answer(response):
    return {"status": response.status_code, "location": response.get("Location"),
            "hsts": response.get("Strict-Transport-Security")}

host = {"HTTP_HOST": "backoffice.example.be"}
anonymous = Client()
user = get_user_model().objects.create_user("ops", password="a-long-probe-password")
logged_in = Client()
logged_in.force_login(user)
print(json.dumps({
    "http": answer(anonymous.get("/login/", **host)),
    "https": answer(anonymous.get("/login/", secure=True, **host)),
    "forwarded_proto": answer(anonymous.get("/login/", HTTP_X_FORWARDED_PROTO="https", **host)),
    "healthz_http": answer(anonymous.get("/healthz", **host)),
    "schema_anonymous": answer(anonymous.get("/api/schema/", secure=True, **host)),
    "docs_anonymous": answer(anonymous.get("/api/docs/", secure=True, **host)),
    "schema_logged_in": answer(logged_in.get("/api/schema/", secure=True, **host)),
    "docs_logged_in": answer(logged_in.get("/api/docs/", secure=True, **host)),
    "session_cookie": anonymous.get("/login/", secure=True, **host).cookies["csrftoken"]["secure"],
}))
"""


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answers: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return probe(production_env(tmp_path_factory.mktemp("production")))


def test_http_is_redirected_to_https_and_https_sends_hsts(answers: dict[str, Any]) -> None:
    assert answers["http"] == {
        "status": 301,
        "location": f"https://{HOST}/login/",
        "hsts": None,
    }
    assert answers["https"]["status"] == 200
    assert answers["https"]["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert answers["session_cookie"] is True


def test_the_health_check_is_not_redirected(answers: dict[str, Any]) -> None:
    assert answers["healthz_http"]["status"] != 301  # 200 or 503: it answers over http


def test_x_forwarded_proto_is_ignored_unless_a_proxy_header_is_configured(
    answers: dict[str, Any], tmp_path: Path
) -> None:
    assert answers["forwarded_proto"]["status"] == 301  # a client's own header is not believed

    behind_proxy = probe(production_env(tmp_path, DJANGO_PROXY_SSL_HEADER="X-Forwarded-Proto"))

    assert behind_proxy["forwarded_proto"]["status"] == 200
    assert behind_proxy["http"]["status"] == 301


def test_the_openapi_schema_and_docs_need_a_login(answers: dict[str, Any]) -> None:
    assert answers["schema_anonymous"]["status"] == 401
    assert answers["docs_anonymous"] == {
        "status": 302,
        "location": "/login/?next=/api/docs/",
        "hsts": "max-age=31536000; includeSubDomains; preload",
    }
    assert answers["schema_logged_in"]["status"] == 200
    assert answers["docs_logged_in"]["status"] == 200
