"""Settings of one node of the two-node scenario (gunicorn and celery worker alike): the
battery's worker settings, persistent database connections as a deployment has, and
the token cache shared by the whole fleet (a Redis cache)."""

import os

from tests.reliability.worker_settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["DINTERO_SHARED_CACHE"],
    }
}
