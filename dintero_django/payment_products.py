"""What a payment product allows when capturing and refunding by lines.

Instabank: the spec's capture and refund bodies require ``items`` with ``line_id``,
``quantity`` and ``amount``. Collector (Walley): Dintero's integration checklist says
"When capturing Collector payments, capture full item lines"
(docs.dintero.com/docs/checkout/integration-checklist). For both we capture and refund
whole lines only (all of a line that is left); that a Collector refund also takes whole
lines is our stricter reading. Every other product may also move part of a line.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

#: ``payment_product_type`` prefixes (before the dot) that take whole item lines only.
WHOLE_LINE_PRODUCTS = frozenset({"instabank", "collector"})


def needs_whole_lines(payment_product_type: str | None) -> bool:
    return (payment_product_type or "").split(".", 1)[0] in WHOLE_LINE_PRODUCTS


def whole_lines_message(payment_product_type: str) -> str:
    return _(
        "%(product)s payments are captured and refunded by whole order lines: choose the lines "
        "(each with all of its quantity that is left), or leave the amount empty to take everything."
    ) % {"product": payment_product_type.split(".", 1)[0].title()}
