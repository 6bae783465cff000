"""Invariants and the end-of-run audit: local state against the emulator's ``state()``.

The audit's counters are the battery's "zeros": every one must be 0 after things
settled and one reconciliation pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dintero_django.models import PAID_STATUSES, Operation, Payment

#: Transaction status moves Dintero allows (plus staying put), from the emulator's table.
ALLOWED_STATUS_MOVES: dict[str, set[str]] = {
    "": {"INITIATED", "ON_HOLD", "AUTHORIZED", "CAPTURED", "DECLINED", "FAILED", "PARTIALLY_CAPTURED"},
    "INITIATED": {"ON_HOLD", "AUTHORIZED", "CAPTURED", "DECLINED", "FAILED", "AUTHORIZATION_VOIDED"},
    "ON_HOLD": {"AUTHORIZED", "CAPTURED", "FAILED"},
    "AUTHORIZED": {
        "PARTIALLY_CAPTURED",
        "CAPTURED",
        "AUTHORIZATION_VOIDED",
        # two events applied in one read (capture then refund)
        "PARTIALLY_CAPTURED_REFUNDED",
        "PARTIALLY_REFUNDED",
        "REFUNDED",
    },
    "PARTIALLY_CAPTURED": {"CAPTURED", "PARTIALLY_CAPTURED_REFUNDED", "PARTIALLY_REFUNDED", "REFUNDED"},
    "CAPTURED": {"PARTIALLY_REFUNDED", "REFUNDED"},
    "PARTIALLY_CAPTURED_REFUNDED": {"PARTIALLY_REFUNDED", "REFUNDED"},
    "PARTIALLY_REFUNDED": {"REFUNDED"},
    "REFUNDED": set(),
    "AUTHORIZATION_VOIDED": set(),
    "DECLINED": set(),
    "FAILED": set(),
}
#: Local payment states that may follow each other.
ALLOWED_STATE_MOVES: dict[str, set[str]] = {
    "created": {"awaiting", "superseded"},
    "awaiting": {"pending", "authorized", "failed", "cancelled", "superseded"},
    "pending": {"authorized", "failed", "voided"},
    "authorized": {"voided"},
    "failed": set(),
    "cancelled": set(),
    "voided": set(),
    "superseded": set(),
}


def legal_status_move(before: str, after: str) -> bool:
    return before == after or after in ALLOWED_STATUS_MOVES.get(before, set())


def legal_state_move(before: str, after: str) -> bool:
    return before == after or after in ALLOWED_STATE_MOVES.get(before, set())


def derived_status(authorized: int, captured: int, refunded: int, voided: bool) -> str:
    """The transaction status the amounts imply (Dintero's rules, as the emulator applies them)."""
    if voided and captured == 0:
        return "AUTHORIZATION_VOIDED"
    left = authorized - captured
    if refunded > 0:
        if left > 0:
            return "PARTIALLY_CAPTURED_REFUNDED"
        return "REFUNDED" if refunded >= captured else "PARTIALLY_REFUNDED"
    if captured > 0:
        return "CAPTURED" if left <= 0 else "PARTIALLY_CAPTURED"
    return "AUTHORIZED"


def amounts_ok(payment: Payment) -> list[str]:
    """Broken amount rules of one local payment ('' list when none)."""
    problems = []
    values = (payment.authorized_amount, payment.captured_amount, payment.refunded_amount)
    if not all(type(v) is int for v in values):
        problems.append(f"non-integer amounts {values}")
    if not 0 <= payment.refunded_amount <= payment.captured_amount <= payment.authorized_amount:
        problems.append(f"0 <= refunded <= captured <= authorized broken: {values}")
    return problems


def remote_amounts(tx: dict[str, Any]) -> tuple[int, int, int]:
    events = [e for e in tx.get("events") or [] if e.get("success")]
    captured = sum(int(e.get("amount") or 0) for e in events if e["event"] == "CAPTURE")
    refunded = sum(int(e.get("amount") or 0) for e in events if e["event"] == "REFUND")
    paid = tx["status"] in PAID_STATUSES or tx["status"] == "AUTHORIZATION_VOIDED"
    return (int(tx["amount"]) if paid else 0, captured, refunded)


DOUBLES = (("CAPTURE", "double_captures"), ("REFUND", "double_refunds"), ("VOID", "double_voids"))


def audit(state: dict[str, Any]) -> dict[str, Any]:
    """Compare the emulator's state with the local database; returns the zero counters."""
    payments = {p.transaction_id: p for p in Payment.objects.exclude(transaction_id=None)}
    by_session = {p.session_id: p for p in Payment.objects.exclude(session_id=None)}
    ops = list(Operation.objects.filter(kind__in=Operation.MONEY_KINDS).select_related("payment"))
    succeeded = {op.reference: op for op in ops if op.state == Operation.State.SUCCEEDED}
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    def bad(name: str, detail: str) -> None:
        counts[name] += 1
        examples.setdefault(name, [])
        if len(examples[name]) < 5:
            examples[name].append(detail)

    remote_refs: set[str] = set()
    for tx in state["transactions"]:
        local = payments.get(tx["id"])
        remote = remote_amounts(tx)
        if tx["status"] in PAID_STATUSES:
            counts["remote_paid"] += 1
            owner = local or by_session.get(tx.get("session_id"))
            if owner is not None and owner.needs_attention and owner.state != Payment.State.AUTHORIZED:
                # Refused on purpose (mismatch, superseded session paid): staff were alerted.
                counts["paid_but_flagged_for_staff"] += 1
            elif local is None or local.state != Payment.State.AUTHORIZED:
                bad("lost_payments", f"{tx['id']} {tx['status']} local={owner and owner.state}")
        if local is not None:
            mirrored = (local.authorized_amount, local.captured_amount, local.refunded_amount)
            if mirrored != remote:
                bad("amount_mismatches", f"{tx['id']} local={mirrored} remote={remote}")
            if local.status != tx["status"]:
                bad("status_mismatches", f"{tx['id']} local={local.status} remote={tx['status']}")
            for problem in amounts_ok(local):
                bad("amount_rule_violations", f"{tx['id']} {problem}")
        for kind, name in DOUBLES:
            refs = Counter(
                e.get("event_reference")
                for e in tx.get("events") or []
                if e["event"] == kind and e.get("success") and e.get("event_reference")
            )
            remote_refs.update(refs)
            for ref, n in refs.items():
                if n > 1:
                    bad(name, f"{tx['id']} {ref} x{n}")
            moves = [e for e in tx.get("events") or [] if e["event"] == kind and e.get("success")]
            if kind == "VOID" and len(moves) > 1:
                bad("double_voids", f"{tx['id']} {len(moves)} voids")
    remote_events = {
        (tx["id"], str(e.get("id")))
        for tx in state["transactions"]
        for e in tx.get("events") or []
        if e.get("success")
    }
    remote_correlations = {
        str(e["correlation_request_id"])
        for tx in state["transactions"]
        for e in tx.get("events") or []
        if e.get("success") and e.get("correlation_request_id")
    }
    for ref, op in succeeded.items():
        if op.kind not in (Operation.Kind.CAPTURE, Operation.Kind.REFUND):
            continue
        if ref.startswith("dx-"):  # adopted from Dintero (Backoffice, auto-capture): by event id
            known = op.payment is not None and (op.payment.transaction_id, op.remote_id) in remote_events
        else:
            # A 200's event carries our reference; the event completing a 202 carries only
            # correlation_request_id = the 202's event-request-id (our request_id).
            known = ref in remote_refs or bool(op.request_id and op.request_id in remote_correlations)
        if not known:
            bad("local_moves_remote_lacks", f"{op.kind} {ref}")
    for order in state["orders"]:
        for collection in ("authorizations", "captures", "refunds", "cancellations"):
            records = order.get(collection) or []
            keys = Counter(
                (r.get("metadata") or {}).get("dintero_django_reference")
                or (r.get("payment_details") or {}).get("payment_id")
                for r in records
            )
            if collection == "authorizations":
                keys = Counter((r.get("payment_details") or {}).get("payment_id") for r in records)
            for key, n in keys.items():
                if n > 1:
                    bad("duplicate_order_records", f"{order['order_id']} {collection} {key} x{n}")
    open_ops = Operation.objects.filter(
        state__in=Operation.OPEN_STATES, kind__in=_TRACKED_KINDS
    ).select_related("payment")
    for op in open_ops:
        payment = op.payment
        bad(
            "unresolved_operations",
            f"{op.kind} {op.reference} {op.state} attempts={op.attempts} error={op.error_message[:120]!r} "
            f"payment={payment and (payment.state, payment.needs_attention, payment.attention_reason[:80])}",
        )
    counts["orders_remote"] = len(state["orders"])
    per_order_id = Counter((d.get("order") or {}).get("order_id") for d in state["drafts"])
    counts["duplicate_drafts"] = sum(n - 1 for n in per_order_id.values() if n > 1)
    counts["ledger_unknown_nonmoney"] = (
        Operation.objects.filter(state__in=Operation.OPEN_STATES).exclude(kind__in=_TRACKED_KINDS).count()
    )
    result: dict[str, Any] = {name: counts.get(name, 0) for name in ZEROS}
    result.update({k: v for k, v in counts.items() if k not in ZEROS})
    result["examples"] = examples
    return result


_TRACKED_KINDS = [
    Operation.Kind.CAPTURE,
    Operation.Kind.REFUND,
    Operation.Kind.VOID,
    Operation.Kind.RECORD_AUTHORIZATION,
    Operation.Kind.RECORD_CAPTURE,
    Operation.Kind.RECORD_REFUND,
    Operation.Kind.RECORD_CANCELLATION,
]

#: The counters that must be zero.
ZEROS = (
    "lost_payments",
    "amount_mismatches",
    "status_mismatches",
    "amount_rule_violations",
    "double_captures",
    "double_refunds",
    "double_voids",
    "local_moves_remote_lacks",
    "duplicate_order_records",
    "unresolved_operations",
)


def nonzero(result: dict[str, Any]) -> dict[str, Any]:
    return {name: result[name] for name in ZEROS if result[name]}
