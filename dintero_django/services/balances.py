"""Per-line balances of a payment, and the line items of a capture or refund.

Shared by the money operations (which items to send), the adoption of moves made
outside our operations (how an item-less capture spreads over the lines) and the
admin (what is left per line).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _

from ..discounts import cumulative, units_done, units_value
from ..exceptions import PaymentError
from ..models import Operation, OrderLine, Payment

Kind = Operation.Kind

#: Amounts moved per event kind ("CAPTURE", "REFUND") and line_id.
Moved = dict[str, dict[int, int]]


@dataclass(frozen=True)
class LineBalance:
    line: OrderLine
    authorized: int
    captured: int
    refunded: int

    @property
    def capturable(self) -> int:
        return self.authorized - self.captured

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded


def whole_quantity(balance: LineBalance, kind: str) -> int:
    """The line's quantity left to capture / refund, when that is a whole number of units."""
    line = balance.line
    moved = [balance.captured] if kind == Operation.Kind.CAPTURE else [balance.captured, balance.refunded]
    # Whole units only when what moved so far ends on a unit boundary (exact with discounts).
    aligned = all(
        cumulative(line.amount, line.quantity, units_done(line.amount, line.quantity, m)) == m for m in moved
    )
    return units_left(balance, kind) if aligned else 0


def line_balances(payment: Payment) -> list[LineBalance]:
    """Per-line authorized / captured / refunded amounts, from Dintero's events.

    Captures and refunds without items (auto-capture, Dintero's Backoffice) are
    spread over the lines in order, the way :func:`items_for` fills them, so the
    per-line balances always add up to the payment's amounts.
    """
    moved: Moved = {"CAPTURE": defaultdict(int), "REFUND": defaultdict(int)}
    without_items = {"CAPTURE": 0, "REFUND": 0}
    for event in (payment.raw or {}).get("events") or []:
        if event.get("success") and event.get("event") in moved:
            if not event.get("items"):
                without_items[event["event"]] += int(event.get("amount") or 0)
            for item in event.get("items") or []:
                moved[event["event"]][line_id(item.get("line_id"))] += int(item.get("amount") or 0)
    lines = list(payment.order.lines.order_by("line_id"))
    for kind in ("CAPTURE", "REFUND"):
        for item in spread(lines, moved, kind, without_items[kind]):
            moved[kind][item["line_id"]] += item["amount"]
    return [
        LineBalance(line, line.amount, moved["CAPTURE"][line.line_id], moved["REFUND"][line.line_id])
        for line in lines
    ]


def line_id(value: Any) -> int:
    """An event item's line_id as our integer (-1 for one we never sent)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def spread(lines: list[OrderLine], moved: Moved, name: str, amount: int) -> list[dict[str, Any]]:
    """Items for an item-less capture/refund: filled line by line, as items_for does."""
    items = []
    for line in lines:
        ceiling = line.amount if name == "CAPTURE" else moved["CAPTURE"][line.line_id]
        take = min(amount, max(ceiling - moved[name][line.line_id], 0))
        if take > 0:
            items.append({"line_id": line.line_id, "amount": take})
            amount -= take
    return items


def items_for(
    balances: list[LineBalance],
    kind: str,
    *,
    amount: int | None,
    quantities: Mapping[int, int] | None,
) -> list[dict[str, Any]]:
    """Items of a capture or refund, by line quantities or by amount (filled line by line)."""
    room = {b.line.line_id: (b.capturable if kind == Kind.CAPTURE else b.refundable) for b in balances}
    by_id = {b.line.line_id: b.line for b in balances}
    items: list[dict[str, Any]] = []
    if quantities:
        for number, quantity in sorted(quantities.items()):
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                # A line of 0 would send Dintero a capture of 0 (issue 13): refuse it here.
                raise PaymentError(
                    _("Line %(line)s: the quantity must be a whole number of at least 1.") % {"line": number}
                )
            line = by_id.get(number)
            if line is None:
                raise PaymentError(_("Order has no line %(line)s.") % {"line": number})
            value = _units_value(balances, number, kind, quantity)
            if value > room[number]:
                raise PaymentError(
                    _("Line %(line)s: %(value)d exceeds the %(room)d left to %(kind)s on it.")
                    % {"line": number, "value": value, "room": room[number], "kind": kind}
                )
            items.append({"line_id": number, "amount": value, "quantity": quantity})
        return items
    left = amount or 0
    for number, available in room.items():
        take = min(left, available)
        if take > 0:
            items.append({"line_id": number, "amount": take, "quantity": quantity_of(by_id[number], take)})
            left -= take
    return items


def quantity_of(line: OrderLine, amount: int) -> int | float:
    """The quantity an amount of a line stands for, sent on every captured / refunded line:
    whole units when it divides evenly, else the fraction (the spec's quantity is a number,
    and a quantity of 0 is refused)."""
    if not line.amount or not line.quantity:
        return line.quantity
    units = Fraction(amount * line.quantity, line.amount)  # the line's discounted unit price
    if units.denominator == 1:
        return int(units)
    return float(f"{float(units):.4g}")  # 4 significant digits: never 0 for a positive amount


def _units_value(balances: list[LineBalance], number: int, kind: str, units: int) -> int:
    """``units`` of line ``number`` in minor units: exact over any sequence, with discounts."""
    balance = next(b for b in balances if b.line.line_id == number)
    left = units_left(balance, kind)
    if units > left:
        raise PaymentError(f"Line {number}: {units} unit(s) exceeds the {left} unit(s) left to {kind} on it.")
    moved = balance.captured if kind == Kind.CAPTURE else balance.refunded
    return units_value(balance.line.amount, balance.line.quantity, moved, units)


def units_left(balance: LineBalance, kind: str) -> int:
    """Units of the line still to capture or refund (exact with discounts; see discounts.py)."""
    line = balance.line
    captured = units_done(line.amount, line.quantity, balance.captured)
    if kind == Kind.CAPTURE:
        return line.quantity - captured if balance.capturable else 0
    return captured - units_done(line.amount, line.quantity, balance.refunded) if balance.refundable else 0
