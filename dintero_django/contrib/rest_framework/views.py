"""Storefront endpoints: a customer only ever sees their own orders (404 otherwise).

Ownership is the logged-in user, or for guests a random key kept in their
session. Views validate, call a service or queue a task, and answer; they never
call Dintero themselves.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, FilteredRelation, Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from ...adapters import get_adapter
from ...discounts import check_gift_cards, with_order_discounts
from ...models import Order, Payment
from ...services.orders import create_order
from ...tasks import enqueue_checkout
from .parsers import PARSERS
from .serializers import (
    JOINED_PAYMENT,
    JOINED_PAYMENT_ID,
    CheckoutSerializer,
    OrderSerializer,
    active_payment,
)

GUEST_KEY = "dintero_guest_key"
#: The storefront's rate when the project names none for ``dintero_orders``.
DEFAULT_ORDER_RATE = "120/min"


class OrderRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle on ``dintero_orders``, at DEFAULT_ORDER_RATE when
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` has no such key: DRF would raise
    ImproperlyConfigured, a 500 on every storefront request of a fresh project."""

    def get_rate(self) -> str | None:
        try:
            return super().get_rate()
        except ImproperlyConfigured:
            return DEFAULT_ORDER_RATE


def guest_key(request: Request, *, create: bool = False) -> str:
    session = request.session
    key = session.get(GUEST_KEY, "")
    if not key and create:
        key = secrets.token_urlsafe(24)
        session[GUEST_KEY] = key
    return str(key)


INVALID = OpenApiResponse(description="Invalid input; the body names the fields.")
NOT_FOUND = OpenApiResponse(description="No such order, or not yours (never 403: ids are not revealed).")


@extend_schema_view(
    create=extend_schema(responses={201: OrderSerializer, 400: INVALID}),
    retrieve=extend_schema(responses={200: OrderSerializer, 404: NOT_FOUND}),
)
class OrderViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Create an order from cart lines, start its checkout, read its payment status."""

    serializer_class = OrderSerializer
    permission_classes = [AllowAny]  # guests may check out; ownership is enforced by get_queryset
    lookup_field = "public_id"
    throttle_scope = "dintero_orders"
    throttle_classes = [OrderRateThrottle]
    parser_classes = PARSERS

    def get_queryset(self) -> QuerySet[Order]:
        user = self.request.user
        owner = Q(customer=user) if user.is_authenticated else Q(pk__in=[])
        key = guest_key(self.request)
        if key:
            owner |= Q(guest_key=key, customer__isnull=True)
        active = FilteredRelation("payments", condition=Q(payments__is_active=True))
        return (
            Order.objects.filter(owner)
            .annotate(**{JOINED_PAYMENT: active})
            .annotate(**{JOINED_PAYMENT_ID: F(f"{JOINED_PAYMENT}__id")})
            .select_related(JOINED_PAYMENT)
            .prefetch_related("lines")
        )

    def perform_create(self, serializer: Any) -> None:
        user = self.request.user
        adapter = get_adapter()
        try:
            lines = adapter.prepare_lines(serializer.to_line_inputs(), self.request)
            adapter.validate_lines(lines, self.request)
            for line in lines:
                line.as_fields()  # discounts the adapter gave: none larger than its line
        except DjangoValidationError as error:
            raise ValidationError({"lines": error.messages}) from error
        codes = list(serializer.validated_data.get("discount_codes") or [])
        try:
            lines, order_discounts = with_order_discounts(
                lines, adapter.order_discounts(lines, codes, self.request)
            )
        except DjangoValidationError as error:
            raise ValidationError({"discount_codes": error.messages}) from error
        order = create_order(
            lines,
            currency=serializer.validated_data["currency"],
            email=serializer.validated_data.get("email", ""),
            phone=serializer.validated_data.get("phone", ""),
            discount_codes=codes,
            order_discounts=order_discounts,
            customer=user if user.is_authenticated else None,
            guest_key="" if user.is_authenticated else guest_key(self.request, create=True),
        )
        serializer.instance = self.get_queryset().get(pk=order.pk)

    @extend_schema(
        request=CheckoutSerializer,
        responses={
            200: OpenApiResponse(
                OrderSerializer, description="The checkout URL is ready (payment.checkout_url)."
            ),
            202: OpenApiResponse(OrderSerializer, description="Being prepared; poll the order."),
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="The order is already paid."),
        },
    )
    @action(detail=True, methods=["post"])
    def checkout(self, request: Request, public_id: str | None = None) -> Response:
        """Start (or restart) checkout; the answer carries payment.checkout_url once ready."""
        order = self.get_object()
        params = CheckoutSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        current = active_payment(order)
        if current and current.state in (Payment.State.AUTHORIZED, Payment.State.PENDING):
            return Response(
                {"detail": "This order is already paid or being paid."},
                status=status.HTTP_409_CONFLICT,
            )
        check_gift_cards_of(order)
        reusable = (
            current
            and current.state == Payment.State.AWAITING
            and current.session_url
            and not current.session_expired()  # an expired session cannot be paid: restart
        )
        if not reusable or params.validated_data["restart"]:
            enqueue_checkout(order.pk, restart=params.validated_data["restart"])
        fresh = self.get_queryset().get(pk=order.pk)
        data = OrderSerializer(fresh, context=self.get_serializer_context()).data
        payment = active_payment(fresh)
        ready = payment is not None and bool(payment.session_url) and payment.state == Payment.State.AWAITING
        return Response(data, status=status.HTTP_200_OK if ready else status.HTTP_202_ACCEPTED)


def check_gift_cards_of(order: Order) -> None:
    """A gift card over the order total is a 400 now, not a failed session later."""
    amount = sum(line.amount for line in order.lines.all())
    try:
        check_gift_cards(get_adapter().gift_cards(order, amount), amount)
    except DjangoValidationError as error:
        raise ValidationError({"gift_cards": error.messages}) from error
