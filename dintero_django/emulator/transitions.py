"""The transaction state machine: which operation is legal when, and what it leaves.

Pure functions over :class:`~.state.Transaction`; callers hold the store lock. A
refused operation raises :class:`IllegalOperation` before anything changes.

Statuses (dintero-api.md §5.2)::

    INITIATED -> AUTHORIZED | ON_HOLD | DECLINED | FAILED | AUTHORIZATION_VOIDED
    ON_HOLD   -> AUTHORIZED | FAILED
    AUTHORIZED -> PARTIALLY_CAPTURED | CAPTURED | AUTHORIZATION_VOIDED
    PARTIALLY_CAPTURED -> CAPTURED | PARTIALLY_CAPTURED_REFUNDED
                          (| void of the remainder, when configured)
    CAPTURED -> PARTIALLY_REFUNDED | REFUNDED
    PARTIALLY_CAPTURED_REFUNDED -> (capture) PARTIALLY_CAPTURED_REFUNDED | PARTIALLY_REFUNDED
                                   | REFUNDED, (refund) same
    PARTIALLY_REFUNDED -> REFUNDED
"""

from __future__ import annotations

from typing import Any

from .config import EmulatorConfig
from .state import JSONDict, Transaction, new_uuid

STATUSES = (
    "INITIATED",
    "ON_HOLD",
    "AUTHORIZED",
    "PARTIALLY_CAPTURED",
    "CAPTURED",
    "PARTIALLY_CAPTURED_REFUNDED",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
    "AUTHORIZATION_VOIDED",
    "DECLINED",
    "FAILED",
)
CAPTURABLE = frozenset({"AUTHORIZED", "PARTIALLY_CAPTURED", "PARTIALLY_CAPTURED_REFUNDED"})
REFUNDABLE = frozenset(
    {"CAPTURED", "PARTIALLY_CAPTURED", "PARTIALLY_REFUNDED", "PARTIALLY_CAPTURED_REFUNDED"}
)
VOIDABLE = frozenset({"INITIATED", "AUTHORIZED"})
#: Event name of each operation, and of its 202 "accepted" marker.
EVENT_NAMES = {"capture": "CAPTURE", "refund": "REFUND", "void": "VOID"}
INITIATE_NAMES = {
    "capture": "INITIATE_CAPTURE",
    "refund": "INITIATE_REFUND",
    "void": "INITIATE_VOID",
}


class IllegalOperation(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def capturable(transaction: Transaction) -> int:
    used = transaction.captured + transaction.voided + transaction.reserved_capture
    return transaction.amount - used


def refundable(transaction: Transaction) -> int:
    return transaction.captured - transaction.refunded - transaction.reserved_refund


def settled_status(transaction: Transaction) -> str:
    """Status implied by the captured / refunded / voided totals."""
    left_to_capture = transaction.amount - transaction.captured - transaction.voided
    if transaction.refunded > 0:
        if left_to_capture > 0:
            return "PARTIALLY_CAPTURED_REFUNDED"
        return "REFUNDED" if transaction.refunded >= transaction.captured else "PARTIALLY_REFUNDED"
    if transaction.captured > 0:
        return "CAPTURED" if left_to_capture <= 0 else "PARTIALLY_CAPTURED"
    return "AUTHORIZED"


def _line_amounts(transaction: Transaction) -> dict[str, int]:
    return {
        str(item["line_id"]): int(item.get("amount", 0))
        for item in transaction.items
        if item.get("line_id") is not None
    }


#: Payment products whose captures and refunds must name whole item lines, with
#: ``line_id``, ``quantity`` and ``amount``. Sources: Instabank, the spec's capture and
#: refund bodies ("The items must include the lines to Capture, with line_id, quantity and
#: amount"); Collector (Walley), docs.dintero.com/docs/checkout/integration-checklist
#: ("When capturing Collector payments, capture full item lines"); that a Collector refund
#: also takes whole lines is our stricter reading [D].
WHOLE_LINE_PRODUCTS = ("instabank", "collector")


def needs_whole_lines(payment_product_type: str) -> bool:
    return payment_product_type.split(".", 1)[0] in WHOLE_LINE_PRODUCTS


def _line_quantities(transaction: Transaction) -> dict[str, Any]:
    return {str(item["line_id"]): item.get("quantity") for item in transaction.items if "line_id" in item}


def check_whole_lines(transaction: Transaction, kind: str, items: list[JSONDict]) -> None:
    """Instabank / Collector: every item is a whole line (all of it that is left), with quantity."""
    product = transaction.payment_product_type
    if not items:
        raise IllegalOperation(f"{kind}: items are required for {product}", "ITEMS_REQUIRED")
    lines = _line_amounts(transaction)
    quantities = _line_quantities(transaction)
    for item in items:
        line = str(item["line_id"])
        if line not in lines:
            continue  # reported as UNKNOWN_LINE_ID by check_items
        if item.get("quantity") is None:
            raise IllegalOperation(
                f"{kind}: line_id {line!r} needs a quantity for {product}", "QUANTITY_REQUIRED"
            )
        if kind == "capture":
            whole = lines[line] - transaction.line_captured.get(line, 0)
        else:
            whole = transaction.line_captured.get(line, 0) - transaction.line_refunded.get(line, 0)
        if int(item["amount"]) != whole or item["quantity"] != quantities.get(line):
            raise IllegalOperation(
                f"{kind}: {product} takes whole item lines; line_id {line!r} has {whole} "
                f"(quantity {quantities.get(line)}) to {kind}, not {item['amount']} "
                f"(quantity {item['quantity']})",
                "WHOLE_LINES_REQUIRED",
            )


def check_items(transaction: Transaction, kind: str, amount: int, items: list[JSONDict]) -> None:
    """Items must name known lines and add up to ``amount``; a line cannot be over-captured."""
    if kind != "void" and needs_whole_lines(transaction.payment_product_type):
        check_whole_lines(transaction, kind, items)
    if not items:
        return
    lines = _line_amounts(transaction)
    for item in items:
        if str(item["line_id"]) not in lines:
            raise IllegalOperation(f"{kind}: unknown line_id {item['line_id']!r}", "UNKNOWN_LINE_ID")
    total = sum(int(item["amount"]) for item in items)
    if total != amount:
        raise IllegalOperation(
            f"{kind}: items add up to {total}, not to amount {amount}", "ITEMS_AMOUNT_MISMATCH"
        )
    if kind == "capture":
        for item in items:
            line = str(item["line_id"])
            left = lines[line] - transaction.line_captured.get(line, 0)
            if int(item["amount"]) > left:
                raise IllegalOperation(
                    f"capture: {item['amount']} exceeds the {left} left on line_id {line!r}",
                    "AMOUNT_EXCEEDED",
                )


def check(
    transaction: Transaction, kind: str, amount: int, items: list[JSONDict], config: EmulatorConfig
) -> None:
    status = transaction.status
    if kind == "capture":
        if status not in CAPTURABLE:
            raise IllegalOperation(f"cannot capture a transaction in status {status}", "INVALID_STATE")
        if amount > capturable(transaction):
            raise IllegalOperation(
                f"capture of {amount} exceeds the {capturable(transaction)} left to capture",
                "AMOUNT_EXCEEDED",
            )
    elif kind == "refund":
        if status not in REFUNDABLE:
            raise IllegalOperation(f"cannot refund a transaction in status {status}", "INVALID_STATE")
        if amount > refundable(transaction):
            raise IllegalOperation(
                f"refund of {amount} exceeds the {refundable(transaction)} left to refund",
                "AMOUNT_EXCEEDED",
            )
    else:
        _check_void(transaction, config)
    check_items(transaction, kind, amount, items)


def _check_void(transaction: Transaction, config: EmulatorConfig) -> None:
    status = transaction.status
    if status in VOIDABLE and transaction.captured == 0:
        return
    if status == "PARTIALLY_CAPTURED" and config.void_after_partial_capture:
        return
    if status == "PARTIALLY_CAPTURED":
        raise IllegalOperation(
            "cannot void a PARTIALLY_CAPTURED transaction (void_after_partial_capture is off)",
            "INVALID_STATE",
        )
    raise IllegalOperation(f"cannot void a transaction in status {status}", "INVALID_STATE")


def void_amount(transaction: Transaction) -> int:
    return transaction.amount - transaction.captured - transaction.voided


def apply(
    transaction: Transaction, kind: str, amount: int, items: list[JSONDict], config: EmulatorConfig
) -> None:
    """Move the money and the status (after :func:`check` passed)."""
    if kind == "capture":
        transaction.captured += amount
        for item in items:
            line = str(item["line_id"])
            transaction.line_captured[line] = transaction.line_captured.get(line, 0) + item["amount"]
        transaction.status = settled_status(transaction)
    elif kind == "refund":
        transaction.refunded += amount
        for item in items:
            line = str(item["line_id"])
            transaction.line_refunded[line] = transaction.line_refunded.get(line, 0) + item["amount"]
        transaction.status = settled_status(transaction)
    else:
        partial = transaction.captured > 0
        transaction.voided += amount
        transaction.status = config.void_after_partial_capture_status if partial else "AUTHORIZATION_VOIDED"


def add_event(
    transaction: Transaction,
    event: str,
    created_at: str,
    created_by: str,
    *,
    amount: int | None = None,
    items: list[JSONDict] | None = None,
    success: bool = True,
    **extra: Any,
) -> JSONDict:
    """Append one TransactionEvent (``id`` counts up per transaction, as in callbacks)."""
    record: JSONDict = {
        "id": str(len(transaction.events) + 1),
        "event": event,
        "transaction_status": transaction.status,
        "success": success,
        "request_id": new_uuid(),
        "created_at": created_at,
        "created_by": created_by,
    }
    if amount is not None:
        record["amount"] = amount
    if items is not None:
        record["items"] = items
    record.update({key: value for key, value in extra.items() if value is not None})
    transaction.events.append(record)
    return record
