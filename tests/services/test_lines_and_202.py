"""Capture and refund lines as Dintero documents them, and 202 completions recognised.

- every line sent carries ``quantity``; a quantity of 0 never reaches Dintero;
- Instabank / Collector take whole lines: an amount-only partial or part of a line is
  refused locally (service, staff API, admin form) and by the emulator;
- the event completing a 202 capture carries only ``correlation_request_id``: it is our
  own capture (not adopted as a Backoffice move) and ``payment_captured`` fires once.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dintero_django import signals
from dintero_django.exceptions import PaymentError
from dintero_django.models import Operation, Payment
from dintero_django.services import money, records
from dintero_django.services.reconcile import reconcile
from tests.helpers import active_payment, remote_records
from tests.test_admin_money import PERMS, Staff, make_staff, messages_of

pytestmark = pytest.mark.timeout(120)

TOTAL = 2 * 19900 + 49900 + 9900  # default_lines(): 2 chairs, 1 table, shipping


def pay(shop: Any, product: str | None = None) -> Payment:
    order = shop.create_order()
    assert shop.checkout(order["id"]).status_code == 200
    payment = active_payment(order["id"])
    shop.control.pay(payment.session_id, "AUTHORIZED", payment_product_type=product)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED
    return payment


def sent(shop: Any, operation: str) -> list[dict[str, Any]]:
    return [e for e in shop.control.requests_log() if e.get("operation") == operation]


def capture_events(shop: Any, payment: Payment) -> list[dict[str, Any]]:
    tx = shop.control.transaction(payment.transaction_id)
    return [e for e in tx["events"] if e["event"] == "CAPTURE" and e.get("success")]


def test_every_line_carries_a_quantity(shop: Any) -> None:
    payment = pay(shop)
    by_amount = money.capture(payment.pk, amount=19900 + 49900)  # filled line by line
    by_lines = money.capture(payment.pk, quantities={3: 1})
    assert [by_amount.state, by_lines.state] == [Operation.State.SUCCEEDED] * 2
    first, second = capture_events(shop, payment)
    # 69800 fills the chairs line (2 x 19900 = 39800, 2 units), then the table
    # line takes 30000 of 49900 = 0.6012 of a unit (the spec's quantity is a number).
    assert first["items"] == [
        {"line_id": "1", "amount": 39800, "quantity": 2},
        {"line_id": "2", "amount": 30000, "quantity": 0.6012},
    ]
    assert second["items"] == [{"line_id": "3", "amount": 9900, "quantity": 1}]


def test_a_quantity_of_zero_is_refused_locally(shop: Any, django_user_model: Any) -> None:
    payment = pay(shop)
    with pytest.raises(PaymentError, match="at least 1"):
        money.capture(payment.pk, quantities={1: 0})
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    path = f"/api/dintero/staff/orders/{payment.order.public_id}/capture/"
    response = staff.api(path, {"quantities": {"1": 0}})
    assert response.status_code == 400 and "quantities" in response.json(), response.text
    assert sent(shop, "capture") == []
    assert not Operation.objects.filter(payment=payment, kind="capture").exists()


@pytest.mark.parametrize("product", ["collector.invoice", "instabank.finance"])
def test_whole_line_products_refuse_partial_lines_locally(shop: Any, product: str) -> None:
    payment = pay(shop, product)
    assert payment.payment_product_type == product
    for kwargs in ({"amount": 10000}, {"quantities": {1: 1}}):
        with pytest.raises(PaymentError, match="whole order lines"):
            money.capture(payment.pk, **kwargs)  # type: ignore[arg-type]
    assert sent(shop, "capture") == []
    chairs = money.capture(payment.pk, quantities={1: 2})
    assert chairs.state == Operation.State.SUCCEEDED, chairs.error_message
    refund = money.refund(payment.pk, quantities={1: 2}, reason="returned")
    assert refund.state == Operation.State.SUCCEEDED, refund.error_message
    rest = money.capture(payment.pk)  # everything left is whole lines
    assert rest.state == Operation.State.SUCCEEDED, rest.error_message
    payment.refresh_from_db()
    assert (payment.captured_amount, payment.refunded_amount) == (TOTAL, 39800)


def test_whole_lines_in_the_staff_api_and_the_admin_form(shop: Any, django_user_model: Any) -> None:
    payment = pay(shop, "collector.invoice")
    make_staff(django_user_model, "ops", *PERMS.values())
    staff = Staff(shop.url, "ops")
    base = f"/api/dintero/staff/orders/{payment.order.public_id}"
    partial = staff.api(f"{base}/capture/", {"amount": 10000})
    assert partial.status_code == 400 and "whole order lines" in partial.json()["amount"][0]
    part_of_line = staff.api(f"{base}/capture/", {"quantities": {"1": 1}})
    assert part_of_line.status_code == 400 and "whole order lines" in part_of_line.json()["quantities"][0]
    page = f"/admin/dintero_django/order/{payment.order.pk}/capture/"
    form = staff.get(page).text
    chairs = re.search(r'<select name="qty_1".*?</select>', form, flags=re.S)
    assert chairs is not None, "the chairs line offers a choice"
    assert re.findall(r'<option value="(\d+)"', chairs.group(0)) == ["0", "2"]  # none or the whole line
    refused = staff.submit(page, {"qty_1": "1", "amount": ""})
    assert "whole order lines" in refused.text
    assert sent(shop, "capture") == []
    review = staff.submit(page, {"qty_1": "2", "amount": ""})  # shown back in words first
    assert review.status_code == 200 and "398.00 Norwegian kroner" in review.text
    done = staff.submit(page, {"qty_1": "2", "amount": "", "confirmed": "1"})
    assert any("succeeded" in m for m in messages_of(done.text))
    payment.refresh_from_db()
    assert payment.captured_amount == 39800


def test_a_202_capture_is_ours_and_announced_once(shop: Any) -> None:
    payment = pay(shop)
    received: list[dict[str, Any]] = []
    signals.payment_captured.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="h12b-202")
    try:
        shop.control.add_fault("capture", "accept_202", complete_after=0, times=1)
        operation = money.capture(payment.pk, amount=30000)
        assert operation.state == Operation.State.ACCEPTED
        shop.control.wait_callbacks()  # completed at Dintero; the CAPTURE callback synced
        [completed] = capture_events(shop, payment)
        assert completed["correlation_request_id"] == operation.request_id
        assert "event_reference" not in completed
        reconcile()  # settles the accepted operation from the transaction
    finally:
        signals.payment_captured.disconnect(dispatch_uid="h12b-202")
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED
    # Not adopted as a Backoffice move: one ledger row, one Orders-API record.
    assert list(Operation.objects.filter(payment=payment, kind="capture")) == [operation]
    assert len(remote_records(payment.order.dintero_order_id, "captures")) == 1
    assert [(r["amount"], r["operation"]) for r in received] == [(30000, operation)]


def test_a_second_settler_with_a_stale_read_announces_nothing(shop: Any) -> None:
    """The callback's sync and the operation's own settling race: both saw it open."""
    payment = pay(shop)
    shop.control.add_fault("capture", "accept_202", times=1)
    operation = money.capture(payment.pk, amount=30000)
    stale = Operation.objects.get(pk=operation.pk)  # what the racing settler read
    shop.control.complete_pending()
    received: list[dict[str, Any]] = []
    signals.payment_captured.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="h12b-race")
    try:
        money.resolve(operation.pk)
        tx = shop.control.transaction(payment.transaction_id)
        assert money._settle_from_transaction(stale, tx) is True  # found, but already settled
    finally:
        signals.payment_captured.disconnect(dispatch_uid="h12b-race")
    assert len(received) == 1


def cancellations_at_dintero(shop: Any, payment: Payment) -> list[dict[str, Any]]:
    return list(shop.control.order(payment.order.dintero_order_id)["cancellations"])


def test_a_cancellation_record_falls_back_to_cancel_when_the_collection_is_refused(shop: Any) -> None:
    payment = pay(shop)  # the authorization is recorded already
    shop.control.add_fault(operation="order_op_create", action="error_before", status=405, times=1)
    void = money.cancel(payment.pk)
    assert void.state == Operation.State.SUCCEEDED
    assert void.records.get().state == Operation.State.SUCCEEDED
    paths = [e["path"] for e in shop.control.requests_log() if e.get("operation") == "order_op_create"]
    assert paths[-1].endswith("/cancel") and paths[-2].endswith("/cancellations")
    assert len(cancellations_at_dintero(shop, payment)) == 1


def test_a_lost_cancellation_record_is_found_in_the_order_events(shop: Any, settings: Any) -> None:
    """The cancellations list is not documented: the read before re-posting never asks
    for it, and finds the lost record in the order's (documented) events instead."""
    settings.DINTERO = {**settings.DINTERO, "READ_TIMEOUT": 0.5}
    payment = pay(shop)
    shop.control.add_fault(operation="order_op_create", action="timeout_after", hang=2.0, times=1)
    void = money.cancel(payment.pk)
    record = void.records.get()
    assert record.state in Operation.OPEN_STATES  # applied at Dintero, answer lost
    again = records.record_in_orders(void.pk)
    assert again.state == Operation.State.SUCCEEDED
    assert len(cancellations_at_dintero(shop, payment)) == 1, "not posted twice"
    log = shop.control.requests_log()
    assert not [e for e in log if e.get("operation") == "order_op_list" and "cancellations" in e["path"]]
    assert [e for e in log if e["path"].endswith("/events") and e["status"] == 200]


def test_a_tiny_partial_has_a_positive_quantity(shop: Any) -> None:
    """Found by the model test: 1 øre of a 19900 line is 0.00005 of a unit, not 0."""
    payment = pay(shop)
    operation = money.capture(payment.pk, amount=1)
    assert operation.state == Operation.State.SUCCEEDED, operation.error_message
    assert operation.items == [{"line_id": 1, "amount": 1, "quantity": 5.025e-05}]
