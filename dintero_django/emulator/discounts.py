"""Checks of a session's discounts and gift cards, as the spec states them.

Sources: spec ``DiscountItem`` / ``DiscountType`` (item and order ``discount_lines``),
``SessionOrderUpdate.discount_codes`` (strings), ``SessionOrderUpdate.gift_cards``
(``maxItems: 1``; ``Giftcard`` requires ``type`` ``dintero.wallets``, ``card_id``, a
non-negative integer ``amount``, and is "the part of ``order.amount`` that will be
authorized using gift cards", so it cannot exceed ``order.amount``).
"""

from __future__ import annotations

from typing import Any

from . import validation as v
from .routing import JSONDict, invalid

DISCOUNT_TYPES = ("customer", "periodic", "manual", "loyalty", "total", "employee", "external")
GIFT_CARD_TYPES = ("dintero.wallets",)


def check_discounts(body: JSONDict) -> None:
    order = body.get("order")
    if not isinstance(order, dict):
        return
    for index, item in enumerate(order.get("items") or []):
        if isinstance(item, dict):
            path = f"order.items[{index}]"
            _discount_lines(item, path)
            v.boolean(item, "eligible_for_discount", path)
    _discount_lines(order, "order")
    codes = v.array(order, "discount_codes", "order", required=False) or []
    for index, code in enumerate(codes):
        if not isinstance(code, str):
            raise invalid(f"order.discount_codes[{index}]", "must be a string")
    _gift_cards(order)


def _discount_lines(owner: JSONDict, path: str) -> None:
    lines = v.array(owner, "discount_lines", path, required=False) or []
    for index, line in enumerate(lines):
        where = f"{path}.discount_lines[{index}]"
        if not isinstance(line, dict):
            raise invalid(where, "must be an object")
        v.amount(line, "amount", where, required=False)
        v.number(line, "percentage", where)
        _integer(line, "line_id", where)
        v.string(line, "discount_id", where, required=False)
        v.string(line, "description", where, required=False)
        kind = line.get("discount_type")
        if kind is not None and kind not in DISCOUNT_TYPES:
            raise invalid(f"{where}.discount_type", f"must be one of {list(DISCOUNT_TYPES)}")


def _gift_cards(order: JSONDict) -> None:
    cards = v.array(order, "gift_cards", "order", required=False)
    if cards is None:
        return
    if len(cards) > 1:
        raise invalid("order.gift_cards", "must have at most 1 item")
    for index, card in enumerate(cards):
        where = f"order.gift_cards[{index}]"
        if not isinstance(card, dict):
            raise invalid(where, "must be an object")
        if card.get("type") not in GIFT_CARD_TYPES:
            raise invalid(f"{where}.type", f"must be one of {list(GIFT_CARD_TYPES)}")
        v.string(card, "card_id", where)
        v.string(card, "masked_card_token", where, required=False)
        amount = v.amount(card, "amount", where, minimum=0)
        assert amount is not None
        if amount > order["amount"]:
            raise invalid(f"{where}.amount", f"must not exceed order.amount ({order['amount']})")


def _integer(data: JSONDict, key: str, path: str) -> Any:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid(f"{path}.{key}", "must be an integer")
    return value
