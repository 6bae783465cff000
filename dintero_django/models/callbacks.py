"""Every callback delivery Dintero made to us, kept for audit and replay."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .payments import Payment


class CallbackDelivery(models.Model):
    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted, sync queued")
        QUEUED_ALREADY = "queued_already", _("Accepted, a sync was already queued")
        DUPLICATE = "duplicate", _("Repeat of a stored delivery")
        REJECTED = "rejected", _("Rejected (bad signature or request)")
        UNKNOWN_ORDER = "unknown_order", _("Order not known yet (503)")

    # Stamped when the request arrives (the view passes it), not when the row is saved:
    # the view queues the sync first, and the sync may finish before the row exists.
    received_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    method = models.CharField(max_length=8)
    query = models.JSONField(default=dict, help_text=_("Query parameters as received."))
    headers = models.JSONField(default=dict, help_text=_("Selected headers (never secrets)."))
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    event_delivery = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text=_("Dintero's event-delivery id.")
    )
    transaction_id = models.CharField(max_length=64, blank=True, db_index=True)
    session_id = models.CharField(max_length=64, blank=True)
    merchant_reference = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=16, blank=True)
    error = models.CharField(max_length=32, blank=True)
    signature_valid = models.BooleanField(null=True, help_text=_("None: no secret configured."))
    signature_stale = models.BooleanField(
        default=False,
        help_text=_(
            "The HMAC was right but its t was outside SIGNATURE_TOLERANCE (a late retry, or a "
            "replay): accepted, since a callback only makes us read the transaction ourselves."
        ),
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")

    def __str__(self) -> str:
        return f"{self.method} {self.transaction_id or self.merchant_reference} ({self.outcome})"
