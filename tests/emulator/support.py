"""Test helpers: an authenticated API client for the emulator and a callback receiver."""

from __future__ import annotations

import copy
import dataclasses
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from dintero_django.emulator import Emulator

JSON = dict[str, Any]

SESSION_ORDER: JSON = {
    "amount": 49700,
    "currency": "NOK",
    "merchant_reference": "order-1",
    "vat_amount": 9940,
    "items": [
        {
            "id": "chair",
            "line_id": "1",
            "description": "Stacking chair",
            "quantity": 2,
            "amount": 19900,
            "vat_amount": 3980,
            "vat": 25,
        },
        {
            "id": "table",
            "line_id": "2",
            "description": "Garden table",
            "quantity": 1,
            "amount": 19900,
            "vat_amount": 3980,
            "vat": 25,
        },
    ],
    "shipping_option": {
        "id": "bring",
        "line_id": "ship",
        "amount": 9900,
        "vat_amount": 1980,
        "vat": 25,
        "operator": "Bring",
        "title": "Home delivery",
    },
}

SESSION_TOTAL = 49700


# How to bring a fresh transaction into each status.
SETUPS: dict[str, tuple[str, list[tuple[str, int | None]]]] = {
    "INITIATED": ("INITIATED", []),
    "ON_HOLD": ("ON_HOLD", []),
    "AUTHORIZED": ("AUTHORIZED", []),
    "PARTIALLY_CAPTURED": ("AUTHORIZED", [("capture", 10000)]),
    "CAPTURED": ("AUTHORIZED", [("capture", SESSION_TOTAL)]),
    "PARTIALLY_CAPTURED_REFUNDED": ("AUTHORIZED", [("capture", 10000), ("refund", 4000)]),
    "PARTIALLY_REFUNDED": ("AUTHORIZED", [("capture", SESSION_TOTAL), ("refund", 4000)]),
    "REFUNDED": ("AUTHORIZED", [("capture", SESSION_TOTAL), ("refund", SESSION_TOTAL)]),
    "AUTHORIZATION_VOIDED": ("AUTHORIZED", [("void", None)]),
    "DECLINED": ("DECLINED", []),
    "FAILED": ("FAILED", []),
}


DRAFT_BODY: JSON = {
    "options": {"generate_order_id": "ALPHANUMERIC_9"},
    "order": {
        "currency": "NOK",
        "merchant_reference": "shop-1",
        "items": [
            {
                "id": "chair",
                "line_id": 1,
                "quantity": 2,
                "gross_amount": 39800,
                "tax_lines": [{"amount": 7960, "percentage": 25}],
                "description": "Stacking chair",
            },
            {
                "id": "table",
                "line_id": 2,
                "quantity": 1,
                "gross_amount": 49900,
                "tax_lines": [{"amount": 9980, "percentage": 25}],
                "description": "Garden table",
            },
        ],
    },
}


class Api:
    """Talks to the emulator like a merchant would (token, then Bearer calls)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.url = emulator.url
        self.http = requests.Session()
        self.http.trust_env = False
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    @property
    def shopping(self) -> str:
        return f"/v1/accounts/{self.emulator.account_id}/shopping"

    def token_response(
        self,
        *,
        auth: tuple[str, str] | None = None,
        body: JSON | None = None,
        account: str | None = None,
    ) -> requests.Response:
        account = account or self.emulator.account_id
        return self.http.post(
            f"{self.url}/v1/accounts/{account}/auth/token",
            auth=auth or (self.emulator.client_id, self.emulator.client_secret),
            json=body
            if body is not None
            else {
                "grant_type": "client_credentials",
                "audience": f"https://api.dintero.com/v1/accounts/{account}",
            },
            timeout=10,
        )

    def token(self) -> str:
        if self._token is None:
            response = self.token_response()
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.token()}")
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # --- checkout ---------------------------------------------------------------------
    @staticmethod
    def session_body(*, callback_url: str | None = None, order: JSON | None = None, **extra: Any) -> JSON:
        body: JSON = {
            "profile_id": "default",
            "url": {"return_url": "https://shop.example.com/return?lang=nb"},
            "order": copy.deepcopy(order or SESSION_ORDER),
            **extra,
        }
        if callback_url is not None:
            body["url"]["callback_url"] = callback_url
        return body

    def create_session(self, **kwargs: Any) -> str:
        headers = kwargs.pop("headers", None)
        response = self.post("/v1/sessions-profile", json=self.session_body(**kwargs), headers=headers)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def paid(self, outcome: str = "AUTHORIZED", **kwargs: Any) -> str:
        session_id = self.create_session(**kwargs)
        result = self.emulator.control.pay(session_id, outcome)
        assert result["transaction_id"] is not None
        return result["transaction_id"]

    def transaction(self, transaction_id: str) -> JSON:
        response = self.get(f"/v1/transactions/{transaction_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def capture(
        self, transaction_id: str, amount: int, *, timeout: float = 10, **extra: Any
    ) -> requests.Response:
        return self.post(
            f"/v1/transactions/{transaction_id}/capture",
            json={"amount": amount, **extra},
            timeout=timeout,
        )

    def refund(
        self, transaction_id: str, amount: int, *, timeout: float = 10, **extra: Any
    ) -> requests.Response:
        return self.post(
            f"/v1/transactions/{transaction_id}/refund",
            json={"amount": amount, **extra},
            timeout=timeout,
        )

    def void(self, transaction_id: str) -> requests.Response:
        return self.post(f"/v1/transactions/{transaction_id}/void")

    # --- orders -----------------------------------------------------------------------
    def create_draft(self, body: JSON | None = None) -> JSON:
        response = self.post(f"{self.shopping}/draft_orders", json=body or copy.deepcopy(DRAFT_BODY))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def complete(self, draft_id: str) -> requests.Response:
        return self.put(f"{self.shopping}/draft_orders/{draft_id}/complete", json={})

    def create_order(self, body: JSON | None = None) -> JSON:
        draft = self.create_draft(body)
        response = self.complete(draft["id"])
        assert response.status_code == 200, response.text
        return dict(response.json()["orders"][0])

    def order_op(
        self, order_id: str, kind: str, items: list[tuple[int, int]], **extra: Any
    ) -> requests.Response:
        body = {
            "items": [{"line_id": line, "amount": amount} for line, amount in items],
            "payment_details": {"payment_id": "T12345678.xyz"},
            "success": True,
            **extra,
        }
        return self.post(f"{self.shopping}/orders/{order_id}/{kind}", json=body)


@dataclasses.dataclass
class Received:
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


HANG = -1  # a "status" that makes the receiver hang until released (max 10 s)


class Receiver:
    """A tiny threaded HTTP server on 127.0.0.1 that records every callback it gets.

    ``respond(503, 503, 200)`` sets the statuses of the next requests (then 200 again);
    ``HANG`` makes one request hang, so the emulator's callback timeout fires.
    """

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        self.log: list[Received] = []
        self._statuses: list[int] = []
        self._lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                host = self.headers["Host"]
                item = Received(
                    method=self.command,
                    url=f"http://{host}{self.path}",
                    path=urlsplit(self.path).path,
                    query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                status = receiver._next_status()
                with receiver._lock:
                    receiver.log.append(item)
                receiver.received.put(item)
                if status == HANG:
                    receiver.release.wait(10)
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def respond(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if self._statuses else 200

    def next(self, timeout: float = 10) -> Received:
        return self.received.get(timeout=timeout)

    def count(self) -> int:
        with self._lock:
            return len(self.log)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def operate(api: Api, transaction_id: str, operation: str, amount: int | None) -> requests.Response:
    if operation == "void":
        return api.void(transaction_id)
    if operation == "capture":
        return api.capture(transaction_id, amount or 1000)
    return api.refund(transaction_id, amount or 1000)


def bring_to(api: Api, status: str) -> str:
    outcome, steps = SETUPS[status]
    transaction_id = api.paid(outcome)
    for operation, amount in steps:
        response = operate(api, transaction_id, operation, amount)
        assert response.status_code == 200, response.text
    assert api.transaction(transaction_id)["status"] == status
    return transaction_id
