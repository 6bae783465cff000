"""Model receivers: drafts follow local changes after commit; fixtures fire nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import serializers
from django.db import transaction
from django.utils import timezone

from dintero_django.models import Operation, Order, OrderLine
from dintero_django.services.orders import LineInput, create_order, place_order, push_order

pytestmark = [pytest.mark.timeout(60), pytest.mark.django_db(transaction=True)]


def ops(emu: Any, name: str) -> int:
    return sum(1 for entry in emu.control.requests_log() if entry.get("operation") == name)


def make_order() -> Order:
    return create_order([LineInput("Chair", 2, 19900), LineInput("Table", 1, 49900)])


def test_new_order_creates_one_draft_after_commit(dintero_settings: Any) -> None:
    with transaction.atomic():
        order = make_order()
        assert ops(dintero_settings, "draft_create") == 0, "nothing remote inside the transaction"
    order.refresh_from_db()
    assert order.dintero_draft_id
    assert ops(dintero_settings, "draft_create") == 1
    push_order(order.pk)  # a re-run
    assert ops(dintero_settings, "draft_create") == 1
    assert Operation.objects.filter(order=order, kind="create_draft").count() == 1


def test_changes_while_draft_update_the_draft(dintero_settings: Any) -> None:
    order = make_order()
    line = order.lines.get(line_id=1)
    line.quantity = 3
    line.save()
    assert ops(dintero_settings, "draft_item_update") == 1  # the documented item call
    order.refresh_from_db()
    assert order.synced_revision == order.revision
    draft = dintero_settings.control.state()["drafts"]
    [remote] = [d for d in draft if d["id"] == order.dintero_draft_id]
    assert remote["order"]["items"][0]["quantity"] == 3


def test_rolled_back_order_fires_nothing(dintero_settings: Any) -> None:
    def create_then_fail() -> None:
        with transaction.atomic():
            make_order()
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert ops(dintero_settings, "draft_create") == 0


def test_placing_completes_exactly_once(dintero_settings: Any) -> None:
    order = make_order()
    place_order(order)
    order.refresh_from_db()
    assert order.completed and order.status == Order.Status.OPEN
    push_order(order.pk)
    place_order(order)
    assert ops(dintero_settings, "draft_complete") == 1


def test_lost_complete_response_is_read_back(dintero_settings: Any) -> None:
    order = make_order()
    dintero_settings.control.add_fault(operation="draft_complete", action="error_after", status=500, times=1)
    place_order(order)  # the task sees an unknown outcome; eager mode leaves it to a re-run
    order.refresh_from_db()
    assert not order.completed
    push_order(order.pk)
    order.refresh_from_db()
    assert order.completed
    assert ops(dintero_settings, "draft_complete") == 1, "never completed twice"
    # The lost attempt is no longer open: the read showed the order completed.
    [attempt] = Operation.objects.filter(order=order, kind="complete_order")
    assert attempt.state == Operation.State.SETTLED and attempt.completed_at


def test_a_lost_draft_creation_is_settled_by_the_attempt_that_succeeds(dintero_settings: Any) -> None:
    dintero_settings.control.add_fault(operation="draft_create", action="error_after", status=500, times=1)
    order = make_order()  # the push after commit sees an unknown outcome
    first = Operation.objects.get(order=order, kind="create_draft")
    assert first.state == Operation.State.UNKNOWN and not first.completed_at

    push_order(order.pk)

    order.refresh_from_db()
    assert order.dintero_draft_id
    first.refresh_from_db()
    second = Operation.objects.get(order=order, kind="create_draft", state=Operation.State.SUCCEEDED)
    assert first.state == Operation.State.SETTLED and first.completed_at
    assert second.pk > first.pk and second.remote_id == order.dintero_draft_id
    assert not Operation.objects.filter(order=order, state__in=Operation.OPEN_STATES).exists()


def test_fixture_loads_fire_nothing(dintero_settings: Any) -> None:
    order = Order(currency="NOK", dintero_order_id="FIXTURE01")
    line = OrderLine(order=order, line_id=1, description="x", quantity=1, unit_amount=100, amount=100)
    order.pk, line.pk, line.order_id = 900, 900, 900
    order.created_at = order.updated_at = timezone.now()
    data = serializers.serialize("json", [order, line])
    for obj in serializers.deserialize("json", data):
        obj.save()
    assert Order.objects.filter(pk=900).exists()
    assert dintero_settings.control.requests_log() == []
