"""``{% dintero_checkout order %}``: the order's checkout session embedded in the page.

Loads Dintero's Checkout Web SDK from the package's own static files (vendored, see
docs/web-sdk.md) and ``dintero_django/checkout.js``, which embeds the session (or
shows the SDK's pop-out button) and reacts to its events without trusting them: the
only place it ever sends the customer is our return URL (whose view reads the
payment from Dintero with our credentials) or the order's result page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from django import template
from django.utils.translation import get_language

from ..adapters import get_adapter
from ..models import Order, Payment

register = template.Library()

#: Dintero's production checkout; the SDK's default endpoint.
DINTERO_CHECKOUT = "https://checkout.dintero.com"
MODES = ("embed", "popout")


def sdk_endpoint(session_url: str) -> str:
    """The SDK ``endpoint`` for a session URL: Dintero's, or the emulator's origin."""
    parts = urlsplit(session_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return DINTERO_CHECKOUT if origin == DINTERO_CHECKOUT else origin


@register.inclusion_tag("dintero_django/checkout_embed.html", takes_context=True)
def dintero_checkout(context: dict[str, Any], order: Order, mode: str = "embed") -> dict[str, Any]:
    """Embed ``order``'s awaiting session (``mode`` "embed" or "popout")."""
    if mode not in MODES:
        raise template.TemplateSyntaxError(f"dintero_checkout mode must be one of {MODES}, not {mode!r}")
    adapter = get_adapter()
    payment = (
        order.payments.filter(is_active=True, state=Payment.State.AWAITING).exclude(session_id="").first()
    )
    request = context.get("request")
    base = request.build_absolute_uri("/") if request is not None else ""
    language = adapter.checkout_language(get_language())
    return {
        "payment": payment,
        "sid": payment.session_id if payment else "",
        "endpoint": sdk_endpoint(payment.session_url) if payment else "",
        "language": language or "",
        "mode": mode,
        "return_url": urljoin(base, adapter.return_url(order)),
        "result_url": urljoin(base, adapter.result_url(order)),
    }
