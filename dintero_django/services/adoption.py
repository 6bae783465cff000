"""Captures and refunds made outside our own operations become ledger rows.

Auto-capture and Dintero's Backoffice move money without us: each such event of
the transaction becomes a succeeded ``Operation``, so that the ledger, the line
balances and the Orders-API records account for it like for our own.
:func:`dintero_django.services.records.adopt_external_moves` records them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from django.utils import timezone

from ..models import Operation, Payment
from . import ledger
from .balances import Moved, line_id, spread

Kind = Operation.Kind
MONEY_KINDS = Operation.MONEY_KINDS


def adopt_rows(payment: Payment) -> list[Operation]:
    """One succeeded ledger row per capture or refund event that is not ours.

    Idempotent: the reference is derived from the transaction and event ids.
    """
    payment = Payment.objects.select_related("order").get(pk=payment.pk)
    events = (payment.raw or {}).get("events") or []
    if not any(event.get("success") and event.get("event") in ("CAPTURE", "REFUND") for event in events):
        return []  # nothing moved yet (a fresh authorization): no ledger or lines to read
    is_ours = ledger.ours(payment, events)
    lines = list(payment.order.lines.order_by("line_id"))
    moved: Moved = {"CAPTURE": defaultdict(int), "REFUND": defaultdict(int)}
    adopted: list[Operation] = []
    for event in events:
        name = event.get("event")
        if not event.get("success") or name not in moved:
            continue
        items = _items(event) or spread(lines, moved, name, int(event.get("amount") or 0))
        for item in items:
            moved[name][item["line_id"]] += item["amount"]
        if is_ours(event):
            continue
        adopted.append(_adopt(payment, event, items))
    return adopted


def _items(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"line_id": line_id(i.get("line_id")), "amount": int(i.get("amount") or 0)}
        for i in event.get("items") or []
    ]


def _adopt(payment: Payment, event: dict[str, Any], items: list[dict[str, Any]]) -> Operation:
    digest = hashlib.sha256(f"{payment.transaction_id}:{event.get('id')}".encode()).hexdigest()
    operation, _ = Operation.objects.get_or_create(
        reference=f"dx-{digest[:20]}",
        defaults={
            "kind": Kind.CAPTURE if event.get("event") == "CAPTURE" else Kind.REFUND,
            "state": Operation.State.SUCCEEDED,
            "order": payment.order,
            "payment": payment,
            "amount": int(event.get("amount") or 0),
            "items": items,
            "remote_id": str(event.get("id") or ""),
            "reason": f"made outside dintero-django by {event.get('created_by') or 'Dintero'}"[:255],
            "completed_at": timezone.now(),
        },
    )
    return operation
