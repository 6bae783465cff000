"""Test-only hook loaded by the battery's worker settings: a poison payment.

A sync of a payment whose pk is in the Redis set ``DINTERO_POISON_KEY`` kills its own
pool process with SIGKILL before it starts: the task "always crashes the worker".
Every such delivery is counted in ``<key>:deliveries:<pk>`` first.
"""

from __future__ import annotations

import os
import signal
from typing import Any


def install() -> None:
    key = os.environ.get("DINTERO_POISON_KEY")
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not key or not url.startswith("redis"):
        return
    import redis
    from celery.signals import task_prerun

    client = redis.Redis.from_url(url)

    @task_prerun.connect(weak=False)
    def poison(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
        if getattr(sender, "name", "") != "dintero.sync_payment" or not args:
            return
        pk = str(args[0])
        if client.sismember(key, pk):
            client.incr(f"{key}:deliveries:{pk}")
            os.kill(os.getpid(), signal.SIGKILL)
