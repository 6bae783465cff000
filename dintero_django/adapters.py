"""The order adapter: how a local order becomes Dintero payloads and URLs.

Shops customise behaviour by subclassing :class:`DefaultOrderAdapter` and naming
the subclass in ``DINTERO["ADAPTER"]`` (a dotted path), rather than by piling
up flags. See docs/adapters.md for connecting a shop's own order model.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode, urljoin

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .conf import DinteroSettings, get_settings
from .customer import CustomerDetails, apply_customer
from .discounts import Discount, GiftCard, check_gift_cards, check_line_discounts
from .exceptions import DinteroConfigurationError
from .language import DEFAULT_LANGUAGES, dintero_language, with_language
from .models import MAX_AMOUNT, Order, OrderLine, Payment


@dataclass(frozen=True)
class LineInput:
    """One order line as a storefront or the shop's code asks for it, before pricing."""

    description: str
    quantity: int
    unit_amount: int
    vat_percent: Decimal = Decimal(25)
    product_id: str = ""
    type: str = OrderLine.Type.PHYSICAL
    discounts: tuple[Discount, ...] = ()

    def as_fields(self) -> dict[str, Any]:
        """The OrderLine fields; ValidationError when the discounts exceed the line."""
        gross = self.quantity * self.unit_amount
        discount = check_line_discounts(gross, self.discounts)
        fields = {key: value for key, value in vars(self).items() if key != "discounts"}
        return {
            **fields,
            "amount": gross - discount,
            "discount_amount": discount,
            "discount_lines": [d.as_json(n) for n, d in enumerate(self.discounts, start=1)],
        }


#: The longest ``delay_callback`` Dintero honours: "The maximum delay is 60 seconds"
#: (spec ``CallbackUrl``).
MAX_CALLBACK_DELAY = 60
#: Line types that sell something; shipping and surcharges alone are nothing to pay for.
PRODUCT_TYPES = frozenset({OrderLine.Type.PHYSICAL, OrderLine.Type.DIGITAL, OrderLine.Type.SERVICE})


def _number(value: Decimal) -> int | float:
    # Dintero's `vat` is a JSON number; whole percentages go out as integers.
    return int(value) if value == value.to_integral_value() else float(value)


class DefaultOrderAdapter:
    """Builds the Orders-API draft and the Checkout session from our models."""

    #: Region (ISO 3166-1 alpha-2) in which national phone numbers are read.
    phone_region = "NO"
    #: Django language -> the checkout's ``language`` code (docs/adapters.md, "Language").
    checkout_languages: dict[str, str] = DEFAULT_LANGUAGES

    def __init__(self, conf: DinteroSettings | None = None) -> None:
        self.conf = conf or get_settings()

    # -- the storefront API ------------------------------------------------

    #: True when :meth:`prepare_lines` prices each line from the shop's catalogue by
    #: ``product_id``: the storefront API then takes ``{product_id, quantity}`` as a
    #: whole line (``description`` and ``unit_amount`` optional, ``product_id``
    #: required), and its OpenAPI schema says so.
    prices_lines: bool = False

    def currencies(self, request: Any) -> list[str]:
        """The currencies a storefront order may be in; the first is the default.

        The currency belongs to the shop, never to the customer: by default the
        one in ``DINTERO["CURRENCY"]``, or the list ``DINTERO["CURRENCIES"]``.
        """
        return list(self.conf.CURRENCIES) or [self.conf.CURRENCY]

    def order_currency(self, requested: str | None, request: Any) -> str:
        """The currency of a new storefront order: the requested one if the shop
        takes it, the default when none is requested; else a ValidationError (400)."""
        allowed = self.currencies(request)
        if not requested:
            return allowed[0]
        if requested not in allowed:
            raise ValidationError(
                _("This shop takes orders in %(currencies)s only.") % {"currencies": ", ".join(allowed)}
            )
        return requested

    def prepare_lines(self, lines: list[LineInput], request: Any) -> list[LineInput]:
        """Check or re-price cart lines before the storefront API creates an order.

        The default keeps the prices the client sent. A storefront that runs in
        the customer's browser must override this and price each line from the
        shop's own catalogue (raise ``django.core.exceptions.ValidationError``
        for an unknown product): otherwise a customer can choose what to pay.
        System check ``dintero.W006`` warns while the default is in use.
        """
        return lines

    def validate_lines(self, lines: list[LineInput], request: Any) -> None:
        """Refuse an order that cannot be paid, after :meth:`prepare_lines` priced it.

        The default needs a product line (not shipping, not a surcharge) with a price,
        and a total Dintero accepts (a signed 32-bit integer). A shop that gives
        things away for free may override this; raise
        ``django.core.exceptions.ValidationError`` to refuse (400 on ``lines``).
        """
        total = sum(line.quantity * line.unit_amount for line in lines)
        if total > MAX_AMOUNT:
            raise ValidationError(
                _("The order total %(total)d exceeds %(max)d minor units.")
                % {"total": total, "max": MAX_AMOUNT}
            )
        if not any(line.type in PRODUCT_TYPES and line.quantity * line.unit_amount > 0 for line in lines):
            raise ValidationError(_("An order needs at least one product line with a price to pay."))

    def order_discounts(self, lines: list[LineInput], codes: list[str], request: Any) -> list[Discount]:
        """Order-level discounts for the customer's discount codes (docs/adapters.md).

        Raise ``django.core.exceptions.ValidationError`` for a code you do not accept
        (the storefront answers 400). Each returned discount is spread over the lines
        exactly; together they must not exceed the order. The default knows no codes.
        """
        if codes:
            raise ValidationError(_("Unknown discount code."))
        return []

    def gift_cards(self, order: Order, amount: int) -> list[GiftCard]:
        """A gift card paying part of ``amount`` (spec ``order.gift_cards``); default none."""
        return []

    # -- Orders API ------------------------------------------------------

    def draft_body(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        return {
            "options": {"split_draft": False},
            "order": {
                "order_id": order.dintero_order_id,
                "currency": order.currency,
                # No order.merchant_reference: Dintero's Orders docs do not show it; our
                # order_id is the reference (and the checkout merchant_reference).
                "items": [self.draft_item(line) for line in lines],
                **({"customer": {"email": order.email}} if order.email else {}),
            },
        }

    def draft_item(self, line: OrderLine) -> dict[str, Any]:
        return {
            "id": line.product_id or str(line.line_id),
            "line_id": line.line_id,
            "description": line.description,
            "quantity": line.quantity,
            "gross_amount": line.amount,
            "tax_lines": [{"amount": line.vat_amount, "percentage": _number(line.vat_percent)}],
        }

    # -- Checkout API ----------------------------------------------------

    def session_body(self, order: Order, payment: Payment, lines: list[OrderLine]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "profile_id": self.conf.PROFILE_ID,
            "url": {"return_url": self.return_url(order), "callback_url": self.callback_url(order)},
            "order": {
                "amount": payment.amount,
                "currency": payment.currency,
                "merchant_reference": order.dintero_order_id,
                "vat_amount": sum(line.vat_amount for line in lines),
                "items": [self.session_item(line) for line in lines],
            },
        }
        self.add_discounts(body["order"], order, payment.amount)
        if self.auto_capture(order, lines):
            body["configuration"] = {"auto_capture": True}
        if payment.expires_at:  # a payment link: Session.expires_at (spec: Session definition)
            body["expires_at"] = payment.expires_at.isoformat()
        return apply_customer(body, self.customer_details(order), self.phone_region)

    def auto_capture(self, order: Order, lines: list[OrderLine]) -> bool:
        """Let Dintero capture right after authorization (spec ``AutoCaptureConfiguration``).

        Default: never. A shop that delivers at once (all-digital orders, say) returns
        True; the capture then arrives like any capture made outside the app and is
        recorded once in the Orders API (docs/adapters.md, "Auto-capture").
        """
        return False

    def add_discounts(self, session_order: dict[str, Any], order: Order, amount: int) -> None:
        """Order-level ``discount_lines``, ``discount_codes`` and ``gift_cards`` (spec SessionOrder)."""
        if order.order_discounts:
            session_order["discount_lines"] = order.order_discounts
        if order.discount_codes:
            session_order["discount_codes"] = order.discount_codes
        cards = self.gift_cards(order, amount)
        check_gift_cards(cards, amount)
        if cards:
            session_order["gift_cards"] = [card.as_json() for card in cards]

    def customer_details(self, order: Order) -> CustomerDetails:
        """Who pays, to prefill the checkout (docs/adapters.md, "Prefilled customer").

        The default knows the email and phone the storefront stored. Override to add
        addresses, a customer id or ``customer_type="b2b"`` from the shop's own records;
        empty or invalid values are left out of the session for you.
        """
        return CustomerDetails(email=order.email, phone=order.phone)

    def session_item(self, line: OrderLine) -> dict[str, Any]:
        return {
            "id": line.product_id or str(line.line_id),
            "line_id": str(line.line_id),
            "description": line.description,
            "quantity": line.quantity,
            "amount": line.amount,
            "vat_amount": line.vat_amount,
            "vat": _number(line.vat_percent),
            "type": line.type if line.type != OrderLine.Type.SHIPPING else "shipping",
            **({"discount_lines": line.discount_lines} if line.discount_lines else {}),
        }

    # -- URLs ------------------------------------------------------------

    def checkout_language(self, django_language: str | None) -> str | None:
        """The checkout's language for the active Django language (None: Dintero's default)."""
        return dintero_language(django_language, self.checkout_languages)

    def checkout_url(self, payment: Payment, django_language: str | None) -> str:
        """The session URL the customer opens, in their language (a ``language`` query)."""
        return with_language(payment.session_url, self.checkout_language(django_language))

    def site_url(self) -> str:
        if self.conf.SITE_URL:
            return self.conf.SITE_URL
        raise DinteroConfigurationError(
            "Set DINTERO['SITE_URL'] (or CALLBACK_URL and RETURN_URL) so tasks can build URLs."
        )

    def callback_url(self, order: Order) -> str:
        base = self.conf.CALLBACK_URL or urljoin(self.site_url(), reverse("dintero_django:callback"))
        options: list[tuple[str, str]] = [("report_error", "true")]
        options += [("report_event", event) for event in ("CAPTURE", "REFUND", "VOID")]
        if self.conf.CALLBACK_DELAY:
            # Dintero's documented maximum (spec CallbackUrl); more is not honoured.
            delay = min(int(self.conf.CALLBACK_DELAY), MAX_CALLBACK_DELAY)
            options.append(("delay_callback", str(delay)))
        if self.conf.CALLBACK_METHOD == "POST":
            options.append(("method", "POST"))
        joiner = "&" if "?" in base else "?"
        return base + joiner + urlencode(options)

    def return_url(self, order: Order) -> str:
        return self.conf.RETURN_URL or urljoin(self.site_url(), reverse("dintero_django:return"))

    def result_url(self, order: Order) -> str:
        """Where the return view sends the customer after a payment attempt."""
        if self.conf.RESULT_URL:
            return self.conf.RESULT_URL.format(order=order.public_id)
        return reverse("dintero_django:result", kwargs={"public_id": order.public_id})


@cache
def adapter_class(path: str) -> type[DefaultOrderAdapter]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, DefaultOrderAdapter)):
        raise DinteroConfigurationError(f"DINTERO['ADAPTER'] {path!r} is not a DefaultOrderAdapter.")
    return cls


def get_adapter() -> DefaultOrderAdapter:
    conf = get_settings()
    return adapter_class(conf.ADAPTER)(conf)
