"""Discounts and gift cards: integer arithmetic that never drifts.

A discount is kept on the line it reduces (spec ``OrderDiscountItem.discount_lines``):
a line's ``amount`` is what the customer pays for it, after its discounts, and is
what the session item, the Orders-API item, the authorization and every capture or
refund count. An order-level discount is spread over the lines first (largest
remainder, exact to the minor unit), so ``order.amount`` is always the sum of the
lines, as the spec requires, and per-line captures and refunds stay exact.

Partial operations by quantity use a cumulative split: the first ``c`` of a line's
``q`` units are worth ``floor(amount * c / q)``. Each operation takes the difference
between two such points, so any sequence of partial captures or refunds adds up to
the line's amount exactly, with no rounding drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: spec DiscountType
DISCOUNT_TYPES = ("customer", "periodic", "manual", "loyalty", "total", "employee", "external")


@dataclass(frozen=True)
class Discount:
    """One discount: ``amount`` in minor units incl. VAT (spec ``DiscountItem``)."""

    amount: int
    description: str = ""
    discount_type: str = "manual"
    discount_id: str = ""
    percentage: float | None = None

    def as_json(self, number: int) -> dict[str, Any]:
        body: dict[str, Any] = {"amount": self.amount, "discount_type": self.discount_type, "line_id": number}
        if self.discount_id:
            body["discount_id"] = self.discount_id
        if self.description:
            body["description"] = self.description
        if self.percentage is not None:
            body["percentage"] = self.percentage
        return body


@dataclass(frozen=True)
class GiftCard:
    """A gift card paying part of the order (spec ``Giftcard``; one per session)."""

    card_id: str
    amount: int
    type: str = "dintero.wallets"
    masked_card_token: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "card_id": self.card_id, "amount": self.amount}
        if self.masked_card_token:
            body["masked_card_token"] = self.masked_card_token
        return body


def check_discount(discount: Discount) -> None:
    if isinstance(discount.amount, bool) or not isinstance(discount.amount, int) or discount.amount <= 0:
        raise ValidationError(_("A discount must be a positive amount in minor units."))
    if discount.discount_type not in DISCOUNT_TYPES:
        raise ValidationError(_("Unknown discount type %(type)s.") % {"type": discount.discount_type})


def check_line_discounts(gross: int, discounts: Sequence[Discount]) -> int:
    """The total discount of a line; ValidationError when it is negative or exceeds the line."""
    for discount in discounts:
        check_discount(discount)
    total = sum(discount.amount for discount in discounts)
    if total > gross:
        raise ValidationError(
            _("The discounts (%(total)s) exceed the line's amount (%(gross)s).")
            % {"total": total, "gross": gross}
        )
    return total


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` over ``weights`` in proportion, exactly (largest remainder).

    Each share is at most its weight, so a discount spread over lines never makes a
    line negative. ``amount`` must not exceed ``sum(weights)``.
    """
    total = sum(weights)
    if amount < 0 or amount > total:
        raise ValidationError(
            _("The discount (%(amount)s) exceeds the order's amount (%(total)s).")
            % {"amount": amount, "total": total}
        )
    if total == 0:
        return [0 for _ in weights]
    shares = [amount * weight // total for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for index in remainders[: amount - sum(shares)]:
        shares[index] += 1
    return shares


def spread_order_discount(line_amounts: Sequence[int], discount: Discount) -> list[Discount | None]:
    """An order-level discount as one item discount per line (None where the share is 0)."""
    return [
        Discount(share, discount.description, discount.discount_type, discount.discount_id) if share else None
        for share in spread(discount.amount, line_amounts)
    ]


def units_value(amount: int, quantity: int, moved: int, units: int) -> int:
    """What ``units`` more units of a line are worth, after ``moved`` of its ``amount``.

    The first ``c`` units are worth ``amount * c // quantity``; ``moved`` is placed at
    the last such point it has reached, so operations by amount and by quantity mix,
    and the last unit always takes what is left of the line.
    """
    if quantity <= 0 or amount <= 0 or units <= 0:
        return 0
    target = min(quantity, units_done(amount, quantity, moved) + units)
    return max(amount * target // quantity - moved, 0)


def cumulative(amount: int, quantity: int, units: int) -> int:
    """What the first ``units`` of a line are worth: ``amount * units // quantity``."""
    return amount * units // quantity if quantity > 0 else 0


def units_done(amount: int, quantity: int, moved: int) -> int:
    """How many of a line's units ``moved`` covers: the last ``c`` with ``amount*c//quantity <= moved``."""
    if quantity <= 0 or amount <= 0:
        return quantity if quantity > 0 else 0
    return max(0, min(quantity, ((moved + 1) * quantity - 1) // amount))


def check_gift_cards(cards: Sequence[GiftCard], total: int) -> None:
    """At most one card (spec ``maxItems: 1``), a non-negative amount, not over the order total."""
    if len(cards) > 1:
        raise ValidationError(_("Only one gift card can pay an order."))
    for card in cards:
        if not card.card_id:
            raise ValidationError(_("A gift card needs its card_id."))
        if card.amount < 0:
            raise ValidationError(_("A gift card amount cannot be negative."))
        if card.amount > total:
            raise ValidationError(
                _("The gift card (%(card)s) exceeds the order total (%(total)s).")
                % {"card": card.amount, "total": total}
            )


def with_order_discounts(
    lines: Sequence[Any], discounts: Sequence[Discount]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Spread each order-level discount over ``lines`` (LineInputs) as item discounts.

    Returns the new lines and the order's ``discount_lines`` (spec ``SessionOrder``).
    Each discount is spread over what the lines cost after the discounts before it.
    """
    current = list(lines)
    summary: list[dict[str, Any]] = []
    for number, discount in enumerate(discounts, start=1):
        check_discount(discount)
        shares = spread_order_discount([_net(line) for line in current], discount)
        current = [
            replace(line, discounts=(*line.discounts, share)) if share else line
            for line, share in zip(current, shares, strict=True)
        ]
        summary.append(discount.as_json(number))
    return current, summary


def _net(line: Any) -> int:
    return int(line.quantity * line.unit_amount - sum(d.amount for d in line.discounts))
