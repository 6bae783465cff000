"""Why a payment was flagged for staff, what Dintero showed, and who cleared it.

A flag's transaction is kept here, apart from the payment's mirror
(``Payment.raw``): a transaction that does not belong to the payment must never
become the baseline the next read of the payment's own transaction is compared
against. A transaction named by an unverified hint (the return URL, a callback's
query) that is not the payment's own is recorded here too, and changes nothing
about the payment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .payments import Payment


class PaymentFlag(models.Model):
    class Kind(models.TextChoices):
        FLAG = "flag", _("Flagged for staff")
        FOREIGN_HINT = "foreign_hint", _("A hint named another payment's transaction (ignored)")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FLAG)
    reason = models.TextField()
    transaction_id = models.CharField(max_length=64, blank=True, db_index=True)
    transaction = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The transaction as Dintero showed it (no card or token details); never the mirror."),
    )
    seen = models.PositiveIntegerField(default=1, help_text=_("How often this was found."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clear_reason = models.TextField(blank=True, help_text=_("Why staff cleared the flag."))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One row per foreign transaction and payment, however often a hint names it.
            models.UniqueConstraint(
                fields=["payment", "transaction_id"],
                condition=Q(kind="foreign_hint"),
                name="dintero_one_foreign_hint_per_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason[:60]}"

    @property
    def is_open(self) -> bool:
        return self.kind == self.Kind.FLAG and self.cleared_at is None
