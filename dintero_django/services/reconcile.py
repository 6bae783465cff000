"""The reconciler: a periodic backstop for lost callbacks, tasks and responses.

It walks everything not final and untouched for ``RECONCILE_AFTER`` seconds and
drives it towards a final state by reading Dintero. Run it from Celery beat
(``dintero.reconcile``) or ``manage.py dintero_reconcile``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from ..client import CheckoutClient
from ..conf import get_settings
from ..exceptions import DinteroError
from ..models import Operation, Order, Payment, TransactionStatus
from . import money, records
from .leases import Busy
from .orders import push_order
from .retry import RetryLater
from .sync import flag, repair_mirror, sync_payment

logger = logging.getLogger("dintero_django.reconcile")

WAITING = (Payment.State.CREATED, Payment.State.AWAITING, Payment.State.PENDING)
#: Nothing can move any more: no revisit.
FINAL_STATUSES = (TransactionStatus.REFUNDED, TransactionStatus.AUTHORIZATION_VOIDED)
BATCH = 200  # primary keys read per query: a pass walks every item, a batch at a time


class _Pass:
    """One pass's counters and its deadline (``RECONCILE_TIME_LIMIT``)."""

    def __init__(self, time_limit: float) -> None:
        self.counts: Counter[str] = Counter()
        self.deadline = time.monotonic() + time_limit

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def pks(self, queryset: QuerySet[Order] | QuerySet[Payment] | QuerySet[Operation]) -> Iterator[int]:
        """Every primary key in ``queryset``, a batch at a time, until the deadline.

        Keyset pagination (``pk > last``) rather than "the first BATCH": an item
        that stays in the set (busy, failing) must not hide the ones behind it.
        """
        last = 0
        while not self.expired():
            batch = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not batch:
                return
            yield from batch
            last = batch[-1]
        self.counts["time_limit_reached"] = 1


def reconcile(*, older_than: float | None = None, time_limit: float | None = None) -> dict[str, int]:
    """One pass over everything not final. Returns counters by outcome (for logs and the command).

    The pass stops taking new items after ``time_limit`` seconds (default
    ``RECONCILE_TIME_LIMIT``), so a scheduled run never overlaps the next; what
    is left is picked up then (``time_limit_reached`` in the counters).
    """
    conf = get_settings()
    cutoff = timezone.now() - timedelta(seconds=conf.RECONCILE_AFTER if older_than is None else older_than)
    run = _Pass(conf.RECONCILE_TIME_LIMIT if time_limit is None else time_limit)
    _orders(cutoff, run)
    _foreign_mirrors(run)
    _payments(cutoff, run)
    _unrecorded_authorizations(run)
    _open_authorizations(conf.RECONCILE_REVISIT, conf.RECONCILE_REVISIT_DAYS, run)
    _money_operations(cutoff, run)
    _unrecorded_money_operations(run)
    _superseded_payments(cutoff, run)
    logger.info("dintero reconcile: %s", dict(run.counts))
    return dict(run.counts)


def _untouched_since(cutoff: object) -> Q:
    """Rows not touched since ``cutoff``, and rows stamped in the future: those were written
    by a process whose clock runs ahead (``updated_at`` is the writer's clock), and skipping
    them hid them for as long as that clock is ahead (issue 19, clock skew). Taking them
    early is safe: every step of a pass is claimed, leased or read back."""
    return Q(updated_at__lt=cutoff) | Q(updated_at__gt=timezone.now())


def _orders(cutoff: object, run: _Pass) -> None:
    stuck = Order.objects.filter(_untouched_since(cutoff), completed=False).filter(
        Q(status=Order.Status.PLACED) | Q(dintero_draft_id="") | Q(synced_revision__lt=F("revision"))
    )
    for order_pk in run.pks(stuck):
        _run(run.counts, "orders", push_order, order_pk)


def _foreign_mirrors(run: _Pass) -> None:
    """Payments whose mirror holds a transaction of another session (left by versions before
    issue 13): moved apart, and the payment read again from its own session."""
    # Only unpaid ones: applying a transaction sets transaction_id and the mirror together.
    foreign = (
        Payment.objects.filter(transaction_id__isnull=True, raw__has_key="id")
        .annotate(mirrored_session=KT("raw__session_id"))
        .filter(~Q(mirrored_session=F("session_id")) | Q(mirrored_session__isnull=True))
    )
    for payment_pk in run.pks(foreign):
        _run(run.counts, "mirrors", repair_mirror, payment_pk)


def _payments(cutoff: object, run: _Pass) -> None:
    # Waiting for the customer or Dintero, or a sync queued long ago (its task lost).
    waiting = Payment.objects.filter(
        Q(state__in=WAITING) | Q(sync_pending=True), _untouched_since(cutoff), is_active=True
    )
    for payment_pk in run.pks(waiting):
        _run(run.counts, "payments", sync_payment, payment_pk)


def _unrecorded_authorizations(run: _Pass) -> None:
    recorded = Operation.objects.filter(
        payment=OuterRef("pk"),
        kind=Operation.Kind.RECORD_AUTHORIZATION,
        state=Operation.State.SUCCEEDED,
    )
    missing = Payment.objects.filter(is_active=True, state=Payment.State.AUTHORIZED, needs_attention=False)
    for payment_pk in run.pks(missing.filter(~Exists(recorded))):
        _run(run.counts, "authorizations", sync_payment, payment_pk)


def _open_authorizations(every: float, days: int, run: _Pass) -> None:
    """Authorized payments not read for ``every`` seconds: a move made in Dintero's
    Backoffice (capture, refund, void) whose callback was lost shows up here."""
    if every <= 0:
        return
    now = timezone.now()
    stale = Payment.objects.filter(
        is_active=True,
        state=Payment.State.AUTHORIZED,
        needs_attention=False,
        created_at__gt=now - timedelta(days=days),
        last_synced_at__lt=now - timedelta(seconds=every),
    ).exclude(status__in=FINAL_STATUSES)
    for payment_pk in run.pks(stale):
        _run(run.counts, "revisits", sync_payment, payment_pk)


def _money_operations(cutoff: object, run: _Pass) -> None:
    """Unknown, accepted (202) or interrupted captures, refunds and voids: read back."""
    stale = Operation.objects.filter(
        _untouched_since(cutoff), kind__in=Operation.MONEY_KINDS, state__in=Operation.OPEN_STATES
    )
    for operation_pk in run.pks(stale):
        _run(run.counts, "money_operations", money.resolve, operation_pk)


def _unrecorded_money_operations(run: _Pass) -> None:
    """Succeeded money operations whose Orders-API record is missing or unsettled."""
    settled = Operation.objects.filter(parent=OuterRef("pk"), state=Operation.State.SUCCEEDED)
    attention = Operation.objects.filter(parent=OuterRef("pk"), state=Operation.State.NEEDS_ATTENTION)
    missing = Operation.objects.filter(
        kind__in=Operation.MONEY_KINDS, state=Operation.State.SUCCEEDED
    ).filter(~Exists(settled), ~Exists(attention))
    for operation_pk in run.pks(missing):
        _run(run.counts, "records", records.record_in_orders, operation_pk)


def _superseded_payments(cutoff: object, run: _Pass) -> None:
    """A replaced session that got paid anyway (two tabs): find it by merchant_reference."""
    # Only recent ones: an unpaid session expires, so old ones need no more looks.
    recent = timezone.now() - timedelta(days=1)
    superseded = Payment.objects.filter(
        _untouched_since(cutoff),
        order=OuterRef("pk"),
        state=Payment.State.SUPERSEDED,
        created_at__gt=recent,
    )
    orders = Order.objects.filter(Exists(superseded))
    client = CheckoutClient()
    for order_pk in run.pks(orders):
        order = Order.objects.get(pk=order_pk)
        try:
            found = client.find_transactions(merchant_reference=str(order.dintero_order_id))
        except DinteroError as error:
            run.counts["superseded_error"] += 1
            logger.warning("reconcile: listing transactions of %s failed: %s", order, error)
            continue
        _check_extra_transactions(order, found, run.counts)


def _check_extra_transactions(order: Order, found: list[dict[str, object]], counts: Counter[str]) -> None:
    by_session = {p.session_id: p for p in order.payments.all() if p.session_id}
    for tx in found:
        payment = by_session.get(str(tx.get("session_id")))
        if (
            payment
            and not payment.is_active
            and not payment.needs_attention
            and tx.get("status") not in (None, "INITIATED", "FAILED", "DECLINED")
        ):
            reason = f"superseded session was paid: transaction {tx.get('id')} ({tx.get('status')})"
            flag(payment, reason, tx=dict(tx))
            counts["double_payment"] += 1


def _run(counts: Counter[str], label: str, func: object, pk: int) -> None:
    try:
        result = func(pk)  # type: ignore[operator]
    except (Busy, RetryLater):
        counts[f"{label}_busy_or_pending"] += 1
    except DinteroError as error:
        counts[f"{label}_error"] += 1
        logger.warning("reconcile %s %s failed: %s", label, pk, error)
    else:
        # Recording an operation reports a busy order by leaving the record open.
        still_open = isinstance(result, Operation) and result.state in Operation.OPEN_STATES
        counts[f"{label}_busy_or_pending" if still_open else f"{label}_synced"] += 1
