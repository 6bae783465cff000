"""The append-only ledger of every remote operation (one row per remote step).

A row is written *before* the call (state ``pending``) and completed after it,
so an unknown outcome can always be resolved by reading Dintero, never by
blindly sending again.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .orders import Order
from .payments import Payment


def new_reference() -> str:
    """Our unique reference, sent as capture_reference / refund_reference."""
    return "dd-" + secrets.token_hex(10)


class Operation(models.Model):
    class Kind(models.TextChoices):
        CREATE_DRAFT = "create_draft", _("Create Draft")
        UPDATE_DRAFT = "update_draft", _("Update Draft")
        COMPLETE_ORDER = "complete_order", _("Complete Order")
        CREATE_SESSION = "create_session", _("Create Session")
        CANCEL_SESSION = "cancel_session", _("Cancel Session")
        RECORD_AUTHORIZATION = "record_authorization", _("Record Authorization")
        CAPTURE = "capture", _("Capture")
        RECORD_CAPTURE = "record_capture", _("Record Capture")
        REFUND = "refund", _("Refund")
        RECORD_REFUND = "record_refund", _("Record Refund")
        VOID = "void", _("Void")
        RECORD_CANCELLATION = "record_cancellation", _("Record Cancellation")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending (sent or about to be)")
        SUCCEEDED = "succeeded", _("Succeeded")
        ACCEPTED = "accepted", _("Accepted (202, completing)")
        FAILED = "failed", _("Failed (refused, nothing changed)")
        UNKNOWN = "unknown", _("Unknown outcome (to be read back)")
        NEEDS_ATTENTION = "needs_attention", _("Needs staff attention")
        SETTLED = "settled", _("Settled by a later attempt or read (own outcome unknown)")

    OPEN_STATES = (State.PENDING, State.ACCEPTED, State.UNKNOWN)
    #: Steps retried as a new attempt (a new row) rather than read back by reference:
    #: once one attempt reaches the goal, the earlier open ones are settled.
    RETRIED_STEPS = (Kind.CREATE_DRAFT, Kind.UPDATE_DRAFT, Kind.COMPLETE_ORDER, Kind.CREATE_SESSION)
    #: Operations that move money at Dintero (Checkout API); each has one Orders-API record.
    MONEY_KINDS = (Kind.CAPTURE, Kind.REFUND, Kind.VOID)
    RECORD_KINDS = (Kind.RECORD_CAPTURE, Kind.RECORD_REFUND, Kind.RECORD_CANCELLATION)

    reference = models.CharField(max_length=40, unique=True, default=new_reference, editable=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="operations")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="operations"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
        help_text=_("For an Orders-API record: the Checkout operation it records."),
    )
    amount = models.PositiveBigIntegerField(default=0)
    items = models.JSONField(default=list, blank=True, help_text=_("[{line_id, amount, quantity}]"))
    reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    remote_id = models.CharField(max_length=64, blank=True, help_text=_("Id Dintero gave the result."))
    request_id = models.CharField(max_length=64, blank=True, help_text=_("Dintero event-request-id."))
    http_status = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The authorization is recorded in the Orders API once per payment.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="record_authorization"),
                name="dintero_one_authorization_record",
            ),
            # A Checkout operation is recorded in the Orders API at most once.
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(parent__isnull=False),
                name="dintero_one_record_per_operation",
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        # No state here: the admin shows it as the merchant reads it (admin_display.operation_outcome).
        return f"{self.get_kind_display()} {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
