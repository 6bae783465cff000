"""What happens when the customer finishes the hosted payment page.

Shared by the HTML page (a real browser) and the control API (tests): create the
session's single transaction in the chosen outcome, work out the ``return_url``
redirect, and schedule the callback.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import transitions
from .routing import ApiError, JSONDict, invalid, not_found
from .sessions import session_event
from .state import Session, Transaction, checkout_id
from .urls import append_query
from .views import transaction_json

if TYPE_CHECKING:
    from .runtime import Runtime

#: Outcome -> (``error`` for return_url/callback, final status). CAPTURED means
#: "authorized with auto-capture". INITIATED leaves the customer mid-payment.
OUTCOMES: dict[str, str | None] = {
    "AUTHORIZED": None,
    "CAPTURED": None,
    "ON_HOLD": None,
    "DECLINED": "authorization",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "INITIATED": None,
}
RESOLUTIONS = {
    "ON_HOLD": ("AUTHORIZED", "FAILED"),
    "INITIATED": ("AUTHORIZED", "ON_HOLD", "DECLINED", "FAILED", "CAPTURED"),
}


@dataclasses.dataclass(frozen=True)
class PayResult:
    transaction_id: str | None
    redirect_url: str | None


def payable_problem(rt: Runtime, session: Session) -> str | None:
    """Why the session cannot be paid (shown on the page, or sent as an error)."""
    if session.cancelled_at is not None or session.outcome == "CANCELLED":
        return "This payment session was cancelled."
    if session.transaction_id is not None:
        return "This payment session has already been completed."
    if session.expires_at <= rt.clock.now():
        return "This payment session has expired."
    return None


def pay(
    rt: Runtime,
    session_id: str,
    outcome: str,
    *,
    payment_product_type: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> PayResult:
    if outcome not in OUTCOMES:
        raise invalid("outcome", f"must be one of {list(OUTCOMES)}")
    with rt.store.lock:
        session = rt.store.sessions.get(session_id)
        if session is None:
            raise not_found("session")
        problem = payable_problem(rt, session)
        if problem is not None:
            raise ApiError(409, problem, "SESSION_NOT_PAYABLE")
        if client_ip:
            session.body["customer_ip"] = client_ip
        if user_agent:
            session.body["user_agent"] = user_agent
        if outcome == "CANCELLED":
            return _cancelled(rt, session)
        product = payment_product_type or _product_for(rt, outcome)
        transaction = _new_transaction(rt, session, product)
        if outcome == "INITIATED":
            return PayResult(transaction.id, None)
        _authorize(rt, session, transaction, outcome)
        return _finish(rt, session, transaction, OUTCOMES[outcome], always=False)


def resolve(rt: Runtime, transaction_id: str, outcome: str) -> JSONDict:
    """Leave ON_HOLD (or INITIATED): the second callback Dintero promises goes out."""
    with rt.store.lock:
        transaction = rt.store.transactions.get(transaction_id)
        if transaction is None:
            raise not_found("transaction")
        allowed = RESOLUTIONS.get(transaction.status)
        if allowed is None:
            raise ApiError(409, f"transaction is {transaction.status}, not ON_HOLD", "INVALID_STATE")
        if outcome not in allowed:
            raise invalid("outcome", f"must be one of {list(allowed)}")
        session = rt.store.sessions[transaction.session_id]
        was_on_hold = transaction.status == "ON_HOLD"
        _authorize(rt, session, transaction, outcome)
        error = "failed" if outcome == "FAILED" else OUTCOMES[outcome]
        _finish(rt, session, transaction, error, always=was_on_hold)
        return transaction_json(rt, transaction)


def _product_for(rt: Runtime, outcome: str) -> str:
    if outcome == "ON_HOLD":
        return rt.config.on_hold_payment_product_type
    return rt.config.payment_product_type


def _cancelled(rt: Runtime, session: Session) -> PayResult:
    session.outcome = "CANCELLED"
    session_event(rt, session, "CANCELLED")
    redirect = _redirect(rt, session, None, "cancelled")
    rt.callbacks.payment(session, None, "cancelled")
    return PayResult(None, redirect)


def _items(order: JSONDict) -> list[JSONDict]:
    """Session items, plus the shipping option moved into the items as Dintero does."""
    items = [dict(item) for item in order.get("items") or []]
    shipping = order.get("shipping_option")
    if shipping:
        line: JSONDict = {
            "id": shipping["id"],
            "line_id": shipping["line_id"],
            "amount": shipping["amount"],
            "description": shipping.get("title", ""),
            "quantity": 1,
            "type": "shipping",
        }
        for key in ("vat_amount", "vat"):
            if key in shipping:
                line[key] = shipping[key]
        items.append(line)
    return items


def _new_transaction(rt: Runtime, session: Session, product: str) -> Transaction:
    order = session.body["order"]
    now = rt.clock.now()
    transaction = Transaction(
        id=checkout_id(rt.account_id),
        session_id=session.id,
        created_at=now,
        updated_at=now,
        status="INITIATED",
        amount=order["amount"],
        currency=order["currency"],
        merchant_reference=order["merchant_reference"],
        payment_product_type=product,
        items=_items(order),
        session_body=session.body,
        system_headers=dict(session.system_headers),
        redirect_url=session.body["url"]["return_url"],
    )
    transitions.add_event(transaction, "INITIALIZE", rt.clock.iso(), "customer")
    rt.store.transactions[transaction.id] = transaction
    session.transaction_id = transaction.id
    return transaction


_DECLINES = {
    "DECLINED": ("Customer declined the payment", "DO_NOT_RETRY"),
    "FAILED": ("Payment rejected by the acquirer", "REJECTED_BY_ACQUIRER"),
}


def _authorize(rt: Runtime, session: Session, transaction: Transaction, outcome: str) -> None:
    now = rt.clock.iso()
    auto_capture = session.body.get("configuration", {}).get("auto_capture") is True
    transaction.updated_at = rt.clock.now()
    if outcome in _DECLINES:
        message, kind = _DECLINES[outcome]
        transaction.status = outcome
        transitions.add_event(
            transaction,
            "AUTHORIZE",
            now,
            "customer",
            success=False,
            error={"code": outcome.lower(), "message": message, "type": kind},
        )
        session_event(rt, session, outcome)
        return
    transaction.status = "ON_HOLD" if outcome == "ON_HOLD" else "AUTHORIZED"
    transitions.add_event(transaction, "AUTHORIZE", now, "customer", amount=transaction.amount)
    session_event(rt, session, "COMPLETED" if outcome == "ON_HOLD" else "AUTHORIZED")
    if outcome == "CAPTURED" or (auto_capture and outcome == "AUTHORIZED"):
        transitions.apply(transaction, "capture", transaction.amount, [], rt.config)
        transitions.add_event(transaction, "CAPTURE", now, "auto_capture", amount=transaction.amount)


def _redirect(rt: Runtime, session: Session, transaction: Transaction | None, error: str | None) -> str:
    params: list[tuple[str, str]] = []
    include_id = error is None or rt.config.return_url_failed_transaction_id
    if transaction is not None and include_id:
        params.append(("transaction_id", transaction.id))
    params.append(("merchant_reference", str(session.body["order"]["merchant_reference"])))
    if error:
        params.append(("error", error))
    return append_query(session.body["url"]["return_url"], params)


def _finish(
    rt: Runtime, session: Session, transaction: Transaction, error: str | None, *, always: bool
) -> PayResult:
    redirect = _redirect(rt, session, transaction, error)
    transaction.redirect_url = redirect
    rt.callbacks.payment(session, transaction, error, always=always)
    return PayResult(transaction.id, redirect)
