"""A fence around writes to Dintero: a check run right before and right after each one.

The client knows nothing of leases or ledgers. A caller that may write only while it
holds something (an order's lease: ``services.leases``; a money operation nobody has
resolved yet: ``services.money``) installs checks for the duration of a block; every
non-GET call in that block runs the first just before the request goes out and the
second (if any) once the answer or the failure is in. A check raises to stop the
write, or to keep a caller that lost its hold during the call from recording the
outcome over what the new holder wrote. Context-local: threads and tasks each see
their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Check = Callable[[], None]

_checks: ContextVar[tuple[Check | None, Check | None]] = ContextVar(
    "dintero_write_fence", default=(None, None)
)


@contextmanager
def fenced(before: Check, after: Check | None = None) -> Iterator[None]:
    """Run ``before`` right before every write to Dintero made inside the block, and
    ``after`` (if given) once its answer or failure is in."""
    token = _checks.set((before, after))
    try:
        yield
    finally:
        _checks.reset(token)


def before_write(method: str) -> None:
    """Called by the client just before each request; reads (GET) are never fenced."""
    _run(_checks.get()[0], method)


def after_write(method: str) -> None:
    """Called by the client once the request's answer or failure is in."""
    _run(_checks.get()[1], method)


def _run(check: Check | None, method: str) -> None:
    if check is not None and method.upper() != "GET":
        check()
