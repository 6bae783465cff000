"""The port through which a service asks for work to be done later, after commit.

Services sit below the tasks layer and must not import it: when a service needs a
draft pushed or an Orders-API record tried again, it calls this port, and the tasks
layer fills the port in (``dintero_django.tasks`` installs a Celery dispatcher when
the app is ready). The port is the whole contract: two verbs, both fire-and-forget
after the current transaction commits, both safe to lose (the reconciler finds the
work from the database: the order row and the ledger are their own outbox).
"""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    def push_order(self, order_pk: int) -> None:
        """Bring the order's Dintero draft up to date (create, update, complete)."""

    def record_operation(self, operation_pk: int) -> None:
        """Try again to record a succeeded money operation in the Orders API."""


class _Unset:
    """Before the app is ready nothing may be dispatched: say so loudly."""

    def push_order(self, order_pk: int) -> None:
        raise RuntimeError("dintero_django is not ready: no dispatcher installed")

    def record_operation(self, operation_pk: int) -> None:
        raise RuntimeError("dintero_django is not ready: no dispatcher installed")


_dispatcher: Dispatcher = _Unset()


def install(dispatcher: Dispatcher) -> None:
    global _dispatcher  # the port's one slot, filled once at start-up
    _dispatcher = dispatcher


def push_order(order_pk: int) -> None:
    _dispatcher.push_order(order_pk)


def record_operation(operation_pk: int) -> None:
    _dispatcher.record_operation(operation_pk)
