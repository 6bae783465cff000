"""Test settings: minimal and explicit. DINTERO_TEST_DB=postgres selects PostgreSQL."""

import json
import os
import tempfile

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "dintero_django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The active language (Accept-Language) is the checkout's language (docs/adapters.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


# A worker subprocess (tests/worker) uses the test database directly.
_DIRECT = os.environ.get("DINTERO_TEST_DB_DIRECT") == "1"

if os.environ.get("DINTERO_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("DINTERO_TEST_DB_NAME", "test_dintero_django")
            if _DIRECT
            else os.environ.get("PGDATABASE", "postgres"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": os.environ.get("DINTERO_TEST_DB_NAME", "test_dintero_django")},
        }
    }
else:
    # A file, not :memory:, so the live server, the emulator's callbacks and a
    # worker process each use their own connection, as in production.
    _SQLITE = os.environ.get("DINTERO_TEST_SQLITE") or os.path.join(
        tempfile.gettempdir(), f"dintero-tests-{os.getpid()}.sqlite3"
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _SQLITE if _DIRECT else os.path.join(tempfile.gettempdir(), "dintero-unused.sqlite3"),
            "TEST": {"NAME": _SQLITE},
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DINTERO = {
    "ACCOUNT_ID": "T12345678",
    "CLIENT_ID": "emulator-client",
    "CLIENT_SECRET": "emulator-secret",
    "SITE_URL": "http://127.0.0.1:1",
    # Never the real Dintero: a test that forgets the emulator fixture fails here, at once.
    "API_URL": "http://127.0.0.1:1",
    "CHECKOUT_URL": "http://127.0.0.1:1",
    # Compressed timings: the tests never wait for production-sized backoffs.
    "CONNECT_TIMEOUT": 2.0,
    "READ_TIMEOUT": 2.0,
    "RETRY_BACKOFF": 0.01,
    "RETRY_BACKOFF_MAX": 0.2,
    "POLL_INTERVAL": 0.1,
    "RECONCILE_AFTER": 0,
    "UNKNOWN_GRACE": 0,
    **json.loads(os.environ.get("DINTERO_TEST_OVERRIDES", "{}")),
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_RATES": {"dintero_orders": "100000/min"},
    # No proxy in front of the live test server: throttle by REMOTE_ADDR (check dintero.W011).
    "NUM_PROXIES": 0,
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
# In-process unless a real broker is named (the worker tier sets one).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"dintero_django": {"level": "INFO"}},
}
