"""Dintero Orders API (Order Management): drafts, orders and recorded payment facts."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from .base import ApiResponse, BaseClient

#: The Orders API collections we record payment facts in.
OperationCollection = Literal["authorizations", "captures", "refunds", "cancellations"]


def _seg(value: str) -> str:
    return quote(value, safe="")


class OrdersClient(BaseClient):
    base_setting = "API_URL"

    @property
    def _root(self) -> str:
        return f"/v1/accounts/{_seg(self.conf.ACCOUNT_ID)}/shopping"

    def create_draft(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", f"{self._root}/draft_orders", json=body).data)

    def get_draft(self, draft_id: str) -> dict[str, Any]:
        return dict(self.get(f"{self._root}/draft_orders/{_seg(draft_id)}").data)

    def update_draft(self, draft_id: str, body: dict[str, Any]) -> dict[str, Any]:
        # A whole-draft PUT replaces the draft; resending it is harmless.
        response = self.request("PUT", f"{self._root}/draft_orders/{_seg(draft_id)}", json=body, safe=True)
        return dict(response.data)

    def complete_draft(self, draft_id: str) -> list[dict[str, Any]]:
        path = f"{self._root}/draft_orders/{_seg(draft_id)}/complete"
        data = self.request("PUT", path, json={}).data
        return list(data.get("orders") or [])

    def get_order(self, order_id: str) -> dict[str, Any]:
        return dict(self.get(f"{self._root}/orders/{_seg(order_id)}").data)

    def list_operations(self, order_id: str, collection: OperationCollection) -> list[dict[str, Any]]:
        data = self.get(f"{self._root}/orders/{_seg(order_id)}/{collection}").data
        return list((data or {}).get(collection) or [])

    def record_operation(
        self, order_id: str, collection: OperationCollection, body: dict[str, Any]
    ) -> ApiResponse:
        return self.request("POST", f"{self._root}/orders/{_seg(order_id)}/{collection}", json=body)
