"""The payments team's overview page: what waits, what is open, what failed, and 14 days of money.

Every figure links to the admin list it counts (the same filter), so a number is
never a dead end. Figures are per currency: kroner and euros are not added up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .admin_display import STATE_QUERIES
from .conf import get_settings
from .models import CallbackDelivery, Operation, Order, Payment
from .money_format import format_money
from .svg_chart import Series, bar_chart

DAYS = 14
FAILING_CALLBACKS = (CallbackDelivery.Outcome.REJECTED, CallbackDelivery.Outcome.UNKNOWN_ORDER)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    count: int
    sums: str  # "NOK 1,200.00 · SEK 30.00"
    link: str
    warning: str = ""


def _orders_link(**params: Any) -> str:
    return reverse("admin:dintero_django_order_changelist") + "?" + urlencode(params)


def _sums(payments: QuerySet[Payment], amount: Any) -> str:
    rows = payments.values("currency").annotate(total=Sum(amount)).order_by("currency")
    return " · ".join(format_money(int(r["total"] or 0), r["currency"]) for r in rows)


def _payment_figure(key: str, label: str, amount: Any, **extra: Any) -> Figure:
    payments = Payment.objects.filter(STATE_QUERIES[key], is_active=True, **extra)
    return Figure(key, label, payments.count(), _sums(payments, amount), _orders_link(payment=key))


def payment_figures() -> list[Figure]:
    left = F("authorized_amount") - F("captured_amount")
    figures = [
        _payment_figure("awaiting", _("Awaiting payment"), "amount"),
        _payment_figure("pending", _("Pending (on hold)"), "amount"),
        _payment_figure("capturable", _("Authorized, not fully captured"), left),
        _payment_figure("needs_attention", _("Needs attention"), "amount"),
    ]
    return figures + age_figures()


def age_figures() -> list[Figure]:
    """Money left to capture by age of the authorization; past the configured age, a warning."""
    warn_days = get_settings().AUTHORIZATION_WARN_DAYS
    now = timezone.now()
    left = F("authorized_amount") - F("captured_amount")
    capturable = Payment.objects.filter(STATE_QUERIES["capturable"], is_active=True)
    figures = []
    for days, label in ((1, _("… older than 1 day")), (warn_days, _("… older than %g days") % warn_days)):
        payments = capturable.filter(created_at__lt=now - timedelta(days=days))
        count = payments.count()
        warning = ""
        if days == warn_days and count:
            warning = _("Authorizations expire: capture or cancel these soon.")
        link = _orders_link(payment="capturable", older_than_days=f"{days:g}")
        figures.append(Figure(f"older_{days:g}", label, count, _sums(payments, left), link, warning))
    return figures


def record_figures() -> list[Figure]:
    since = timezone.now() - timedelta(hours=24)
    open_ops = Operation.objects.filter(state__in=[*Operation.OPEN_STATES, Operation.State.NEEDS_ATTENTION])
    failing = CallbackDelivery.objects.filter(outcome__in=FAILING_CALLBACKS, received_at__gte=since)
    ops_link = (
        reverse("admin:dintero_django_operation_changelist")
        + "?"
        + urlencode({"state__in": ",".join([*Operation.OPEN_STATES, Operation.State.NEEDS_ATTENTION])})
    )
    callbacks_link = (
        reverse("admin:dintero_django_callbackdelivery_changelist")
        + "?"
        + urlencode({"outcome__in": ",".join(FAILING_CALLBACKS), "received_at__gte": since.isoformat()})
    )
    return [
        Figure("operations_open", _("Operations open or unknown"), open_ops.count(), "", ops_link),
        Figure(
            "callbacks_failing", _("Callbacks refused in the last 24 h"), failing.count(), "", callbacks_link
        ),
    ]


def daily_chart(currency: str) -> Any:
    """Authorized, captured and refunded per day over the last 14 days, in one currency."""
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    start = timezone.make_aware(datetime.combine(days[0], time.min))
    authorized = _per_day(
        Payment.objects.filter(currency=currency, created_at__gte=start, authorized_amount__gt=0),
        "created_at",
        "authorized_amount",
    )
    moved: dict[str, dict[date, int]] = {}
    for kind in (Operation.Kind.CAPTURE, Operation.Kind.REFUND):
        ops = Operation.objects.filter(
            kind=kind,
            state=Operation.State.SUCCEEDED,
            payment__currency=currency,
            created_at__gte=start,
        )
        moved[kind] = _per_day(ops, "created_at", "amount")
    series = [
        Series(_("Authorized"), "#6c8ebf", [authorized.get(d, 0) for d in days]),
        Series(_("Captured"), "#28a745", [moved[Operation.Kind.CAPTURE].get(d, 0) for d in days]),
        Series(_("Refunded"), "#dc3545", [moved[Operation.Kind.REFUND].get(d, 0) for d in days]),
    ]
    labels = [d.strftime("%d.%m") for d in days]
    return bar_chart(labels, series, value_label=lambda minor: format_money(int(minor), currency))


def _per_day(queryset: QuerySet[Any], stamp: str, amount: str) -> dict[date, int]:
    rows = queryset.annotate(day=TruncDate(stamp)).values("day").annotate(total=Sum(amount))
    totals: dict[date, int] = defaultdict(int)
    for row in rows:
        totals[row["day"]] += int(row["total"] or 0)
    return totals


def overview_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    currencies = list(
        Order.objects.exclude(status=Order.Status.DRAFT)
        .values("currency")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("currency", flat=True)[:3]
    ) or ["NOK"]
    context = {
        **admin_site.each_context(request),
        "title": _("Payments overview"),
        "payment_figures": payment_figures(),
        "record_figures": record_figures(),
        "charts": [(currency, daily_chart(currency)) for currency in currencies],
        "warn_days": get_settings().AUTHORIZATION_WARN_DAYS,
        "opts": Order._meta,
    }
    return TemplateResponse(request, "admin/dintero_django/overview.html", context)
