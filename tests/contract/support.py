"""The contract suite's target and the payloads it sends.

Payloads come from the app's own adapter (``DefaultOrderAdapter.draft_body``,
``draft_item``, ``session_body``) over unsaved model instances, so the suite sends what
the app sends; calls go through the app's own clients. Item calls on drafts use the
documented paths (``POST …/draft_orders/{id}/items``, ``PUT`` / ``DELETE
…/items/{line_id}``, all [V] in dintero-orders-api.md §2).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import string
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from dintero_django.adapters import DefaultOrderAdapter
from dintero_django.client import CheckoutClient, OrdersClient
from dintero_django.models import Order, OrderLine, Payment

ENV_ACCOUNT = "DINTERO_CONTRACT_ACCOUNT_ID"
ENV_CLIENT_ID = "DINTERO_CONTRACT_CLIENT_ID"
ENV_CLIENT_SECRET = "DINTERO_CONTRACT_CLIENT_SECRET"
#: A session a person paid (real-Dintero mode), per purpose; see :meth:`Target.paid`.
ENV_PAID = "DINTERO_CONTRACT_PAID_{purpose}"
#: Dintero's published test card that skips the 3DS challenge
#: (docs.dintero.com/docs/checkout/checkout-testdata).
TEST_CARD = "4000 0000 0000 0002, any future expiry, any CVC"

#: The contract order: (line_id, description, quantity, unit amount, type).
LINES = (
    (1, "Stacking chair", 2, 19900, OrderLine.Type.PHYSICAL),
    (2, "Garden table", 1, 49900, OrderLine.Type.PHYSICAL),
    (3, "Shipping", 1, 9900, OrderLine.Type.SHIPPING),
)
TOTAL = sum(quantity * unit for _, _, quantity, unit, _ in LINES)


def real_dintero_requested() -> bool:
    return all(os.environ.get(name) for name in (ENV_ACCOUNT, ENV_CLIENT_ID, ENV_CLIENT_SECRET))


def new_order_id() -> str:
    """A fresh 9-character [A-Z0-9] order_id, as the app chooses one locally."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(9))


def make_line(order: Order, line_id: int, description: str, quantity: int, unit: int, kind: str) -> OrderLine:
    line = OrderLine(
        order=order,
        line_id=line_id,
        product_id=f"p{line_id}",
        description=description,
        quantity=quantity,
        unit_amount=unit,
        vat_percent=Decimal(25),
        type=kind,
    )
    line.amount = quantity * unit  # what OrderLine.save() computes
    return line


@dataclasses.dataclass
class ContractOrder:
    """An order as the app holds it (never saved: the suite needs no database)."""

    order: Order
    lines: list[OrderLine]

    @property
    def order_id(self) -> str:
        return str(self.order.dintero_order_id)

    def line(self, line_id: int) -> OrderLine:
        return next(line for line in self.lines if line.line_id == line_id)


@dataclasses.dataclass
class Target:
    """The API under contract: the emulator (``emulator`` set) or Dintero itself."""

    emulator: Any = None
    receiver: Any = None

    @property
    def real(self) -> bool:
        return self.emulator is None

    @property
    def orders(self) -> OrdersClient:
        return OrdersClient()

    @property
    def checkout(self) -> CheckoutClient:
        return CheckoutClient()

    @property
    def adapter(self) -> DefaultOrderAdapter:
        return DefaultOrderAdapter()

    # --- Orders API -----------------------------------------------------------------
    def new_order(self) -> ContractOrder:
        order = Order(currency="NOK", dintero_order_id=new_order_id())
        return ContractOrder(order, [make_line(order, *spec) for spec in LINES])

    def create_draft(self, contract: ContractOrder) -> dict[str, Any]:
        return self.orders.create_draft(self.adapter.draft_body(contract.order, contract.lines))

    def _items_path(self, draft_id: str, line_id: int | None = None) -> str:
        path = f"{self.orders._root}/draft_orders/{quote(draft_id, safe='')}/items"
        return path if line_id is None else f"{path}/{line_id}"

    def add_item(self, draft_id: str, line: OrderLine) -> dict[str, Any]:
        body = self.adapter.draft_item(line)
        return dict(self.orders.request("POST", self._items_path(draft_id), json=body).data)

    def update_item(self, draft_id: str, line: OrderLine) -> dict[str, Any]:
        body = self.adapter.draft_item(line)
        path = self._items_path(draft_id, line.line_id)
        return dict(self.orders.request("PUT", path, json=body).data)

    def delete_item(self, draft_id: str, line_id: int) -> dict[str, Any]:
        data = self.orders.request("DELETE", self._items_path(draft_id, line_id)).data
        return dict(data or {})

    def placed_order(self) -> tuple[ContractOrder, dict[str, Any]]:
        """A drafted and completed order: (ours, Dintero's order)."""
        contract = self.new_order()
        draft = self.create_draft(contract)
        [order] = self.orders.complete_draft(str(draft["id"]))
        return contract, order

    def record(self, order_id: str, collection: str, items: list[dict[str, Any]], payment_id: str) -> Any:
        body = {
            "items": items,
            "payment_details": {"payment_id": payment_id},
            "success": True,
            "processed_by": "dintero-checkout",
            "metadata": {"dintero_django_reference": f"contract-{secrets.token_hex(6)}"},
        }
        return self.orders.record_operation(order_id, collection, body)  # type: ignore[arg-type]

    # --- Checkout API ---------------------------------------------------------------
    def session_body(self, contract: ContractOrder) -> dict[str, Any]:
        payment = Payment(order=contract.order, amount=TOTAL, currency=contract.order.currency)
        return self.adapter.session_body(contract.order, payment, contract.lines)

    def create_session(self, contract: ContractOrder) -> dict[str, Any]:
        return self.checkout.create_session(self.session_body(contract))

    def paid(self, purpose: str) -> tuple[str, str]:
        """A placed order whose session is paid (AUTHORIZED): (order_id, transaction_id).

        Emulator: the control API pays. Dintero: a person pays a session this suite
        created in an earlier run; until then the caller skips with instructions.
        """
        if self.real:
            return self._paid_by_a_person(purpose)
        contract, order = self.placed_order()
        session = self.create_session(contract)
        result = self.emulator.control.pay(str(session["id"]), "AUTHORIZED")
        return str(order["order_id"]), str(result["transaction_id"])

    def _paid_by_a_person(self, purpose: str) -> tuple[str, str]:
        import pytest

        variable = ENV_PAID.format(purpose=purpose.upper())
        session_id = os.environ.get(variable)
        if not session_id:
            contract, _order = self.placed_order()
            session = self.create_session(contract)
            pytest.skip(
                f"Needs a payer (real-Dintero mode only): open {session['url']} , pay with "
                f"Dintero's test card {TEST_CARD}, then run again with {variable}={session['id']}"
            )
        session = self.checkout.get_session(session_id)
        transaction_id = session.get("transaction_id")
        assert transaction_id, f"{variable}={session_id} is not paid yet: pay it first"
        return str(session["order"]["merchant_reference"]), str(transaction_id)


def standard_line(line_id: int) -> OrderLine:
    """Line ``line_id`` of the contract order (the same in every contract order)."""
    return Target().new_order().line(line_id)


def line_item(line: OrderLine, quantity: int | None = None) -> dict[str, Any]:
    """A capture/refund line as the spec documents it: line_id (string), quantity, amount."""
    quantity = line.quantity if quantity is None else quantity
    return {"line_id": str(line.line_id), "quantity": quantity, "amount": quantity * line.unit_amount}


def record_item(line: OrderLine, quantity: int | None = None) -> dict[str, Any]:
    """An Orders-API operation line: integer line_id and amount (dintero-orders-api.md §3.6)."""
    item = line_item(line, quantity)
    return {"line_id": line.line_id, "amount": item["amount"]}
