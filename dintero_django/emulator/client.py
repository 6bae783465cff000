"""``EmulatorControl``: a typed Python client of the ``/_emulator/`` control API.

Works against any running emulator (``EmulatorControl("http://127.0.0.1:8765")``),
in-process or in another process / container.
"""

from __future__ import annotations

from typing import Any, TypedDict

import requests

JSONDict = dict[str, Any]


class EmulatorControlError(RuntimeError):
    """The control API answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"emulator control API answered {status}: {message}")
        self.status = status
        self.body = body


class PayResult(TypedDict):
    transaction_id: str | None
    redirect_url: str | None


class WaitResult(TypedDict):
    idle: bool
    scheduled: int
    busy: int
    pending_operations: int


class EmulatorControl:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        # The emulator is local; never send control calls through an HTTP proxy.
        self._http.trust_env = False

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        body: JSONDict | None = None,
        *,
        params: JSONDict | None = None,
        timeout: float | None = None,
    ) -> Any:
        response = self._http.request(
            method,
            f"{self.url}/_emulator{path}",
            json=body,
            params=params,
            timeout=timeout or self.timeout,
        )
        data = response.json() if response.content else None
        if response.status_code >= 400:
            raise EmulatorControlError(response.status_code, data)
        return data

    # --- customer side --------------------------------------------------------------
    def health(self) -> JSONDict:
        result: JSONDict = self._call("GET", "/health")
        return result

    def pay(
        self,
        session_id: str,
        outcome: str = "AUTHORIZED",
        *,
        payment_product_type: str | None = None,
    ) -> PayResult:
        """Finish checkout as the customer: AUTHORIZED, CAPTURED (auto-capture), ON_HOLD,
        DECLINED, FAILED, CANCELLED or INITIATED (stopped half way)."""
        body: JSONDict = {"outcome": outcome}
        if payment_product_type is not None:
            body["payment_product_type"] = payment_product_type
        result: PayResult = self._call("POST", f"/sessions/{session_id}/pay", body)
        return result

    def resolve(self, transaction_id: str, outcome: str = "AUTHORIZED") -> JSONDict:
        """Move an ON_HOLD (or INITIATED) transaction on; sends the second callback."""
        result: JSONDict = self._call("POST", f"/transactions/{transaction_id}/resolve", {"outcome": outcome})
        return result

    # --- Backoffice -----------------------------------------------------------------
    def _backoffice(self, kind: str, transaction_id: str, amount: int | None) -> JSONDict:
        body = {} if amount is None else {"amount": amount}
        result: JSONDict = self._call("POST", f"/transactions/{transaction_id}/{kind}", body)
        return result

    def backoffice_capture(self, transaction_id: str, amount: int | None = None) -> JSONDict:
        return self._backoffice("capture", transaction_id, amount)

    def backoffice_refund(self, transaction_id: str, amount: int | None = None) -> JSONDict:
        return self._backoffice("refund", transaction_id, amount)

    def backoffice_void(self, transaction_id: str) -> JSONDict:
        return self._backoffice("void", transaction_id, None)

    # --- logs and synchronisation ---------------------------------------------------
    def requests_log(self, *, operation: str | None = None, since: int = 0) -> list[JSONDict]:
        params: JSONDict = {"since": since}
        if operation:
            params["operation"] = operation
        entries: list[JSONDict] = self._call("GET", "/requests", params=params)["requests"]
        return entries

    def callbacks_log(self, *, since: int = 0) -> list[JSONDict]:
        entries: list[JSONDict] = self._call("GET", "/callbacks", params={"since": since})["callbacks"]
        return entries

    def wait_callbacks(self, timeout: float = 10.0, *, raise_on_timeout: bool = True) -> WaitResult:
        """Block until no callback is being delivered or due; delayed ones are counted
        in ``scheduled`` (advance the clock to release them)."""
        result: WaitResult = self._call(
            "POST", "/callbacks/wait", {"timeout": timeout}, timeout=timeout + self.timeout
        )
        if raise_on_timeout and not result["idle"]:
            raise TimeoutError(f"callbacks still busy after {timeout} s: {result}")
        return result

    # --- state, clock, config -------------------------------------------------------
    def reset(self, *, keep_config: bool = False) -> None:
        self._call("POST", "/reset", {"keep_config": keep_config})

    def clock(self) -> JSONDict:
        result: JSONDict = self._call("GET", "/clock")
        return result

    def advance_clock(self, seconds: float) -> JSONDict:
        result: JSONDict = self._call("POST", "/clock/advance", {"seconds": seconds})
        return result

    def config(self, **changes: Any) -> JSONDict:
        """Read the config knobs, or change some (``config(orders_strict=False)``)."""
        if changes:
            result: JSONDict = self._call("POST", "/config", changes)
        else:
            result = self._call("GET", "/config")
        return result

    def state(self) -> JSONDict:
        result: JSONDict = self._call("GET", "/state")
        return result

    def transaction(self, transaction_id: str) -> JSONDict:
        result: JSONDict = self._call("GET", f"/transactions/{transaction_id}")
        return result

    def session(self, session_id: str) -> JSONDict:
        result: JSONDict = self._call("GET", f"/sessions/{session_id}")
        return result

    def order(self, order_id: str) -> JSONDict:
        result: JSONDict = self._call("GET", f"/orders/{order_id}")
        return result

    # --- faults and 202 operations --------------------------------------------------
    def add_fault(self, operation: str, action: str, **options: Any) -> JSONDict:
        """Register a fault, e.g. ``add_fault("capture", "timeout_after", hang=2, times=1)``."""
        result: JSONDict = self._call(
            "POST", "/faults", {"operation": operation, "action": action, **options}
        )
        return result

    def faults(self) -> list[JSONDict]:
        entries: list[JSONDict] = self._call("GET", "/faults")["faults"]
        return entries

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def operations(self) -> list[str]:
        names: list[str] = self._call("GET", "/operations")["operations"]
        return names

    def pending(self) -> list[JSONDict]:
        entries: list[JSONDict] = self._call("GET", "/pending")["pending"]
        return entries

    def complete_pending(self, request_id: str | None = None) -> list[JSONDict]:
        body = {} if request_id is None else {"request_id": request_id}
        events: list[JSONDict] = self._call("POST", "/pending/complete", body)["completed"]
        return events
