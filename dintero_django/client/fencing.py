"""A fence around writes to Dintero: a check run right before and right after each one.

The client knows nothing of leases. A caller that may write only while it holds
something (an order's lease: ``services.leases``) installs a check for the duration of
a block; every non-GET call in that block runs it just before the request goes out and
again once the answer (or the failure) is in. The check raises to stop the write, or to
keep a caller that lost its hold during the call from recording the outcome over what
the new holder wrote. Context-local: threads and tasks each see their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Check = Callable[[], None]

_check: ContextVar[Check | None] = ContextVar("dintero_write_fence", default=None)


@contextmanager
def fenced(check: Check) -> Iterator[None]:
    """Run ``check`` before and after every write to Dintero made inside the block."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


def check_write(method: str) -> None:
    """Called by the client around each request; reads (GET) are never fenced."""
    check = _check.get()
    if check is not None and method.upper() != "GET":
        check()
