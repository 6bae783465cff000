"""Phase 1 of a money operation: the intent, recorded before anything is sent.

Under the payment's row lock: the payment may move money (authorized, not flagged,
no other money operation open), the amount or line quantities fit what is left, the
payment product's line rules hold; then the ``pending`` Operation with its unique
reference is inserted and committed. Only then does :mod:`.money` call Dintero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ..exceptions import PaymentError
from ..models import Operation, Payment
from ..payment_products import needs_whole_lines, whole_lines_message
from . import ledger
from .balances import items_for, line_balances

Kind = Operation.Kind


def begin(
    payment_pk: int,
    kind: str,
    amount: int | None,
    quantities: Mapping[int, int] | None,
    user: Any,
    reason: str,
) -> Operation:
    """Phase 1: under the payment's row lock, check and write the pending operation."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",), no_key=True)
            .select_related("order")
            .get(pk=payment_pk)
        )
        check_payment(payment, kind)
        total = check_amount(payment, kind, amount, quantities)
        items = (
            []
            if kind == Kind.VOID
            else items_for(line_balances(payment), kind, amount=total, quantities=quantities)
        )
        if kind != Kind.VOID:
            covered = sum(item["amount"] for item in items)
            if not quantities and covered != total:
                raise PaymentError(
                    _("Only %(covered)d of %(total)d can be matched to order lines to %(kind)s.")
                    % {"covered": covered, "total": total, "kind": kind}
                )
            if covered <= 0:
                raise PaymentError(
                    _("Nothing to %(kind)s: choose at least one line or a positive amount.") % {"kind": kind}
                )
            check_whole_lines(payment, kind, items)
            total = covered
        return ledger.begin(
            kind,
            payment.order,
            payment=payment,
            amount=total,
            items=items,
            reason=reason[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )


def check_whole_lines(payment: Payment, kind: str, items: list[dict[str, Any]]) -> None:
    """Instabank and Collector take whole lines (payment_products.py): each item must be all
    of its line that is left, so an amount-only partial is refused before anything is sent."""
    if not needs_whole_lines(payment.payment_product_type):
        return
    left = {
        b.line.line_id: (b.capturable if kind == Kind.CAPTURE else b.refundable)
        for b in line_balances(payment)
    }
    if any(item["amount"] != left.get(item["line_id"]) for item in items):
        raise PaymentError(whole_lines_message(payment.payment_product_type))


def check_payment(payment: Payment, kind: str) -> None:
    if not payment.transaction_id or payment.state != Payment.State.AUTHORIZED:
        raise PaymentError(
            _("Payment %(payment)s is %(state)s: nothing to %(kind)s.")
            % {"payment": payment, "state": payment.get_state_display().lower(), "kind": kind}
        )
    if payment.needs_attention:
        raise PaymentError(
            _("Payment %(payment)s needs attention first: %(reason)s")
            % {"payment": payment, "reason": payment.attention_reason}
        )
    open_ops = Operation.objects.filter(
        payment=payment, kind__in=Operation.MONEY_KINDS, state__in=Operation.OPEN_STATES
    )
    if open_ops.exists():
        raise PaymentError(
            _(
                "Another operation on %(payment)s is still in progress; "
                "it must finish before a new one starts."
            )
            % {"payment": payment}
        )


def check_amount(
    payment: Payment, kind: str, amount: int | None, quantities: Mapping[int, int] | None
) -> int:
    if kind == Kind.VOID:
        if payment.captured_amount:
            raise PaymentError(_("Captured payments cannot be cancelled; refund them instead."))
        return payment.authorized_amount
    limit = payment.capturable if kind == Kind.CAPTURE else payment.refundable
    if quantities:
        return 0  # the line items decide; checked per line in items_for
    if amount is None:
        amount = limit
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise PaymentError(
            _("The amount to %(kind)s must be a positive whole number of minor units.") % {"kind": kind}
        )
    if amount > limit:
        raise PaymentError(
            _("Cannot %(kind)s %(amount)d: only %(limit)d is left to %(kind)s.")
            % {"kind": kind, "amount": amount, "limit": limit}
        )
    return amount
