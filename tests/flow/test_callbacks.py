"""Callbacks are at-least-once, unordered, concurrent, sometimes lost or forged:
the outcome must be the same whatever happens."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from dintero_django import views
from dintero_django.models import CallbackDelivery, Operation, Payment
from dintero_django.services import reconcile as reconcile_module
from tests.helpers import (
    active_payment,
    operations,
    remote_records,
    request_count,
    signed_callback,
    start_and_pay,
)

pytestmark = pytest.mark.timeout(90)


def _params(payment: Payment, tx: str) -> dict[str, str]:
    return {
        "transaction_id": tx,
        "session_id": str(payment.session_id),
        "merchant_reference": str(payment.order.dintero_order_id),
        "time": "2026-11-26T12:00:00Z",
    }


def test_duplicated_callbacks_record_once(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="duplicate", copies=3, times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    deliveries = [d for d in shop.control.callbacks_log() if d.get("status") == 200]
    assert len(deliveries) >= 3
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1
    assert len(operations(order["id"], Operation.Kind.RECORD_AUTHORIZATION)) == 1
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED


def test_twenty_identical_callbacks_at_once(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING, "the real callback was dropped"

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(lambda _: signed_callback(shop, _params(payment, tx)).status_code, range(20))
        )

    assert statuses == [200] * 20
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1
    assert CallbackDelivery.objects.filter(payment=payment).count() == 20


def test_repeated_event_delivery_id_is_stored_once(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    for _ in range(5):
        response = signed_callback(shop, _params(payment, tx), headers={"event-delivery": "delivery-1"})
        assert response.status_code == 200

    assert CallbackDelivery.objects.filter(event_delivery="delivery-1").count() == 1
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


def test_a_callback_failing_midway_stores_nothing_and_its_retry_is_processed(
    shop: Any, monkeypatch: Any
) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    real_enqueue = views.enqueue_sync
    failures = [OperationalError("server closed the connection unexpectedly")]

    def enqueue_after_a_lost_connection(*args: Any, **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(views, "enqueue_sync", enqueue_after_a_lost_connection)
    headers = {"event-delivery": "delivery-midway"}

    first = signed_callback(shop, _params(payment, tx), headers=headers)

    assert first.status_code == 500, "Dintero retries a 5xx"
    assert not CallbackDelivery.objects.filter(event_delivery="delivery-midway").exists()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING and not payment.sync_pending

    retry = signed_callback(shop, _params(payment, tx), headers=headers)

    assert retry.status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED, "the retry was not taken for a repeat"
    assert CallbackDelivery.objects.filter(event_delivery="delivery-midway").count() == 1


def test_a_delivery_records_its_arrival_and_whether_it_queued_the_sync(shop: Any) -> None:
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    first = CallbackDelivery.objects.get(payment=payment)
    # Tasks run inline here: the sync the callback queued finished before its row was saved.
    assert first.outcome == CallbackDelivery.Outcome.ACCEPTED
    assert payment.last_synced_at is not None and first.received_at <= payment.last_synced_at
    Payment.objects.filter(pk=payment.pk).update(sync_pending=True)  # a sync is queued

    response = signed_callback(shop, _params(payment, tx), headers={"event-delivery": "while-queued"})

    assert response.status_code == 200
    later = CallbackDelivery.objects.get(event_delivery="while-queued")
    assert later.outcome == CallbackDelivery.Outcome.QUEUED_ALREADY


def test_return_before_callback(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    back = shop.http.get(
        f"{shop.url}/dintero/return/",
        params={"transaction_id": tx, "merchant_reference": payment.order.dintero_order_id},
        timeout=30,
    )

    assert back.status_code == 200
    assert back.url.startswith(f"{shop.url}/dintero/result/{order['id']}/")
    assert 'data-state="authorized"' in back.text
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    # The late callback changes nothing more.
    assert signed_callback(shop, _params(payment, tx)).status_code == 200
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


def test_callback_delayed_after_return(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="delay", seconds=0.3, times=1)
    order, payment, tx = start_and_pay(shop)
    back = shop.http.get(
        f"{shop.url}/dintero/return/",
        params={"transaction_id": tx, "merchant_reference": payment.order.dintero_order_id},
        timeout=30,
    )
    assert back.status_code == 200
    shop.control.wait_callbacks()

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


def test_lost_callback_is_found_by_the_reconciler(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING

    call_command("dintero_reconcile", "--older-than", "0")

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED and payment.transaction_id == tx
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1


def test_the_reconciler_finds_a_payment_stamped_by_a_clock_ahead(shop: Any) -> None:
    """``updated_at`` is the writer's clock: a worker 90 s ahead stamps rows in the future,
    and ``updated_at < cutoff`` hid them from every pass for those 90 s (issue 19)."""
    shop.control.add_fault(operation="callback", action="drop", times=1)
    _order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() + timedelta(seconds=90))

    call_command("dintero_reconcile", "--older-than", "0")

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED and payment.transaction_id == tx


def test_one_reconciler_pass_walks_past_its_batch_size(shop: Any, monkeypatch: Any) -> None:
    """More lost callbacks than one batch: one pass finds them all."""
    monkeypatch.setattr(reconcile_module, "BATCH", 2)
    shop.control.add_fault(operation="callback", action="drop", times=5)
    paid = [start_and_pay(shop)[1] for _ in range(5)]
    shop.control.wait_callbacks()

    counts = reconcile_module.reconcile(older_than=0)

    assert counts["payments_synced"] == 5 and "time_limit_reached" not in counts
    for payment in paid:
        payment.refresh_from_db()
        assert payment.state == Payment.State.AUTHORIZED


def test_a_reconciler_pass_out_of_time_leaves_the_rest_for_the_next(shop: Any) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    counts = reconcile_module.reconcile(older_than=0, time_limit=0)

    assert counts == {"time_limit_reached": 1}
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING
    call_command("dintero_reconcile", "--older-than", "0")
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED


def test_callback_for_unknown_order_answers_503(shop: Any) -> None:
    response = signed_callback(
        shop,
        {
            "transaction_id": "T12345678.abc",
            "session_id": "T12345678.nope",
            "merchant_reference": "NOPE00000",
        },
    )
    assert response.status_code == 503
    assert CallbackDelivery.objects.get().outcome == CallbackDelivery.Outcome.UNKNOWN_ORDER


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong-secret",
        "unsigned",
        "stale-wrong-secret",
        "future-wrong-secret",
        "other-transaction",
        "malformed",
    ],
)
def test_forged_or_stale_callbacks_are_refused(shop: Any, tamper: str) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    params = _params(payment, tx)
    now = int(time.time())
    if tamper == "wrong-secret":
        response = signed_callback(shop, params, secret="not-the-secret")
    elif tamper == "unsigned":
        response = signed_callback(shop, params, secret="")
    elif tamper == "stale-wrong-secret":  # a correct HMAC with an old t is accepted (issue 12)
        response = signed_callback(shop, params, secret="not-the-secret", timestamp=now - 301)
    elif tamper == "future-wrong-secret":
        response = signed_callback(shop, params, secret="not-the-secret", timestamp=now + 301)
    elif tamper == "malformed":
        response = signed_callback(shop, params, secret="", headers={"Dintero-Signature": "t=abc,v0=1"})
    else:  # a valid signature for another query, replayed with ours
        from urllib.parse import urlencode

        from dintero_django.signature import signature_header

        other = urlencode({**params, "transaction_id": "T12345678.other"})
        header = signature_header(
            "test-signature-secret", "T12345678", "GET", f"{shop.url}/dintero/callback/?{other}", now
        )
        response = requests.get(
            f"{shop.url}/dintero/callback/", params=params, headers={"Dintero-Signature": header}, timeout=10
        )

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.state == Payment.State.AWAITING, "a refused callback touches nothing"
    assert not CallbackDelivery.objects.filter(transaction_id=tx).exists()


def test_signature_secret_rotation(shop: Any, settings: Any) -> None:
    settings.DINTERO = {
        **settings.DINTERO,
        "SIGNATURE_SECRET": ["new-secret", settings.DINTERO["SIGNATURE_SECRET"]],
    }
    order, payment, tx = start_and_pay(shop)  # the emulator still signs with the old secret
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert signed_callback(shop, _params(payment, tx), secret="new-secret").status_code == 200


@pytest.mark.parametrize("field", ["amount", "currency", "reference"])
def test_mismatch_is_flagged_never_paid(shop: Any, field: str) -> None:
    shop.control.add_fault(operation="callback", action="drop", times=1)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    # The local expectation differs from what the customer authorized (stale basket, tampering).
    if field == "amount":
        Payment.objects.filter(pk=payment.pk).update(amount=payment.amount + 100)
    elif field == "currency":
        Payment.objects.filter(pk=payment.pk).update(currency="SEK")
    else:
        payment.order.dintero_order_id = "OTHER0000"
        payment.order.save(update_fields=["dintero_order_id"])

    assert signed_callback(shop, _params(payment, tx)).status_code == 200

    payment.refresh_from_db()
    assert payment.needs_attention
    assert field.replace("reference", "merchant_reference") in payment.attention_reason
    assert payment.state == Payment.State.AWAITING
    assert payment.authorized_amount == 0
    assert not Operation.objects.filter(kind=Operation.Kind.RECORD_AUTHORIZATION, payment=payment).exists()


def test_token_expiry_in_the_middle_of_the_flow(shop: Any) -> None:
    order = shop.create_order()
    assert request_count(shop, "token") == 1
    shop.control.advance_clock(14400 + 60)

    response = shop.checkout(order["id"])

    assert response.status_code == 200
    assert request_count(shop, "token") == 2
    payment = active_payment(order["id"])
    shop.control.pay(payment.session_id, "AUTHORIZED")
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED


@pytest.mark.parametrize(
    ("action", "extra"), [("rate_limit", {"retry_after": 0}), ("error_before", {"status": 503})]
)
def test_transient_errors_on_reads_are_retried(shop: Any, action: str, extra: dict[str, Any]) -> None:
    shop.control.add_fault(operation="transaction_get", action=action, times=2, **extra)
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert request_count(shop, "transaction_get") >= 3


def test_post_callbacks_with_the_transaction_body(shop: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "CALLBACK_METHOD": "POST"}
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()

    [delivery] = [d for d in shop.control.callbacks_log() if d.get("status") == 200]
    assert delivery["method"] == "POST"
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    assert CallbackDelivery.objects.get(payment=payment).method == "POST"


def test_lost_sync_task_is_recovered_by_the_reconciler(shop: Any) -> None:
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    # A later callback queued a sync whose task message was lost: the flag stays set.
    Payment.objects.filter(pk=payment.pk).update(sync_pending=True)
    shop.control.backoffice_capture(tx, amount=1000)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.captured_amount == 0, "no new task while one is (believed) queued"

    call_command("dintero_reconcile", "--older-than", "0")

    payment.refresh_from_db()
    assert payment.captured_amount == 1000 and not payment.sync_pending


@pytest.mark.parametrize("revisit", [6 * 3600, 0])
def test_reconciler_revisits_authorizations_for_lost_backoffice_moves(
    shop: Any, settings: Any, revisit: int
) -> None:
    settings.DINTERO = {**settings.DINTERO, "RECONCILE_REVISIT": revisit}
    order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    shop.control.add_fault(operation="callback", action="drop", times=1)
    shop.control.backoffice_capture(tx, amount=1000)
    shop.control.wait_callbacks()

    counts = reconcile_module.reconcile(older_than=0)
    payment.refresh_from_db()
    assert payment.captured_amount == 0 and "revisits_synced" not in counts, "read 6 h ago at the most"

    seven_hours_ago = timezone.now() - timedelta(hours=7)
    Payment.objects.filter(pk=payment.pk).update(last_synced_at=seven_hours_ago)
    counts = reconcile_module.reconcile(older_than=0)

    payment.refresh_from_db()
    if revisit:
        assert counts["revisits_synced"] == 1 and payment.captured_amount == 1000
        assert payment.last_synced_at > seven_hours_ago
    else:
        assert "revisits_synced" not in counts and payment.captured_amount == 0


def test_reordered_callbacks_end_in_the_latest_state(shop: Any) -> None:
    # The ON_HOLD callback is held back and delivered after the AUTHORIZED one.
    shop.control.add_fault(operation="callback", action="reorder", times=1)
    order, payment, tx = start_and_pay(shop, "ON_HOLD")
    shop.control.resolve(tx, "AUTHORIZED")
    shop.control.wait_callbacks()

    deliveries = [d for d in shop.control.callbacks_log() if d.get("status") == 200]
    assert len(deliveries) == 2
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED and payment.status == "AUTHORIZED"
    assert len(remote_records(payment.order.dintero_order_id, "authorizations")) == 1
