"""JSON views of sessions and transactions, shaped like Dintero's spec (SPEC24)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .state import JSONDict, Session, Transaction

if TYPE_CHECKING:
    from .runtime import Runtime

#: Plausible card details for card payments (``card.type`` is left out: the spec's
#: enum and the Dintero PSP example disagree on its spelling).
CARD = {"brand": "visa", "masked_pan": "************0004", "expiry_date": "12/2030"}
_CUSTOMER_FIELDS = ("customer_id", "email", "phone_number")


def session_json(rt: Runtime, session: Session) -> JSONDict:
    data: JSONDict = {
        "id": session.id,
        "created_at": rt.clock.iso(session.created_at),
        "updated_at": rt.clock.iso(session.updated_at),
        "expires_at": rt.clock.iso(session.expires_at),
        **{key: value for key, value in session.body.items() if key != "profile_id"},
        "events": session.events,
        "initiating_system_request_headers": session.system_headers,
    }
    if session.transaction_id is not None:
        data["transaction_id"] = session.transaction_id
    if session.cancelled_at is not None:
        data["cancelled_at"] = rt.clock.iso(session.cancelled_at)
        data["cancelled_by"] = session.cancelled_by
    return data


def transaction_json(rt: Runtime, transaction: Transaction, *, include_session: bool = False) -> JSONDict:
    order = transaction.session_body["order"]
    urls = {"redirect_url": transaction.redirect_url}
    if transaction.callback_url:
        urls["callback_url"] = transaction.callback_url
    data: JSONDict = {
        "id": transaction.id,
        "session_id": transaction.session_id,
        "created_at": rt.clock.iso(transaction.created_at),
        "updated_at": rt.clock.iso(transaction.updated_at),
        "status": transaction.status,
        "amount": transaction.amount,
        "currency": transaction.currency,
        "merchant_reference": transaction.merchant_reference,
        "payment_product": transaction.payment_product_type.split(".")[0],
        "payment_product_type": transaction.payment_product_type,
        "items": transaction.items,
        "url": urls,
        "events": transaction.events,
        "metadata": {"session:profile_id": transaction.session_body["profile_id"]},
        "initiating_system_request_headers": transaction.system_headers,
    }
    for key in ("merchant_reference_2", "shipping_option", "shipping_address", "billing_address"):
        if key in order:
            data[key] = order[key]
    customer = transaction.session_body.get("customer") or {}
    picked = {key: customer[key] for key in _CUSTOMER_FIELDS if key in customer}
    if picked:
        data["customer"] = picked
    if transaction.payment_product_type.endswith("creditcard"):
        data["card"] = dict(CARD)
    if include_session:
        session = rt.store.sessions.get(transaction.session_id)
        if session is not None:
            data["session"] = session_json(rt, session)
    return data
