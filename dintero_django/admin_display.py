"""What staff read in the admin: one merchant vocabulary for payment states, payment
methods in plain words, and operation outcomes that say whether anything is wrong.

Dintero's own status (``CAPTURED``, ``PARTIALLY_CAPTURED_REFUNDED`` …) stays visible
as detail; the label is what a merchant would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .models import Operation, Payment

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

State = Payment.State


@dataclass(frozen=True)
class MerchantState:
    key: str  # stable, for filters, CSS and tests
    label: str
    detail: str  # Dintero's status, or why
    tone: str  # "ok", "wait", "warn", "off": how the badge looks

    def __str__(self) -> str:
        return self.label


_LABELS = {
    "awaiting": (_("Awaiting payment"), "wait"),
    "pending": (_("Pending (on hold)"), "wait"),
    "authorized": (_("Authorized"), "ok"),
    "partially_captured": (_("Partially captured"), "ok"),
    "captured": (_("Captured"), "ok"),
    "partially_refunded": (_("Partially refunded"), "ok"),
    "refunded": (_("Refunded"), "off"),
    "declined": (_("Declined"), "off"),
    "cancelled": (_("Cancelled by the customer"), "off"),
    "voided": (_("Voided"), "off"),
    "superseded": (_("Replaced by a newer attempt"), "off"),
    "expired": (_("Expired unpaid"), "off"),
    "no_payment": (_("No payment"), "off"),
}


def merchant_state(payment: Payment | None) -> MerchantState:
    """The state a merchant understands, read from the mirrored amounts (not the status string)."""
    key = _key(payment)
    known = _LABELS.get(key)
    # A state added later than this table: its own label, shown plainly.
    label = str(known[0]) if known else (payment.get_state_display() if payment else key)
    tone = known[1] if known else "off"
    detail = (payment.status or payment.get_state_display()) if payment else ""
    return MerchantState(key, label, detail, tone)


def _key(payment: Payment | None) -> str:
    if payment is None:
        return "no_payment"
    if payment.state in (State.CREATED, State.AWAITING):
        return "awaiting"
    if payment.state == State.FAILED:
        return "declined"
    if payment.state != State.AUTHORIZED:
        return str(payment.state)
    if payment.captured_amount == 0:
        return "authorized"
    if payment.refunded_amount:
        return "refunded" if payment.refunded_amount == payment.captured_amount else "partially_refunded"
    return "captured" if payment.captured_amount == payment.authorized_amount else "partially_captured"


def open_to_capture(payment: Payment) -> int:
    """What can still be captured: nothing once the authorization is voided, failed or replaced."""
    return payment.capturable if payment.state == State.AUTHORIZED else 0


def open_to_refund(payment: Payment) -> int:
    return payment.refundable if payment.state in (State.AUTHORIZED, State.VOIDED) else 0


#: Dintero's payment_product_type prefixes (docs: transaction payment_product_type) in plain words.
_METHODS = {
    "vipps": "Vipps",
    "creditcard": _("Card"),
    "applepay": "Apple Pay",
    "googlepay": "Google Pay",
    "clicktopay": "Click to Pay",
    "mobilepay": "MobilePay",
    "swish": "Swish",
    "klarna": "Klarna",
    "collector": "Walley (Collector)",
    "walley": "Walley",
    "santander": "Santander",
    "instabank": "Instabank",
    "two": "Two (B2B invoice)",
    "kravia": "Kravia",
    "external": _("External"),
}


def payment_method(product_type: str) -> str:
    """``dintero_psp.creditcard`` -> ``Card``, ``vipps`` -> ``Vipps``; unknown types as they are."""
    if not product_type:
        return ""
    provider, _dot, product = product_type.partition(".")
    for key in (product, provider):
        if key in _METHODS:
            return str(_METHODS[key])
    return product_type


def operation_outcome(operation: Operation) -> tuple[str, str]:
    """(label, tone) of an operation's state, in the merchant's terms.

    Cancelling the previous session after a decline is housekeeping: Dintero refuses it
    when the session already ended, which is the normal case, so it is no fault.
    """
    if operation.kind == Operation.Kind.CANCEL_SESSION and operation.state == Operation.State.FAILED:
        if operation.http_status and 400 <= operation.http_status < 500:
            return str(_("Not needed: the earlier attempt had already ended")), "off"
        return str(_("Not confirmed: the sync checks the earlier attempt")), "off"
    tones = {
        Operation.State.SUCCEEDED: "ok",
        Operation.State.ACCEPTED: "wait",
        Operation.State.PENDING: "wait",
        Operation.State.SETTLED: "off",
        Operation.State.UNKNOWN: "warn",
        Operation.State.NEEDS_ATTENTION: "warn",
        Operation.State.FAILED: "warn",
    }
    return operation.get_state_display(), tones.get(Operation.State(operation.state), "off")


#: Each merchant state as a filter on Payment rows (the overview and the list filters share them).
STATE_QUERIES: dict[str, Q] = {
    "awaiting": Q(state__in=[State.CREATED, State.AWAITING]),
    "pending": Q(state=State.PENDING),
    "authorized": Q(state=State.AUTHORIZED, captured_amount=0),
    "partially_captured": Q(state=State.AUTHORIZED, captured_amount__gt=0, refunded_amount=0)
    & Q(captured_amount__lt=F("authorized_amount")),
    "captured": Q(state=State.AUTHORIZED, captured_amount__gt=0, refunded_amount=0)
    & Q(captured_amount=F("authorized_amount")),
    "partially_refunded": Q(state=State.AUTHORIZED, refunded_amount__gt=0)
    & Q(refunded_amount__lt=F("captured_amount")),
    "refunded": Q(state=State.AUTHORIZED, refunded_amount__gt=0) & Q(refunded_amount=F("captured_amount")),
    "declined": Q(state=State.FAILED),
    "cancelled": Q(state=State.CANCELLED),
    "voided": Q(state=State.VOIDED),
    # Not a state of its own: money left to capture, whatever has been captured so far.
    "capturable": Q(state=State.AUTHORIZED) & Q(captured_amount__lt=F("authorized_amount")),
    "needs_attention": Q(needs_attention=True),
}


def state_choices() -> list[tuple[str, str]]:
    keys = [k for k in STATE_QUERIES if k in _LABELS]
    extra = [("capturable", str(_("Not fully captured"))), ("needs_attention", str(_("Needs attention")))]
    return [(k, str(_LABELS[k][0])) for k in keys] + extra


#: The verbs of the money pages, as the clerk reads them ("You are about to refund …").
VERB_TEXT: dict[str, StrOrPromise] = {
    Operation.Kind.CAPTURE: _("capture"),
    Operation.Kind.REFUND: _("refund"),
    Operation.Kind.VOID: _("cancel"),
}
