"""Settings of the load test's gunicorn: the test settings with persistent database
connections, as a production deployment has (a new PostgreSQL connection per request
would be measured instead of the app)."""

from tests.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
