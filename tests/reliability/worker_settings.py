"""Settings of the battery's celery worker processes: the test settings plus a short
Redis visibility timeout (chaos only), a test-only poison hook, pause points and
an optional clock skew."""

import os

from tests.settings import *  # noqa: F403

# Unacknowledged messages come back after this long (production: keep the 1 h default).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("DINTERO_VISIBILITY_TIMEOUT", "3600")),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

from tests.reliability.harness import pause_hooks, worker_hooks  # noqa: E402

worker_hooks.install()
pause_hooks.install()

# Clock skew (issue 19): this process's clock runs DINTERO_CLOCK_SKEW seconds ahead (or
# behind, negative) of the machine's and the database's; forked pool processes inherit it.
if os.environ.get("DINTERO_CLOCK_SKEW"):
    from datetime import timedelta

    import time_machine

    time_machine.travel(timedelta(seconds=float(os.environ["DINTERO_CLOCK_SKEW"])), tick=True).start()
