"""Celery tasks: thin wrappers that call services, enqueued after commit.

Every task is idempotent and late-acknowledged, so a worker killed mid-task
means a re-run, never a lost payment. A payment whose sync keeps crashing the
worker is flagged for staff after ``TASK_MAX_ATTEMPTS`` deliveries instead of
looping forever.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy

from .conf import get_settings
from .exceptions import DinteroConfigurationError, DinteroError, is_transient
from .models import Order, Payment
from .services import checkout, dispatch, orders, reconcile, records, sync
from .services.leases import Busy
from .services.retry import RetryLater

logger = logging.getLogger("dintero_django.tasks")

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 8,
    "soft_time_limit": 60,
    "time_limit": 90,
}


def _backoff(task: Task[Any, Any], base: float = 2.0, cap: float = 300.0) -> float:
    # Exponential backoff with full jitter, well below the broker's visibility timeout.
    return random.uniform(0, min(cap, base * 2**task.request.retries))


def _retry(task: Task[Any, Any], error: Exception, countdown: float | None = None) -> None:
    if task.request.is_eager:
        # In-process mode (demo, tests): no broker to come back through; the
        # reconciler finishes what is left.
        logger.info("Not retrying %s in eager mode: %s", task.name, error)
        return
    raise task.retry(exc=error, countdown=_backoff(task) if countdown is None else countdown)


def _transient(error: Exception) -> bool:
    # A database OperationalError (deadlock victim, lost connection) is worth another go.
    if isinstance(error, Busy | checkout.NotReady | OperationalError):
        return True
    return isinstance(error, DinteroError) and is_transient(error)


@shared_task(name="dintero.push_order", **TASK_OPTIONS)
def push_order_task(self: Task[Any, Any], order_pk: int) -> None:
    """Create / update / complete the order's Dintero draft."""
    try:
        orders.push_order(order_pk)
    except Exception as error:
        if _transient(error):
            _retry(self, error)
            return
        raise


@shared_task(name="dintero.start_checkout", **TASK_OPTIONS)
def start_checkout_task(self: Task[Any, Any], order_pk: int, restart: bool = False) -> None:
    try:
        checkout.start_checkout(order_pk, restart=restart)
    except Exception as error:
        if _transient(error):
            _retry(self, error)
            return
        raise


@shared_task(name="dintero.sync_payment", **TASK_OPTIONS)
def sync_payment_task(
    self: Task[Any, Any], payment_pk: int, transaction_hint: str | None = None, event_id: str | None = None
) -> None:
    """Read the transaction and apply it; poll again while it is pending."""
    if not _count_attempt(payment_pk):
        return
    try:
        sync.sync_payment(payment_pk, transaction_hint, event_id=event_id)
    except RetryLater as later:
        _settle_attempt(payment_pk)
        _retry(self, later, countdown=later.countdown)
        return
    except (DinteroConfigurationError, Payment.DoesNotExist):
        _settle_attempt(payment_pk)
        raise
    except Exception as error:
        if _transient(error):
            _settle_attempt(payment_pk)
            _retry(self, error)
            return
        raise
    _settle_attempt(payment_pk)


class RecordStillOpen(Exception):
    """A money operation's Orders API record could not be written yet."""


@shared_task(name="dintero.record_operation", **TASK_OPTIONS)
def record_operation_task(self: Task[Any, Any], operation_pk: int) -> None:
    """Record a succeeded capture, refund or void in the Orders API.

    Queued when the inline attempt left the record open: the order was busy with
    another writer (a sync recording the authorization), a predecessor was not
    recorded yet, or Dintero failed transiently. Retried with backoff, so the Orders
    API catches up in seconds; after ``max_retries`` the reconciler takes over.
    """
    try:
        record = records.record_in_orders(operation_pk)
    except Exception as error:
        if _transient(error):
            _retry_or_leave(self, error)
            return
        raise
    if record.is_open:
        _retry_or_leave(self, RecordStillOpen(f"{record} is still open"))


def _retry_or_leave(task: Task[Any, Any], error: Exception) -> None:
    if task.request.retries >= (task.max_retries or 0):
        logger.info(
            "%s gives up after %s retries, the reconciler takes over: %s",
            task.name,
            task.request.retries,
            error,
        )
        return
    _retry(task, error)


@shared_task(name="dintero.reconcile", bind=True, acks_late=True, soft_time_limit=240, time_limit=300)
def reconcile_task(self: Task[Any, Any]) -> dict[str, int]:
    """The backstop: finish whatever callbacks, tasks or responses were lost."""
    return reconcile.reconcile()


def _count_attempt(payment_pk: int) -> bool:
    """Count a delivery; a poison payment is flagged instead of run again."""
    updated = Payment.objects.filter(pk=payment_pk).update(sync_attempts=F("sync_attempts") + 1)
    if not updated:
        return False
    attempts = Payment.objects.values_list("sync_attempts", flat=True).get(pk=payment_pk)
    if attempts > get_settings().TASK_MAX_ATTEMPTS:
        payment = Payment.objects.select_related("order").get(pk=payment_pk)
        sync.flag(payment, f"sync crashed {attempts - 1} times in a row; stopped retrying")
        return False
    return True


def _settle_attempt(payment_pk: int) -> None:
    Payment.objects.filter(pk=payment_pk).update(sync_attempts=0)


# -- enqueueing (called by views, admin and receivers) -----------------------


def delay_on_commit(task: Task[Any, Any], *args: Any) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one).

    ``robust``: a broker outage is logged, never turned into an error for the
    request that committed; the reconciler picks the work up later.
    """

    def send() -> None:
        task.delay(*args)

    send.__qualname__ = f"delay {task.name}"  # what Django logs if publishing fails
    transaction.on_commit(send, robust=True)


def enqueue_sync(payment: Payment, transaction_hint: str | None = None, event_id: str | None = None) -> bool:
    """Queue one sync for ``payment`` after commit, unless one is queued already.

    Returns True when this call queued it. 1,000 identical callbacks queue one task.
    ``event_id``: the event an event callback announced (the sync skips reading the
    transaction if that event is already applied).
    """
    claimed = Payment.objects.filter(pk=payment.pk, sync_pending=False).update(sync_pending=True)
    if claimed:
        delay_on_commit(sync_payment_task, payment.pk, transaction_hint, event_id)
    return bool(claimed)


def enqueue_record(operation_pk: int) -> None:
    """Queue another attempt at recording ``operation_pk`` in the Orders API, after commit.

    Not in eager mode: there the task would run at once, an immediate retry, and
    in-process mode does not retry (see ``_retry``); the reconciler finishes.
    """
    if record_operation_task.app.conf.task_always_eager:
        return
    delay_on_commit(record_operation_task, operation_pk)


#: The order's checkout_error when its checkout task could not be queued.
TASKS_NOT_RUNNING = gettext_lazy(
    "Tasks are not running: checkout could not be queued (the Celery broker cannot be reached). "
    "Try again shortly."
)


def enqueue_checkout(order_pk: int, restart: bool = False) -> None:
    """Queue the checkout task after commit. If it cannot be queued, the order says so
    (the storefront's ``checkout_error``) instead of answering 202 for ever."""

    def send() -> None:
        if start_checkout_task.app.conf.task_always_eager:
            start_checkout_task.delay(order_pk, restart)  # runs here: its errors are its own
            return
        try:
            start_checkout_task.delay(order_pk, restart)
        except Exception:
            Order.objects.filter(pk=order_pk).update(remote_error=str(TASKS_NOT_RUNNING))
            raise  # logged by on_commit(robust=True), with the broker's own error

    send.__qualname__ = f"delay {start_checkout_task.name}"
    transaction.on_commit(send, robust=True)


class CeleryDispatcher:
    """Fills the services' dispatch port (:mod:`dintero_django.services.dispatch`)."""

    def push_order(self, order_pk: int) -> None:
        delay_on_commit(push_order_task, order_pk)

    def record_operation(self, operation_pk: int) -> None:
        enqueue_record(operation_pk)


dispatch.install(CeleryDispatcher())
