"""Checks of a session's prefilled customer (spec ``SessionCustomer``, ``OrderAddress``).

Only what the spec states is enforced: the fields are strings, an address's
``phone_number`` matches ``^\\+?\\d{5,15}$``, ``country`` is ISO 3166-1 alpha-2 and
``configuration.default_customer_type`` is ``b2c`` or ``b2b``.
"""

from __future__ import annotations

import re

from . import validation as v
from .routing import JSONDict, invalid

#: spec OrderAddress.phone_number.pattern
ADDRESS_PHONE = re.compile(r"^\+?\d{5,15}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CUSTOMER_FIELDS = ("customer_id", "email", "phone_number")
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "address_line",
    "address_line_2",
    "co_address",
    "business_name",
    "postal_code",
    "postal_place",
    "country",
    "phone_number",
    "email",
    "comment",
    "organization_number",
    "organization_type",
    "customer_reference",
    "cost_center",
)
CUSTOMER_TYPES = ("b2c", "b2b")


def check_customer(body: JSONDict) -> None:
    """Refuse a malformed ``customer``, order addresses or ``default_customer_type`` (400)."""
    customer = v.obj(body, "customer", "", required=False)
    if customer is not None:
        for key in CUSTOMER_FIELDS:
            v.string(customer, key, "customer", required=False)
    order = body.get("order")
    if isinstance(order, dict):
        for key in ("shipping_address", "billing_address"):
            address = v.obj(order, key, "order", required=False)
            if address is not None:
                _check_address(address, f"order.{key}")
    configuration = body.get("configuration")
    customer_type = configuration.get("default_customer_type") if isinstance(configuration, dict) else None
    if customer_type is not None and customer_type not in CUSTOMER_TYPES:
        raise invalid("configuration.default_customer_type", f"must be one of {list(CUSTOMER_TYPES)}")


def _check_address(address: JSONDict, path: str) -> None:
    for key in ADDRESS_FIELDS:
        v.string(address, key, path, required=False)
    v.number(address, "latitude", path)
    v.number(address, "longitude", path)
    phone = address.get("phone_number")
    if phone is not None and not ADDRESS_PHONE.match(phone):
        raise invalid(f"{path}.phone_number", "must match ^\\+?\\d{5,15}$ (E.123 with international prefix)")
    country = address.get("country")
    if country is not None and not COUNTRY.match(country):
        raise invalid(f"{path}.country", "must be an ISO 3166-1 alpha-2 code such as NO")
