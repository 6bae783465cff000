"""Fault injection: which request (or callback) misbehaves, and how.

A fault names an operation (see :data:`OPERATIONS`, ``*`` for every API operation, or
``callback``), an action, and a selector: ``skip`` the first N matching calls, then hit
at most ``times`` of them (unlimited when omitted), each with probability ``rate``
drawn from ``random.Random(seed)``. Every registered fault counts every matching call,
so the same sequence of calls always yields the same faults. When several faults pick
one call, the one registered first wins.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from collections.abc import Mapping
from typing import Any

#: Stable operation names (also used in the request log).
OPERATIONS: tuple[str, ...] = (
    "token",
    "draft_create",
    "draft_list",
    "draft_get",
    "draft_update",
    "draft_item_add",
    "draft_item_update",
    "draft_item_delete",
    "draft_complete",
    "order_get",
    "order_events",
    "order_op_create",
    "order_op_list",
    "order_op_get",
    "session_create",
    "session_get",
    "session_cancel",
    "transaction_get",
    "transaction_list",
    "capture",
    "refund",
    "void",
    "page_view",
    "page_submit",
)

#: Actions that act on an HTTP request, applied before or after the handler runs.
HTTP_ACTIONS = (
    "latency",
    "error_before",
    "error_after",
    "timeout_before",
    "timeout_after",
    "reset_before",
    "reset_after",
    "rate_limit",
    "accept_202",
)
CALLBACK_ACTIONS = ("duplicate", "reorder", "delay", "drop")
ASYNC_OPERATIONS = ("capture", "refund", "void")

_FIELDS = {
    "operation",
    "action",
    "times",
    "skip",
    "rate",
    "seed",
    "status",
    "seconds",
    "hang",
    "retry_after",
    "complete_after",
    "copies",
}


class FaultError(ValueError):
    """A fault specification that does not make sense."""


@dataclasses.dataclass
class Fault:
    id: int
    operation: str
    action: str
    times: int | None = None
    skip: int = 0
    rate: float | None = None
    seed: int | None = None
    #: error_before / error_after status (500 or 503).
    status: int = 500
    #: latency (added delay) and callback delay, in seconds.
    seconds: float = 0.0
    #: timeout_*: how long the connection hangs before it is closed without an answer.
    hang: float = 5.0
    #: rate_limit: value of the Retry-After header.
    retry_after: int = 1
    #: accept_202: complete the operation after this many (virtual) seconds; None means
    #: only on ``POST /_emulator/pending/complete``.
    complete_after: float | None = None
    #: duplicate: how many copies are delivered in total.
    copies: int = 2
    seen: int = 0
    fired: int = 0
    _rng: random.Random = dataclasses.field(default_factory=random.Random, repr=False)

    def matches(self, operation: str) -> bool:
        if self.operation == "*":
            return operation != "callback"
        return self.operation == operation

    def select(self) -> bool:
        """Count one matching call and tell whether this fault hits it."""
        self.seen += 1
        # Draw on every matching call (not only eligible ones) so the outcome of call N
        # depends only on N and the seed.
        draw = self._rng.random() if self.rate is not None else 0.0
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        return self.rate is None or draw < self.rate

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("_rng")
        return data


class FaultRegistry:
    """Thread-safe list of active faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = build_fault(next(self._ids), spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [fault for fault in self._faults if fault.id != fault_id]
            return len(self._faults) != before

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_dict() for fault in self._faults]

    def pick(self, operation: str) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            if not self._faults:
                return None
            for fault in self._faults:
                if not fault.matches(operation) or not fault.select():
                    continue
                if chosen is None:
                    chosen = fault
                    fault.fired += 1
            if chosen is not None:
                # Hand out a snapshot: the handler reads it after the lock is released.
                return dataclasses.replace(chosen)
        return None


def build_fault(fault_id: int, spec: Mapping[str, Any]) -> Fault:
    unknown = set(spec) - _FIELDS
    if unknown:
        raise FaultError(f"unknown fault fields {sorted(unknown)}")
    operation = _string(spec, "operation")
    action = _string(spec, "action")
    _check_pair(operation, action)
    fault = Fault(
        id=fault_id,
        operation=operation,
        action=action,
        times=_optional_int(spec, "times", minimum=0),
        skip=_optional_int(spec, "skip", minimum=0) or 0,
        rate=_optional_number(spec, "rate", maximum=1.0),
        seed=_optional_int(spec, "seed"),
        status=_status(spec, action),
        seconds=_optional_number(spec, "seconds") or 0.0,
        hang=_number_or(spec, "hang", 5.0),
        retry_after=_optional_int(spec, "retry_after", minimum=0) or 1,
        complete_after=_optional_number(spec, "complete_after"),
        copies=_optional_int(spec, "copies", minimum=1) or 2,
    )
    fault._rng = random.Random(fault.seed)
    return fault


def _check_pair(operation: str, action: str) -> None:
    if operation == "callback":
        if action not in CALLBACK_ACTIONS:
            raise FaultError(f"callback faults are {list(CALLBACK_ACTIONS)}, not {action!r}")
        return
    if operation != "*" and operation not in OPERATIONS:
        raise FaultError(f"unknown operation {operation!r}; known: {list(OPERATIONS)}")
    if action not in HTTP_ACTIONS:
        raise FaultError(f"unknown action {action!r} for an API operation")
    if action == "accept_202" and operation not in ASYNC_OPERATIONS:
        raise FaultError(f"accept_202 applies to {list(ASYNC_OPERATIONS)} only")


def _status(spec: Mapping[str, Any], action: str) -> int:
    status = _optional_int(spec, "status")
    if status is None:
        return 500
    if action in ("error_before", "error_after") and not 400 <= status <= 599:
        raise FaultError("status must be an HTTP error status (400-599)")
    return status


def _string(spec: Mapping[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise FaultError(f"{name} is required (a string)")
    return value


def _optional_int(spec: Mapping[str, Any], name: str, minimum: int | None = None) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultError(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise FaultError(f"{name} must be >= {minimum}")
    return value


def _optional_number(spec: Mapping[str, Any], name: str, maximum: float | None = None) -> float | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    if value < 0 or (maximum is not None and value > maximum):
        raise FaultError(f"{name} is out of range")
    return float(value)


def _number_or(spec: Mapping[str, Any], name: str, default: float) -> float:
    value = _optional_number(spec, name)
    return default if value is None else value
