"""In-memory state: the virtual clock, id generators and the records behind the API.

Every record lives in one :class:`Store` guarded by one re-entrant lock. Handlers hold
the lock for the whole read-check-write of a request, which is what makes parallel
captures on one transaction safe; nothing slow (HTTP, sleeping) happens under it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

JSONDict = dict[str, Any]

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ORDER_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Clock:
    """Wall-clock time plus an offset that tests move forward with ``advance``.

    Token expiry, ``delay_callback``, scheduled work and resource timestamps all read
    this clock, so a test can jump four hours without sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        self._notify()
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
        self._notify()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every jump (the scheduler re-checks what is due)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def iso(self, timestamp: float | None = None) -> str:
        return iso(self.now() if timestamp is None else timestamp)


def iso(timestamp: float) -> str:
    """RFC 3339 UTC with milliseconds, like Dintero's ``2019-01-18T13:13:37.175Z``."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Parse an ISO 8601 date-time (naive means UTC) into a timestamp."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def checkout_id(account_id: str) -> str:
    """Session / transaction id: ``{account}.{22 base58 chars}``."""
    return f"{account_id}." + "".join(secrets.choice(BASE58) for _ in range(22))


def new_uuid() -> str:
    return str(uuid.uuid4())


def alphanumeric_9() -> str:
    return "".join(secrets.choice(ORDER_ID_ALPHABET) for _ in range(9))


@dataclasses.dataclass
class Token:
    client_id: str
    account_id: str
    expires_at: float


@dataclasses.dataclass
class Draft:
    id: str
    options: JSONDict
    order: JSONDict
    created_at: float
    updated_at: float
    created_by: str
    completed_at: float | None = None
    order_ids: list[str] = dataclasses.field(default_factory=list)
    events: list[JSONDict] = dataclasses.field(default_factory=list)


OPERATION_KINDS = ("authorizations", "captures", "refunds", "cancellations")


@dataclasses.dataclass
class Order:
    id: str
    order_id: str
    draft_id: str
    data: JSONDict
    created_at: float
    updated_at: float
    created_by: str
    status: str = "open"
    operations: dict[str, list[JSONDict]] = dataclasses.field(
        default_factory=lambda: {kind: [] for kind in OPERATION_KINDS}
    )
    events: list[JSONDict] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Session:
    id: str
    body: JSONDict
    created_at: float
    updated_at: float
    expires_at: float
    system_headers: dict[str, str]
    created_by: str
    events: list[JSONDict] = dataclasses.field(default_factory=list)
    transaction_id: str | None = None
    cancelled_at: float | None = None
    cancelled_by: str | None = None
    #: What the customer did on the payment page ("CANCELLED", "AUTHORIZED", ...).
    outcome: str | None = None


@dataclasses.dataclass
class Transaction:
    id: str
    session_id: str
    created_at: float
    updated_at: float
    status: str
    amount: int
    currency: str
    merchant_reference: str
    payment_product_type: str
    items: list[JSONDict]
    session_body: JSONDict
    system_headers: dict[str, str]
    redirect_url: str
    events: list[JSONDict] = dataclasses.field(default_factory=list)
    captured: int = 0
    refunded: int = 0
    voided: int = 0
    #: Amounts accepted with 202 but not completed yet (count against the limits).
    reserved_capture: int = 0
    reserved_refund: int = 0
    line_captured: dict[str, int] = dataclasses.field(default_factory=dict)
    line_refunded: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def callback_url(self) -> str | None:
        url = self.session_body.get("url", {}).get("callback_url")
        return url if isinstance(url, str) else None


@dataclasses.dataclass
class PendingOperation:
    """A capture/refund/void answered 202 and completed later."""

    request_id: str
    transaction_id: str
    kind: str
    amount: int
    items: list[JSONDict] | None
    reference: str | None
    metadata: JSONDict | None
    created_by: str
    accepted_at: float
    due: float | None


class Store:
    """Every record of one emulator, guarded by :attr:`lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, Token] = {}
        self.drafts: dict[str, Draft] = {}
        self.orders: dict[str, Order] = {}
        self.order_index: dict[str, str] = {}
        self.sessions: dict[str, Session] = {}
        self.transactions: dict[str, Transaction] = {}
        self.pending: dict[str, PendingOperation] = {}

    def reset(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.drafts.clear()
            self.orders.clear()
            self.order_index.clear()
            self.sessions.clear()
            self.transactions.clear()
            self.pending.clear()

    def find_order(self, key: str) -> Order | None:
        """Look an order up by ``order_id`` first, then by its uuid ``id``."""
        order_uuid = self.order_index.get(key, key)
        return self.orders.get(order_uuid)
