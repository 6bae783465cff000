"""A draft changed after its first push is brought up to date by Dintero's documented item
calls, and completes against the emulator in its strict default (no whole-draft PUT)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from dintero_django.adapters import LineInput
from dintero_django.models import Order, OrderLine
from dintero_django.services.orders import create_order, place_order, push_order

pytestmark = [pytest.mark.timeout(60), pytest.mark.django_db(transaction=True)]


def operations(emu: Any) -> list[str]:
    return [str(entry.get("operation")) for entry in emu.control.requests_log()]


def remote_items(emu: Any, order: Order) -> list[tuple[int, int, int]]:
    [draft] = [d for d in emu.control.state()["drafts"] if d["id"] == order.dintero_draft_id]
    return [(i["line_id"], i["quantity"], i["gross_amount"]) for i in draft["order"]["items"]]


def test_lines_changed_after_the_first_push_reach_the_draft_and_complete(dintero_settings: Any) -> None:
    emu = dintero_settings
    assert emu.control.config()["lenient"] is False
    order = create_order([LineInput("Chair", 2, 19900), LineInput("Table", 1, 49900)])
    order.refresh_from_db()
    assert order.dintero_draft_id
    chair = order.lines.get(line_id=1)
    chair.quantity = 3
    chair.save()  # changed
    order.lines.get(line_id=2).delete()  # removed
    # added:
    OrderLine.objects.create(order=order, line_id=3, description="Lamp", quantity=1, unit_amount=12500)
    order.refresh_from_db()
    assert order.synced_revision == order.revision, order.remote_error
    assert remote_items(emu, order) == [(1, 3, 59700), (3, 1, 12500)]
    place_order(order)
    order.refresh_from_db()
    assert order.completed and order.status == Order.Status.OPEN, order.remote_error
    [remote] = [o for o in emu.control.state()["orders"] if o["order_id"] == order.dintero_order_id]
    assert [(i["line_id"], i["gross_amount"]) for i in remote["items"]] == [(1, 59700), (3, 12500)]
    sent = operations(emu)
    assert "draft_update" not in sent
    assert {"draft_item_update", "draft_item_delete", "draft_item_add"} <= set(sent)


def test_a_rerun_sends_only_what_still_differs(dintero_settings: Any) -> None:
    emu = dintero_settings
    order = create_order([LineInput("Chair", 2, 19900)])
    # Applied at Dintero, then answered with an error: that push fails; the next push (the
    # second on_commit, or the explicit re-run below) reads the draft first.
    emu.control.add_fault(operation="draft_item_add", action="error_after", status=400, times=1)
    with transaction.atomic():
        chair = order.lines.get(line_id=1)
        chair.quantity = 4
        chair.save()
        OrderLine.objects.create(order=order, line_id=2, description="Lamp", quantity=1, unit_amount=12500)
    push_order(order.pk)
    order.refresh_from_db()
    assert order.synced_revision == order.revision
    assert remote_items(emu, order) == [(1, 4, 79600), (2, 1, 12500)]
    # The re-run read the draft: both changes were there, nothing was sent again.
    sent = operations(emu)
    assert (sent.count("draft_item_update"), sent.count("draft_item_add")) == (1, 1)
