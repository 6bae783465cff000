"""The mirror of a Dintero checkout attempt: session, transaction, amounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .orders import Order


class TransactionStatus(models.TextChoices):
    """Dintero's transaction statuses (Checkout API), verbatim."""

    INITIATED = "INITIATED"
    ON_HOLD = "ON_HOLD"
    AUTHORIZED = "AUTHORIZED"
    PARTIALLY_CAPTURED = "PARTIALLY_CAPTURED"
    CAPTURED = "CAPTURED"
    PARTIALLY_CAPTURED_REFUNDED = "PARTIALLY_CAPTURED_REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    AUTHORIZATION_VOIDED = "AUTHORIZATION_VOIDED"
    DECLINED = "DECLINED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


#: Statuses in which money is (or was) authorized for the order.
PAID_STATUSES = frozenset(
    {
        TransactionStatus.AUTHORIZED,
        TransactionStatus.PARTIALLY_CAPTURED,
        TransactionStatus.CAPTURED,
        TransactionStatus.PARTIALLY_CAPTURED_REFUNDED,
        TransactionStatus.PARTIALLY_REFUNDED,
        TransactionStatus.REFUNDED,
    }
)
PENDING_STATUSES = frozenset({TransactionStatus.INITIATED, TransactionStatus.ON_HOLD})
FAILED_STATUSES = frozenset({TransactionStatus.DECLINED, TransactionStatus.FAILED})


class Payment(models.Model):
    """One checkout attempt for an order; at most one is active per order."""

    class State(models.TextChoices):
        CREATED = "created", _("Session being created")
        AWAITING = "awaiting", _("Waiting for the customer")
        PENDING = "pending", _("Payment pending (initiated / on hold)")
        AUTHORIZED = "authorized", _("Authorized")
        FAILED = "failed", _("Failed or declined")
        CANCELLED = "cancelled", _("Cancelled by the customer")
        VOIDED = "voided", _("Authorization voided")
        SUPERSEDED = "superseded", _("Replaced by a newer session")
        EXPIRED = "expired", _("Session expired unpaid")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    is_active = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATED)
    amount = models.PositiveBigIntegerField(help_text=_("Amount asked for in the session, minor units."))
    currency = models.CharField(max_length=3)
    session_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    session_url = models.URLField(max_length=500, blank=True)
    transaction_id = models.CharField(
        max_length=64, null=True, blank=True, unique=True, help_text=_("Dintero transaction id.")
    )
    status = models.CharField(
        max_length=32,
        choices=TransactionStatus.choices,
        blank=True,
        help_text=_("Dintero status, mirrored."),
    )
    failure = models.CharField(
        max_length=32, blank=True, help_text=_("Dintero's error: cancelled, authorization, failed.")
    )
    authorized_amount = models.PositiveBigIntegerField(default=0)
    captured_amount = models.PositiveBigIntegerField(default=0)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    payment_product_type = models.CharField(max_length=64, blank=True)
    link_created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member who created this attempt as a payment link."),
    )
    link_sent_to = models.EmailField(blank=True, help_text=_("Where staff e-mailed the payment link."))
    link_sent_at = models.DateTimeField(null=True, blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_reason = models.TextField(blank=True)
    sync_pending = models.BooleanField(
        default=False, help_text=_("A sync task is queued; further callbacks need not queue another.")
    )
    sync_attempts = models.PositiveIntegerField(
        default=0, help_text=_("Sync runs started since the last success.")
    )
    polls = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the session stops taking payment (sent as expires_at).")
    )
    raw = models.JSONField(default=dict, blank=True, help_text=_("Last transaction read from Dintero."))
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        permissions = [("clear_flag", "Can review and clear a payment's flag")]
        constraints = [
            models.CheckConstraint(
                condition=Q(captured_amount__lte=F("authorized_amount")),
                name="dintero_captured_lte_authorized",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("captured_amount")),
                name="dintero_refunded_lte_captured",
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(is_active=True), name="dintero_one_active_payment"
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return self.transaction_id or self.session_id or f"Payment {self.pk}"

    def session_expired(self, now: datetime | None = None, *, grace: float = 0.0) -> bool:
        """The session's ``expires_at`` (plus ``grace`` seconds) has passed."""
        if self.expires_at is None:
            return False
        return (now or timezone.now()) >= self.expires_at + timedelta(seconds=grace)

    @property
    def capturable(self) -> int:
        return self.authorized_amount - self.captured_amount

    @property
    def refundable(self) -> int:
        return self.captured_amount - self.refunded_amount
