"""Settings of the benchmarks: the test settings on PostgreSQL, Redis, and a bench URLconf.

Every process of a benchmark (the driver, gunicorn workers, the celery worker)
uses this module, so they share one PostgreSQL database (``BENCH_DB``, default
``dintero_bench``: never the test suite's database), one Redis database for the
broker (``BENCH_REDIS``) and one for the cache, which holds the shared access
token as in production.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.settings import *  # noqa: F403
from tests.settings import DINTERO as _TEST_DINTERO

BENCH_DB = os.environ.get("BENCH_DB", "dintero_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")

DEBUG = False
ROOT_URLCONF = "bench.urls"

_DATABASE: dict[str, Any] = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": BENCH_DB,
    "USER": os.environ.get("PGUSER", "postgres"),
    "HOST": os.environ.get("PGHOST", "127.0.0.1"),
    "PORT": os.environ.get("PGPORT", "5432"),
    # Persistent connections, as a production deployment runs (BENCH_CONN_MAX_AGE=0: per request).
    "CONN_MAX_AGE": int(os.environ.get("BENCH_CONN_MAX_AGE", "60")),
    "CONN_HEALTH_CHECKS": False,
}
DATABASES = {"default": _DATABASE}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/12"),
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", BENCH_REDIS)
CELERY_TASK_ALWAYS_EAGER = os.environ.get("BENCH_EAGER") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

DINTERO = {
    **_TEST_DINTERO,
    # Production-like timings, except where a bench needs them short.
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 20.0,
    "SIGNATURE_SECRET": os.environ.get("DINTERO_EMULATOR_SIGNATURE_SECRET", "bench-signature-secret"),
    **json.loads(os.environ.get("BENCH_DINTERO", "{}")),
}

# One line per remote call would dominate what is measured: warnings only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "dintero_django": {"level": os.environ.get("BENCH_LOG_LEVEL", "WARNING")},
        "django.server": {"level": "WARNING"},
    },
}
