"""Callbacks as Dintero sends them, delivered by the scheduler's worker thread.

What the merchant's ``callback_url`` may ask for (options stay in the URL we call):
``method=POST`` (transaction JSON as body), ``report_error=true``, ``report_event=``
CAPTURE/REFUND/VOID (repeatable), ``delay_callback=<s>`` (capped), ``includes=session``
and ``sid_parameter_name``. Only HTTPS URLs to a public host are called, as Dintero
does; others are logged as ``skipped`` unless ``callback_allow_http`` (tests). We
append ``transaction_id``, ``session_id`` (or its renamed form), ``merchant_reference``,
``time`` and, when relevant, ``error``, ``event`` and ``event_id``.

Delivery semantics (documented in docs/emulator.md):

* one ``event-delivery`` id per logical delivery; its retries keep that id, so a
  receiver can recognise a retry. Copies made by the ``duplicate`` fault get fresh ids
  by default (``callback_duplicate_delivery_id``), like two independent sends.
* retried on 5xx, 100-101, timeouts and connection errors, up to
  ``callback_max_retries`` times; never after a 4xx; 2xx/3xx end the delivery.
* ``Dintero-Signature`` is computed per attempt over the exact URL called.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING

import requests

from dintero_django.signature import signature_header

from .config import allows
from .state import JSONDict, Session, Transaction
from .urls import append_query, query_value, query_values
from .validation import callback_undeliverable
from .views import transaction_json

if TYPE_CHECKING:
    from .faults import Fault
    from .runtime import Runtime
    from .scheduler import Task, TaskBody

USER_AGENT = "Dintero-Emulator (dintero-django)"
REPORTABLE_EVENTS = ("CAPTURE", "REFUND", "VOID")


@dataclasses.dataclass
class Delivery:
    callback_id: int
    delivery_id: str
    kind: str
    url: str
    method: str
    body: bytes | None
    meta: JSONDict
    attempts: int = 0
    was_held: bool = False


def _is_retryable_status(status: int) -> bool:
    return status in (100, 101) or 500 <= status <= 599


class CallbackService:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._ids = itertools.count(1)
        self._local = threading.local()

    # --- what triggers a callback --------------------------------------------------
    def payment(
        self,
        session: Session,
        transaction: Transaction | None,
        error: str | None,
        *,
        always: bool = False,
    ) -> None:
        """After checkout ends; errors only with ``report_error=true`` unless ``always``.

        ``always`` is for the second callback of an ON_HOLD transaction, which Dintero
        sends whatever the outcome.
        """
        url = session.body.get("url", {}).get("callback_url")
        if not isinstance(url, str):
            return
        if error and not always and (query_value(url, "report_error") or "").lower() != "true":
            return
        params = self._base_params(session, transaction)
        if error:
            params.append(("error", error))
        self._enqueue(url, params, "payment", transaction)

    def event(self, session: Session, transaction: Transaction, event: JSONDict) -> None:
        """After CAPTURE / REFUND / VOID, when the URL asks with ``report_event``."""
        url = session.body.get("url", {}).get("callback_url")
        if not isinstance(url, str):
            return
        name = str(event.get("event"))
        commas = allows(self._rt.config, "report_event_comma_separated")
        if name not in REPORTABLE_EVENTS or name not in query_values(url, "report_event", commas=commas):
            return
        params = self._base_params(session, transaction)
        params += [("event", name), ("event_id", str(event["id"]))]
        self._enqueue(url, params, "event", transaction)

    def _base_params(self, session: Session, transaction: Transaction | None) -> list[tuple[str, str]]:
        url = session.body["url"]["callback_url"]
        sid_name = query_value(url, "sid_parameter_name") or "session_id"
        order = session.body["order"]
        params: list[tuple[str, str]] = []
        if transaction is not None:
            params.append(("transaction_id", transaction.id))
        params.append((sid_name, session.id))
        params.append(("merchant_reference", str(order.get("merchant_reference", ""))))
        created = transaction.created_at if transaction is not None else self._rt.clock.now()
        params.append(("time", self._rt.clock.iso(created)))
        return params

    # --- scheduling -----------------------------------------------------------------
    def _enqueue(
        self,
        url: str,
        params: list[tuple[str, str]],
        kind: str,
        transaction: Transaction | None,
    ) -> None:
        full_url = append_query(url, params)
        method = "POST" if (query_value(url, "method") or "").upper() == "POST" else "GET"
        body = self._body(url, method, transaction)
        meta: JSONDict = {
            "kind": kind,
            "transaction_id": transaction.id if transaction is not None else None,
            **{name: value for name, value in params if name in ("error", "event", "event_id")},
        }
        refusal = None if self._rt.config.callback_allow_http else callback_undeliverable(url)
        if refusal is not None:
            # Dintero skips such a URL without a word; we log it so a test can see why.
            self._log_unsent(full_url, method, meta, "skipped", refusal)
            return
        fault = self._rt.faults.pick("callback")
        if fault is not None and fault.action == "drop":
            self._log_unsent(full_url, method, meta, "dropped", None)
            return
        self._schedule_copies(full_url, method, body, meta, fault, self._delay(url, fault))

    def _body(self, url: str, method: str, transaction: Transaction | None) -> bytes | None:
        """The transaction as it is now (callers hold the store lock), for method=POST."""
        if method != "POST" or transaction is None:
            return None
        include_session = "session" in query_values(url, "includes")
        snapshot = transaction_json(self._rt, transaction, include_session=include_session)
        return json.dumps(snapshot, separators=(",", ":")).encode("utf-8")

    def _delay(self, url: str, fault: Fault | None) -> float:
        try:
            delay = float(query_value(url, "delay_callback") or 0)
        except ValueError:
            delay = 0.0
        delay = min(max(delay, 0.0), self._rt.config.callback_delay_cap)
        if fault is not None and fault.action == "delay":
            delay += fault.seconds
        return delay

    def _schedule_copies(
        self,
        url: str,
        method: str,
        body: bytes | None,
        meta: JSONDict,
        fault: Fault | None,
        delay: float,
    ) -> None:
        copies = fault.copies if fault is not None and fault.action == "duplicate" else 1
        same_id = self._rt.config.callback_duplicate_delivery_id == "same"
        first_id = str(uuid.uuid4())
        held = fault is not None and fault.action == "reorder"
        due = self._rt.clock.now() + delay
        for copy in range(copies):
            delivery = Delivery(
                callback_id=next(self._ids),
                delivery_id=first_id if copy == 0 or same_id else str(uuid.uuid4()),
                kind=str(meta["kind"]),
                url=url,
                method=method,
                body=body,
                meta={**meta, "copy": copy + 1, "copies": copies, "fault": _fault_name(fault)},
                was_held=held,
            )
            self._rt.scheduler.submit("callback", due, self._runner(delivery), delayed=delay > 0, held=held)

    def _runner(self, delivery: Delivery) -> TaskBody:
        def run(task: Task) -> float | None:
            return self._attempt(delivery)

        return run

    # --- delivering -----------------------------------------------------------------
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Loopback test receivers must not be routed through a developer's proxy.
            session.trust_env = False
            self._local.session = session
        return session

    def _prepare(self, delivery: Delivery) -> requests.PreparedRequest:
        headers = {"User-Agent": USER_AGENT, "event-delivery": delivery.delivery_id}
        if delivery.body is not None:
            headers["Content-Type"] = "application/json"
        request = requests.Request(delivery.method, delivery.url, headers=headers)
        request.data = delivery.body
        prepared = self._session().prepare_request(request)
        config = self._rt.config
        if config.signature_secret:
            clock = self._rt.clock.now() if config.signature_clock == "virtual" else time.time()
            # Sign the URL exactly as it goes on the wire (requests may re-quote it).
            prepared.headers["Dintero-Signature"] = signature_header(
                config.signature_secret,
                self._rt.account_id,
                delivery.method,
                prepared.url or delivery.url,
                int(clock),
            )
        return prepared

    def _attempt(self, delivery: Delivery) -> float | None:
        delivery.attempts += 1
        prepared = self._prepare(delivery)
        status: int | None = None
        error: str | None = None
        try:
            response = self._session().send(
                prepared, timeout=self._rt.config.callback_timeout, allow_redirects=False
            )
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        again = self._next_attempt(delivery, status)
        self._log_attempt(delivery, prepared, status, error, again)
        if delivery.attempts == 1 and not delivery.was_held:
            # A reordered (held) callback goes out right after the one that overtook it.
            self._rt.scheduler.release_held("callback")
        return again

    def _next_attempt(self, delivery: Delivery, status: int | None) -> float | None:
        if status is not None and not _is_retryable_status(status):
            return None
        config = self._rt.config
        retries_done = delivery.attempts - 1
        if retries_done >= config.callback_max_retries:
            return None
        backoff = config.callback_retry_initial * config.callback_retry_factor**retries_done
        return self._rt.clock.now() + min(backoff, config.callback_retry_max)

    # --- logging --------------------------------------------------------------------
    def _log_attempt(
        self,
        delivery: Delivery,
        prepared: requests.PreparedRequest,
        status: int | None,
        error: str | None,
        again: float | None,
    ) -> None:
        if again is not None:
            outcome = "retrying"
        elif status is not None and not _is_retryable_status(status):
            outcome = "delivered" if status < 400 else "failed"
        else:
            outcome = "exhausted"
        self._rt.callback_log.append(
            {
                "callback_id": delivery.callback_id,
                "delivery_id": delivery.delivery_id,
                "attempt": delivery.attempts,
                "time": self._rt.clock.iso(),
                "method": delivery.method,
                "url": prepared.url,
                "headers": dict(prepared.headers),
                "body": None if delivery.body is None else delivery.body.decode("utf-8"),
                "status": status,
                "error": error,
                "outcome": outcome,
                **delivery.meta,
            }
        )

    def _log_unsent(self, url: str, method: str, meta: JSONDict, outcome: str, reason: str | None) -> None:
        self._rt.callback_log.append(
            {
                "callback_id": next(self._ids),
                "delivery_id": None,
                "attempt": 0,
                "time": self._rt.clock.iso(),
                "method": method,
                "url": url,
                "headers": {},
                "body": None,
                "status": None,
                "error": reason,
                "outcome": outcome,
                **meta,
                "fault": "drop" if outcome == "dropped" else None,
            }
        )


def _fault_name(fault: Fault | None) -> str | None:
    return None if fault is None else fault.action
