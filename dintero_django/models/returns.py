"""The customer's returns from Dintero's payment page, as the return URL reported them.

Unverified: anyone can open the return URL. A visit is a line on the staff timeline
("the customer came back", with the error Dintero's page named, if any), never a
fact about the payment, which only our own transaction read decides. Bounded: at
most ``MAX_PER_ORDER`` visits are kept per order, so the anonymous URL cannot grow
the table.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .orders import Order


class ReturnVisit(models.Model):
    MAX_PER_ORDER = 5

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="return_visits", verbose_name=_("order")
    )
    received_at = models.DateTimeField(verbose_name=_("received"), auto_now_add=True)
    error = models.CharField(
        verbose_name=_("error"),
        max_length=32,
        blank=True,
        help_text=_("The error the return URL named (cancelled, authorization, failed); unverified."),
    )

    class Meta:
        ordering = ["received_at", "pk"]
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")

    def __str__(self) -> str:
        return f"{self.order} {self.received_at:%Y-%m-%d %H:%M:%S}"
