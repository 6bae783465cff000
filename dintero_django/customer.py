"""The customer a checkout session is prefilled with: email, phone, addresses, B2B.

The adapter says who the customer is (:class:`CustomerDetails`); this module turns
that into the session body's ``customer`` and ``order.shipping_address`` /
``order.billing_address`` (spec ``SessionCustomer``, ``OrderAddress``). Every empty or
invalid value is left out, never sent as an empty string: Dintero's checkout
treats a present-but-empty field as given (a known breaker in Dintero's
WooCommerce plugin), so a missing phone is better than ``""``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

#: spec OrderAddress.phone_number pattern (E.164 satisfies it).
ADDRESS_PHONE = re.compile(r"^\+?\d{5,15}$")
#: spec OrderAddress.country: format iso3166-alpha2.
COUNTRY = re.compile(r"^[A-Z]{2}$")

CustomerType = Literal["b2c", "b2b"]


class InvalidPhone(ValueError):
    """A phone number that cannot be read as a valid number (storefront: a 400)."""


@dataclass(frozen=True)
class Address:
    """One address as the spec's ``OrderAddress`` has it; empty strings mean "unknown"."""

    first_name: str = ""
    last_name: str = ""
    address_line: str = ""
    address_line_2: str = ""
    co_address: str = ""
    business_name: str = ""
    postal_code: str = ""
    postal_place: str = ""
    country: str = ""
    phone_number: str = ""
    email: str = ""
    organization_number: str = ""
    organization_type: str = ""
    customer_reference: str = ""
    cost_center: str = ""


@dataclass(frozen=True)
class CustomerDetails:
    """Who pays: what the adapter knows. ``customer_type`` "b2b" opens the checkout as a
    business customer (spec ``configuration.default_customer_type``)."""

    email: str = ""
    phone: str = ""
    customer_id: str = ""
    shipping_address: Address | None = None
    billing_address: Address | None = None
    customer_type: CustomerType | None = None


def normalise_phone(raw: str, region: str) -> str:
    """``raw`` as E.164 (``+4799999999``); national numbers are read in ``region``.

    Raises :class:`InvalidPhone` for text that is not a valid number.
    """
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(_("Enter a valid phone number, such as +47 999 99 999.")) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_("Enter a valid phone number, such as +47 999 99 999."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(raw: str, region: str) -> str | None:
    """E.164 or None: an invalid number is left out of the session."""
    if not raw.strip():
        return None
    try:
        return normalise_phone(raw, region)
    except InvalidPhone:
        return None


def email_or_none(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def session_customer(details: CustomerDetails, region: str) -> dict[str, str]:
    """The session's ``customer`` object: only the fields we have and trust."""
    body: dict[str, str] = {}
    if email := email_or_none(details.email):
        body["email"] = email
    if phone := phone_or_none(details.phone, region):
        body["phone_number"] = phone
    if details.customer_id.strip():
        body["customer_id"] = details.customer_id.strip()
    return body


def order_address(address: Address | None, region: str) -> dict[str, str] | None:
    """An ``OrderAddress`` without empty or invalid fields; None when nothing is left."""
    if address is None:
        return None
    body = {key: value.strip() for key, value in asdict(address).items() if value.strip()}
    if "country" in body:
        body["country"] = body["country"].upper()
        if not COUNTRY.match(body["country"]):
            body.pop("country")
    if "phone_number" in body:
        phone = phone_or_none(body.pop("phone_number"), body.get("country") or region)
        if phone and ADDRESS_PHONE.match(phone):
            body["phone_number"] = phone
    if "email" in body and not email_or_none(body["email"]):
        body.pop("email")
    return body or None


def apply_customer(body: dict[str, Any], details: CustomerDetails, region: str) -> dict[str, Any]:
    """Add the customer to a session body in place (and return it)."""
    customer = session_customer(details, region)
    if customer:
        body["customer"] = customer
    for key in ("shipping_address", "billing_address"):
        address = order_address(getattr(details, key), region)
        if address:
            body["order"][key] = address
    if details.customer_type in ("b2c", "b2b"):
        body.setdefault("configuration", {})["default_customer_type"] = details.customer_type
    return body
