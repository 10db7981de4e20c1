"""Django settings, read from the environment (django-environ).

Every variable is documented in `.env.example`. Development and test work with no `.env` at
all; `DJANGO_ENV=production` refuses to start without the secrets (no defaults for them).

While `scripts/run` or `scripts/services` is running, the addresses of the development
MongoDB and Redis are written to `.var/dev/services.env`; it is read here so that
`python manage.py ...` in another shell talks to the same services. Real environment
variables always win over that file and over `.env`.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / ".var"

env = environ.Env()
SERVICES_ENV_FILE = environ.Env().str(
    "SERVICES_ENV_FILE", default=str(VAR_DIR / "dev" / "services.env")
)
for env_file in (BASE_DIR / ".env", Path(SERVICES_ENV_FILE)):
    if env_file.is_file():
        env.read_env(str(env_file), overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"


def _required_in_production(name: str, dev_default: str) -> str:
    """A secret: no default in production, a fixed, clearly-unsafe one elsewhere."""
    if PRODUCTION:
        value = env.str(name, default="")
        if not value:
            raise ImproperlyConfigured(
                f"{name} must be set when DJANGO_ENV=production (see .env.example)."
            )
        return value
    return env.str(name, default=dev_default)


SECRET_KEY = _required_in_production(
    "DJANGO_SECRET_KEY", "django-insecure-development-only-key-never-use-in-production"
)
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys that encrypt POS credentials at rest. The first key encrypts; every key
# decrypts, so a key can be rotated by putting the new one first (and running
# `manage.py rotate_credentials_key` to re-encrypt).
CREDENTIALS_ENCRYPTION_KEYS = env.list(
    "CREDENTIALS_ENCRYPTION_KEYS",
    default=[]
    if PRODUCTION
    else [
        "ZGV2ZWxvcG1lbnQtb25seS1rZXktZG8tbm90LXVzZS0="
    ],  # base64("development-only-key-do-not-use-")
)
if PRODUCTION and not CREDENTIALS_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "CREDENTIALS_ENCRYPTION_KEYS must be set when DJANGO_ENV=production "
        "(generate one with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`)."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_celery_beat",
    "upvendo",
    "accounts",
    "locations",
    "integrations",
    "menus",
    "tables",
    "orders",
    "incidents",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "upvendo.logcontext.LogContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "upvendo.urls"
WSGI_APPLICATION = "upvendo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's own tables (auth, sessions, tokens, celery-beat schedules). The domain data lives in
# MongoDB. SQLite by default; PostgreSQL with DATABASE_URL=postgres://...
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's target (the production image runs it). Outside production, WhiteNoise serves
# the apps' static files straight from their folders; the empty folder only keeps it quiet.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else VAR_DIR / "staticfiles"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (menu item images, menus/images.py) go through Django's storage API: the file
# system under MEDIA_ROOT by default; in production an S3-compatible bucket with
# MEDIA_STORAGE_BACKEND=storages.backends.s3.S3Storage (django-storages[s3]) and its AWS_*
# settings (.env.example).
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {
        "BACKEND": env.str(
            "MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
for _name in (
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_CUSTOM_DOMAIN",
):
    if env.str(_name, default=""):
        globals()[_name] = env.str(_name)
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/hendrickx"


# --- MongoDB (domain data) --------------------------------------------------------------------
MONGODB_URI = env.str("MONGODB_URI", default="mongodb://127.0.0.1:27017/?replicaSet=rs0")
MONGODB_DB = env.str("MONGODB_DB", default="upvendo")
MONGODB_TIMEOUT_MS = env.int("MONGODB_TIMEOUT_MS", default=5000)

# --- Redis and Celery --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Prefix of every key this service writes to Redis (tests give each test its own).
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="upvendo:")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged after it ran, and redelivered if the worker process died under it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=270)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With Redis, an unacknowledged message is redelivered after this many seconds. It must be
# longer than the longest task and retry countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", default=""),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- The POS integration ---------------------------------------------------------------------
# Hosts to which a Connection URL may use plain http (https is required for every other host).
POS_INSECURE_HOSTS = env.list(
    "POS_INSECURE_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "::1"]
)
POS_TIMEOUT_SECONDS = env.float("POS_TIMEOUT_SECONDS", default=15.0)
# Register connections (docs/security.md, "Register connections"):
# Networks (CIDRs) a register may be in besides globally routable addresses: on-premises
# deployments name theirs; development and test allow loopback (the simulator).
POS_ALLOWED_NETWORKS = [
    cidr.strip()
    for cidr in env.list(
        "POS_ALLOWED_NETWORKS", default=[] if PRODUCTION else ["127.0.0.0/8", "::1/128"]
    )
    if cidr.strip()
]
for _cidr in POS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"POS_ALLOWED_NETWORKS: {_cidr!r} is not a network in CIDR form (10.20.0.0/16)."
        ) from None
# What one register answer may hold: bytes after decompression, and list lengths.
POS_MAX_RESPONSE_BYTES = env.int("POS_MAX_RESPONSE_BYTES", default=64 * 1024 * 1024)
POS_MAX_PRODUCTS = env.int("POS_MAX_PRODUCTS", default=50_000)
POS_MAX_SELECTIONS = env.int("POS_MAX_SELECTIONS", default=5_000)
POS_MAX_TABLES = env.int("POS_MAX_TABLES", default=5_000)
# One wall-clock deadline per register call (every attempt, pause and byte; keep it below
# ORDER_PUSH_LEASE_SECONDS), and for the whole connection test that a web request waits for.
POS_CALL_DEADLINE_SECONDS = env.float("POS_CALL_DEADLINE_SECONDS", default=60.0)
POS_CONNECTION_TEST_DEADLINE_SECONDS = env.float(
    "POS_CONNECTION_TEST_DEADLINE_SECONDS", default=10.0
)
# The periodic re-test of a disconnected register backs off per integration, doubling from
# ORDER_PUSH_BEAT_SECONDS up to this.
POS_RETEST_MAX_INTERVAL_SECONDS = env.int("POS_RETEST_MAX_INTERVAL_SECONDS", default=1800)
# Item names removed after an import as pager/buzzer placeholders (regular expressions).
PAGER_NAME_PATTERNS = env.list(
    "PAGER_NAME_PATTERNS",
    default=[r"^\s*(pager|buzzer|pieper)\s*#?\s*\d+\s*$"],
)
# The menu import's Celery stages: hard and soft time limits, and the pause before a retry.
MENU_IMPORT_TIME_LIMIT = env.int("MENU_IMPORT_TIME_LIMIT", default=300)
MENU_IMPORT_SOFT_TIME_LIMIT = env.int("MENU_IMPORT_SOFT_TIME_LIMIT", default=280)
MENU_IMPORT_RETRY_DELAY = env.int("MENU_IMPORT_RETRY_DELAY", default=30)
# ResumeStalledMenuImportsJob runs every MENU_IMPORT_RESUME_SECONDS and re-enqueues an import
# whose progress is older than MENU_IMPORT_STALL_SECONDS (its worker was lost), at most
# MENU_IMPORT_MAX_RESUMES times. The stall threshold must exceed a stage's hard time limit,
# so a stage that is still running is never resumed (run twice at once).
MENU_IMPORT_RESUME_SECONDS = env.int("MENU_IMPORT_RESUME_SECONDS", default=60)
MENU_IMPORT_STALL_SECONDS = env.int(
    "MENU_IMPORT_STALL_SECONDS", default=MENU_IMPORT_TIME_LIMIT + 60
)
MENU_IMPORT_MAX_RESUMES = env.int("MENU_IMPORT_MAX_RESUMES", default=3)
if MENU_IMPORT_STALL_SECONDS <= MENU_IMPORT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "MENU_IMPORT_STALL_SECONDS must be greater than MENU_IMPORT_TIME_LIMIT "
        f"({MENU_IMPORT_STALL_SECONDS} <= {MENU_IMPORT_TIME_LIMIT})."
    )
# The mass-change guard: an import that would delete more than this share of the provider's
# items (or leave none) is held for review (an integration's settings.max_delete_share
# overrides it). Import runs kept per integration (history).
MENU_IMPORT_MAX_DELETE_SHARE = env.float("MENU_IMPORT_MAX_DELETE_SHARE", default=0.3)
if not 0 <= MENU_IMPORT_MAX_DELETE_SHARE <= 1:
    raise ImproperlyConfigured(
        f"MENU_IMPORT_MAX_DELETE_SHARE must be between 0 and 1, not {MENU_IMPORT_MAX_DELETE_SHARE}."
    )
MENU_IMPORT_HISTORY = env.int("MENU_IMPORT_HISTORY", default=50)
# Menu versions (the menu an applied import replaced) kept per integration, for a restore.
MENU_VERSIONS_KEEP = env.int("MENU_VERSIONS_KEEP", default=5)
# Where a table's QR code points; {location_id} and {table_number} are filled in.
TABLE_ORDERING_URL = env.str(
    "TABLE_ORDERING_URL",
    default="https://order.upvendo.example/l/{location_id}/t/{table_number}",
)

# --- Order push (docs/orders.md) ---------------------------------------------------------------
# A table lock is valid this long; an expired lock may be taken over.
ORDER_TABLE_LOCK_SECONDS = env.int("ORDER_TABLE_LOCK_SECONDS", default=300)
# Transient register errors: retried by Celery this many times, backoff base and cap (s).
ORDER_PUSH_MAX_RETRIES = env.int("ORDER_PUSH_MAX_RETRIES", default=5)
ORDER_PUSH_RETRY_BASE_SECONDS = env.float("ORDER_PUSH_RETRY_BASE_SECONDS", default=2.0)
ORDER_PUSH_RETRY_MAX_SECONDS = env.float("ORDER_PUSH_RETRY_MAX_SECONDS", default=60.0)
# The client's own quick retries inside one push step (attempts, first delay, budget in s).
ORDER_PUSH_CLIENT_ATTEMPTS = env.int("ORDER_PUSH_CLIENT_ATTEMPTS", default=3)
ORDER_PUSH_CLIENT_RETRY_DELAY = env.float("ORDER_PUSH_CLIENT_RETRY_DELAY", default=0.5)
ORDER_PUSH_CLIENT_RETRY_BUDGET = env.float("ORDER_PUSH_CLIENT_RETRY_BUDGET", default=10.0)
# While every table is locked: retry every N s, give up (order failed) after M s.
ORDER_PUSH_TABLE_RETRY_SECONDS = env.float("ORDER_PUSH_TABLE_RETRY_SECONDS", default=2.0)
ORDER_PUSH_TABLE_WAIT_SECONDS = env.int("ORDER_PUSH_TABLE_WAIT_SECONDS", default=600)
# How long a worker owns a SendOrder/PayBill in flight before another may take it over.
# Must exceed one call's worst case (timeout x client attempts + budget).
ORDER_PUSH_LEASE_SECONDS = env.int("ORDER_PUSH_LEASE_SECONDS", default=120)
# A push that has not advanced for this long is re-enqueued by ResumeStalledOrderPushesJob.
ORDER_PUSH_STALL_SECONDS = env.int("ORDER_PUSH_STALL_SECONDS", default=60)
# Period of ResumeStalledOrderPushesJob and CheckDisconnectedIntegrationsJob (celery-beat).
ORDER_PUSH_BEAT_SECONDS = env.int("ORDER_PUSH_BEAT_SECONDS", default=60)

# --- Incidents, notifications, readiness (docs/operations.md) -----------------------------------
# A register disconnected longer than this opens an incident (minutes, fractions allowed).
ALERT_DISCONNECTED_MINUTES = env.float("ALERT_DISCONNECTED_MINUTES", default=5.0)
# An order kept with need_requeue longer than this opens an incident (minutes).
ALERT_ORDER_WAITING_MINUTES = env.float("ALERT_ORDER_WAITING_MINUTES", default=5.0)
# A connected register not heard from for this long is re-tested (minutes; 0 turns it off).
ALERT_HEARTBEAT_MINUTES = env.float("ALERT_HEARTBEAT_MINUTES", default=5.0)
# Period of CheckIncidentsJob (celery-beat): time-based incidents, resolutions, lost deliveries.
ALERT_CHECK_SECONDS = env.int("ALERT_CHECK_SECONDS", default=30)
# Resolved incidents kept per location (the oldest are deleted).
INCIDENT_HISTORY_PER_LOCATION = env.int("INCIDENT_HISTORY_PER_LOCATION", default=100)
# Notification deliveries: attempts, backoff base and cap (s), webhook timeout (s).
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=8)
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=10.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=3600.0)
NOTIFY_WEBHOOK_TIMEOUT_SECONDS = env.float("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Readiness: a register disconnected longer than this (minutes) pauses ordering, and so do
# more than READINESS_MAX_WAITING_ORDERS orders waiting for the register.
READINESS_DISCONNECTED_GRACE_MINUTES = env.float(
    "READINESS_DISCONNECTED_GRACE_MINUTES", default=2.0
)
READINESS_MAX_WAITING_ORDERS = env.int("READINESS_MAX_WAITING_ORDERS", default=5)

# Bearer token /metrics asks for in production (unset: /metrics answers 404 there).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- E-mail (Django's email framework; notifications) ------------------------------------------
# Development prints mail to the log (console backend); production sends it over SMTP.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Upvendo alerts <alerts@upvendo.example>"
)

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "upvendo.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + ([] if PRODUCTION else ["rest_framework.renderers.BrowsableAPIRenderer"]),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Upvendo Kassanet backoffice API",
    "DESCRIPTION": "Connect a location to its Hendrickx or Vanhoutte (Kassanet) POS register, "
    "import its menu and push paid orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Import runs and the sync status share these statuses (menus/runs.py).
    "ENUM_NAME_OVERRIDES": {"ImportRunStatusEnum": "menus.runs.RUN_STATUSES"},
}

# --- API tokens and payment webhooks (docs/security.md) -------------------------------------
# Hashed, expiring django-rest-knox tokens with a role each (accounts.models.ApiToken).
KNOX_TOKEN_MODEL = "accounts.ApiToken"
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_KNOX = {"TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS), "AUTH_HEADER_PREFIX": "Token"}
# Stripe: the endpoint's signing secret (whsec_...) and how old a signed event may be.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Viva Wallet: the webhook verification key is read with the merchant id and API key; each
# event's transaction is read back with the OAuth2 client credentials before it is trusted.
VIVA_MERCHANT_ID = env.str("VIVA_MERCHANT_ID", default="")
VIVA_API_KEY = env.str("VIVA_API_KEY", default="")
VIVA_CLIENT_ID = env.str("VIVA_CLIENT_ID", default="")
VIVA_CLIENT_SECRET = env.str("VIVA_CLIENT_SECRET", default="")
VIVA_BASE_URL = env.str("VIVA_BASE_URL", default="https://www.vivapayments.com")
VIVA_ACCOUNTS_URL = env.str("VIVA_ACCOUNTS_URL", default="https://accounts.vivapayments.com")
VIVA_API_URL = env.str("VIVA_API_URL", default="https://api.vivapayments.com")
VIVA_TIMEOUT_SECONDS = env.float("VIVA_TIMEOUT_SECONDS", default=10.0)
# --- Web hardening (docs/security.md, "Web and deployment") ----------------------------------
# Login lockout (django-axes): AXES_FAILURE_LIMIT failed logins for one user name from one
# client address lock that pair out for AXES_COOLOFF_MINUTES (the login page answers 429).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# No "AXES: BEGIN ..." banner on every process start (it lands on commands' stderr).
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "backoffice/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "upvendo.security.client_ip"
# Behind a reverse proxy: how many proxies append to X-Forwarded-For (the client address is
# the one they saw). 0 (the default) ignores X-Forwarded-For, which a client can forge.
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)
# The header by which the TLS proxy says a request came in over https, e.g. X-Forwarded-Proto.
# Set it only when a proxy in front sets it and overwrites a client's own; unset, no header
# is trusted (gunicorn then has to terminate TLS itself).
_PROXY_SSL_HEADER = env.str("DJANGO_PROXY_SSL_HEADER", default="")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"),
        "https",
    )
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Container health checks call http://127.0.0.1:8000/healthz from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The page's script reads the CSRF token from its <meta> tag, never from the cookie.
    CSRF_COOKIE_HTTPONLY = True
# DRF throttles shared by every worker process: Redis in production, process memory elsewhere.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if PRODUCTION
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX + "cache"
_API_THROTTLING: dict[str, Any] = {
    "DEFAULT_THROTTLE_CLASSES": [
        "upvendo.security.AnonThrottle",
        "upvendo.security.UserThrottle",
        "upvendo.security.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "connection-test": env.str("API_THROTTLE_CONNECTION_TEST", default="20/minute"),
        # The payment providers' webhooks, per sending address (Stripe and Viva send from few).
        "webhooks": env.str("API_THROTTLE_WEBHOOKS", default="600/minute"),
    },
    "NUM_PROXIES": NUM_PROXIES,
}
REST_FRAMEWORK.update(_API_THROTTLING)
# The OpenAPI schema and its docs page need a login in production (token or session).
if PRODUCTION:
    SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]

# --- Logging --------------------------------------------------------------------------------
# Celery must not replace the root logger's handlers: its workers log through LOGGING below,
# with the redacting filter (upvendo/celery.py applies LOGGING when a worker starts).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line with the location/integration/order/run ids (upvendo/logcontext.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "upvendo.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "upvendo.logcontext.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pymongo": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
