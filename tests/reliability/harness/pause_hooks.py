"""Test-only hook loaded by the battery's worker settings: pause points (issue 19).

In each pool process (after Django is set up) a few client calls that write to Dintero
are wrapped. When the test arms a point (the Redis key ``<DINTERO_PAUSE_KEY>:arm:<point>``,
taken atomically, so exactly one call pauses), the pool process notes its pid under
``<key>:paused:<point>`` and stops itself with SIGSTOP, as a GC pause or VM steal would:
it keeps the order's lease, and its belief that it holds it. The test lets the lease
expire, lets another worker take the order, then sends SIGCONT. When the wrapped call
has returned or raised, ``<key>:done:<point>`` is set (what the test waits for).

Points, each in a step that writes to Dintero:
* ``record`` - before posting an Orders-API record (after deciding to post it: the read,
  or the claim of the first attempt);
* ``draft`` - before creating the Dintero draft (pushing an order).
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable
from typing import Any

POINTS = {
    # point: (module, class, method)
    "record": ("dintero_django.client.orders", "OrdersClient", "record_operation"),
    "draft": ("dintero_django.client.orders", "OrdersClient", "create_draft"),
}


def install() -> None:
    key = os.environ.get("DINTERO_PAUSE_KEY")
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not key or not url.startswith("redis"):
        return
    from celery.signals import worker_process_init

    @worker_process_init.connect(weak=False)
    def wrap(**kwargs: Any) -> None:
        import importlib

        import redis

        client = redis.Redis.from_url(url)
        for point, (module, owner, name) in POINTS.items():
            cls = getattr(importlib.import_module(module), owner)
            setattr(cls, name, _pausing(client, key, point, getattr(cls, name)))


def _pausing(client: Any, key: str, point: str, call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def paused_call(*args: Any, **kwargs: Any) -> Any:
        armed = client.delete(f"{key}:arm:{point}")
        if armed:
            client.set(f"{key}:paused:{point}", os.getpid())
            os.kill(os.getpid(), signal.SIGSTOP)  # ... until the test sends SIGCONT
        try:
            return call(*args, **kwargs)
        finally:
            if armed:
                client.set(f"{key}:done:{point}", "1")

    return paused_call
