"""Model receivers: they only record intent and enqueue work after commit.

Nothing here calls Dintero. Fixture loads (``raw=True``) fire nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Order, OrderLine
from .services import dispatch

#: Fields our own services write; saving only these is not a shop change.
INTERNAL_FIELDS = frozenset(
    {
        "dintero_draft_id",
        "dintero_order_id",
        "dintero_order_uuid",
        "synced_revision",
        "revision",
        "remote_error",
        "lease_until",
        "lease_token",
        "completed",
        "status",
        "placed_at",
        "updated_at",
    }
)


def schedule_push(order_pk: int) -> None:
    dispatch.push_order(order_pk)


def _bump(order_pk: int) -> None:
    Order.objects.filter(pk=order_pk).update(revision=F("revision") + 1)


@receiver(post_save, sender=Order, dispatch_uid="dintero_order_saved")
def order_saved(
    sender: type[Order],
    instance: Order,
    created: bool,
    raw: bool,
    update_fields: Any,
    **kwargs: Any,
) -> None:
    if raw:
        return
    if created:
        schedule_push(instance.pk)
        return
    if instance.completed or instance.status in (Order.Status.OPEN, Order.Status.CANCELLED):
        return
    fields = set(update_fields or ())
    shop_change = update_fields is None or bool(fields - INTERNAL_FIELDS)
    if instance.status == Order.Status.DRAFT and shop_change:
        _bump(instance.pk)
        schedule_push(instance.pk)
    elif instance.status == Order.Status.PLACED and (shop_change or "status" in fields):
        schedule_push(instance.pk)


@receiver(post_save, sender=OrderLine, dispatch_uid="dintero_line_saved")
@receiver(post_delete, sender=OrderLine, dispatch_uid="dintero_line_deleted")
def line_changed(sender: type[OrderLine], instance: OrderLine, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    order = Order.objects.filter(pk=instance.order_id).only("status", "completed").first()
    if order and order.status == Order.Status.DRAFT and not order.completed:
        _bump(order.pk)
        schedule_push(order.pk)
