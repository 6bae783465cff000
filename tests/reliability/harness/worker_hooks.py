"""Test-only hook loaded by the battery's worker settings: a poison payment.

In each pool process (after Django is set up) ``services.sync.sync_payment`` is wrapped:
a sync of a payment whose pk is in the Redis set ``DINTERO_POISON_KEY`` kills its own
pool process with SIGKILL, after the task counted its attempt: the task "always
crashes the worker". Each crash is counted in ``<key>:crashes:<pk>`` first.
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
    from celery.signals import worker_process_init

    @worker_process_init.connect(weak=False)
    def wrap(**kwargs: Any) -> None:
        import redis

        from dintero_django.services import sync

        client = redis.Redis.from_url(url)
        original = sync.sync_payment

        def sync_payment(payment_pk: int, *args: Any, **kwargs: Any) -> Any:
            try:
                poisoned = client.sismember(key, str(payment_pk))
            except redis.RedisError:
                poisoned = False
            if poisoned:
                client.incr(f"{key}:crashes:{payment_pk}")
                os.kill(os.getpid(), signal.SIGKILL)
            return original(payment_pk, *args, **kwargs)

        sync.sync_payment = sync_payment  # type: ignore[assignment]
