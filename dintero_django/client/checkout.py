"""Dintero Checkout API: sessions and transactions (where money moves)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import ApiResponse, BaseClient


def _seg(value: str) -> str:
    return quote(value, safe="")


class CheckoutClient(BaseClient):
    base_setting = "CHECKOUT_URL"

    def create_session(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", "/v1/sessions-profile", json=body).data)

    def get_session(self, session_id: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/sessions/{_seg(session_id)}").data)

    def cancel_session(self, session_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/sessions/{_seg(session_id)}/cancel").data or {})

    def get_transaction(self, transaction_id: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/transactions/{_seg(transaction_id)}").data)

    def find_transactions(self, **filters: str) -> list[dict[str, Any]]:
        """``merchant_reference=`` or ``session_id=``; newest first as Dintero lists them."""
        return list(self.get("/v1/transactions", params={**filters, "limit": "100"}).data or [])

    # Money moves: never retried here. The caller records intent first and reads
    # the transaction's events after an unknown outcome (see services.money).
    def capture(self, transaction_id: str, body: dict[str, Any]) -> ApiResponse:
        return self.request("POST", f"/v1/transactions/{_seg(transaction_id)}/capture", json=body)

    def refund(self, transaction_id: str, body: dict[str, Any]) -> ApiResponse:
        return self.request("POST", f"/v1/transactions/{_seg(transaction_id)}/refund", json=body)

    def void(self, transaction_id: str) -> ApiResponse:
        return self.request("POST", f"/v1/transactions/{_seg(transaction_id)}/void")
