"""Dintero Orders API (Order Management): drafts, orders and recorded payment facts."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from ..exceptions import DinteroClientError, DinteroNotFound
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

    # Dintero documents item calls to change a draft, not a whole-draft PUT (see
    # docs/emulator.md, "Orders API calls"). Each is idempotent: a retry after a lost
    # answer sets the same line again, or finds it gone (404).
    def add_draft_item(self, draft_id: str, item: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._root}/draft_orders/{_seg(draft_id)}/items"
        return dict(self.request("POST", path, json=item).data or {})

    def update_draft_item(self, draft_id: str, line_id: int, item: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._root}/draft_orders/{_seg(draft_id)}/items/{int(line_id)}"
        return dict(self.request("PUT", path, json=item, safe=True).data or {})

    def delete_draft_item(self, draft_id: str, line_id: int) -> dict[str, Any]:
        path = f"{self._root}/draft_orders/{_seg(draft_id)}/items/{int(line_id)}"
        return dict(self.request("DELETE", path, safe=True).data or {})

    def complete_draft(self, draft_id: str) -> list[dict[str, Any]]:
        path = f"{self._root}/draft_orders/{_seg(draft_id)}/complete"
        data = self.request("PUT", path, json={}).data
        return list(data.get("orders") or [])

    def order_exists(self, order_id: str) -> bool:
        """Whether the order exists, by the documented ``GET …/orders/{order_id}/events``.

        (``GET …/orders/{order_id}`` is not documented; the events list is.)
        """
        try:
            self.get(f"{self._root}/orders/{_seg(order_id)}/events")
        except DinteroNotFound:
            return False
        return True

    def list_operations(self, order_id: str, collection: OperationCollection) -> list[dict[str, Any]]:
        """Recorded operations. Listing cancellations is not documented: when it is refused,
        the order's documented events list gives the cancellations we posted."""
        path = f"{self._root}/orders/{_seg(order_id)}/{collection}"
        try:
            data = self.get(path).data
        except (DinteroNotFound, DinteroClientError) as error:
            if collection != "cancellations" or not _no_such_route(error):
                raise
            return self._posted_from_events(order_id, "cancel")
        return list((data or {}).get(collection) or [])

    def record_operation(
        self, order_id: str, collection: OperationCollection, body: dict[str, Any]
    ) -> ApiResponse:
        path = f"{self._root}/orders/{_seg(order_id)}/{collection}"
        try:
            return self.request("POST", path, json=body)
        except (DinteroNotFound, DinteroClientError) as error:
            # The API reference names the cancellation collection; the overview page writes
            # POST …/cancel. Whichever Dintero serves, a refused route moved nothing.
            if collection != "cancellations" or not _no_such_route(error):
                raise
            return self.request("POST", f"{self._root}/orders/{_seg(order_id)}/cancel", json=body)

    def _posted_from_events(self, order_id: str, marker: str) -> list[dict[str, Any]]:
        """Operations we posted, rebuilt from the order's api events (their request body)."""
        data = self.get(f"{self._root}/orders/{_seg(order_id)}/events").data or {}
        found = []
        for event in data.get("events") or []:
            request = event.get("request") or {}
            if request.get("method") != "POST" or marker not in str(request.get("path") or ""):
                continue
            try:
                body = json.loads(request.get("body") or "{}")
            except ValueError:
                continue
            if isinstance(body, dict):
                found.append({**body, "id": event.get("id")})
        return found


def _no_such_route(error: DinteroClientError) -> bool:
    """404 or 405: maybe the path is not served. (A 404 for a missing order fails the
    fallback call too, so the ambiguity costs one more refused call, never a move.)"""
    return error.status in (404, 405)
