"""Staff-only endpoints for capture, refund and cancel (back-office frontends).

Same rules as the admin: the ``capture_payment`` / ``refund_payment`` /
``cancel_payment`` permissions, the money-operation protocol, one open
operation per payment. Customers never reach these (403).
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...exceptions import DinteroError, PaymentError
from ...models import MAX_AMOUNT, Operation, Order, Payment
from ...payment_products import needs_whole_lines, whole_lines_message
from ...services import money
from ...services.balances import line_balances, whole_quantity
from .parsers import PARSERS
from .serializers import StrictIntegerField

PERMISSION = {
    "capture": "dintero_django.capture_payment",
    "refund": "dintero_django.refund_payment",
    "cancel": "dintero_django.cancel_payment",
}


#: HTTP status by outcome; accepted (202) and unknown answer 202: settled later.
STATUS_OF: dict[str, int] = {Operation.State.SUCCEEDED: 200, Operation.State.FAILED: 400}


class MoneyPermission(BasePermission):
    """Staff with the operation's own permission."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(PERMISSION[view.kind]))


class MoneyRequestSerializer(serializers.Serializer):
    amount = StrictIntegerField(required=False, min_value=1, max_value=MAX_AMOUNT)
    quantities = serializers.DictField(
        # A quantity of 0 would send a line of 0 (issue 13): leave the line out instead.
        child=StrictIntegerField(min_value=1, max_value=10_000),
        required=False,
        allow_empty=False,
        help_text='Line quantities by line_id, each at least 1, e.g. {"1": 2}. For Instabank and '
        "Collector payments, each line's whole quantity that is left.",
    )
    reason = serializers.CharField(required=False, max_length=255, allow_blank=True)

    def validate_quantities(self, value: dict[str, int]) -> dict[int, int]:
        try:
            return {int(key): quantity for key, quantity in value.items()}
        except ValueError:
            raise serializers.ValidationError(_("Keys must be line ids (integers).")) from None

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("amount") and data.get("quantities"):
            raise serializers.ValidationError(_("Give an amount or line quantities, not both."))
        if self.context.get("kind") == "refund" and not data.get("reason"):
            raise serializers.ValidationError({"reason": _("A refund needs a reason.")})
        payment = self.context.get("payment")
        if payment is not None and self.context.get("kind") != "cancel":
            _check_whole_lines(payment, self.context["kind"], data)
        return data


def _check_whole_lines(payment: Payment, kind: str, data: dict[str, Any]) -> None:
    """Instabank / Collector take whole lines: refuse an amount-only partial or part of a line."""
    if not needs_whole_lines(payment.payment_product_type):
        return
    op_kind = Operation.Kind.CAPTURE if kind == "capture" else Operation.Kind.REFUND
    balances = line_balances(payment)
    message = whole_lines_message(payment.payment_product_type)
    amount, quantities = data.get("amount"), data.get("quantities")
    if amount is not None:
        left = payment.capturable if op_kind == Operation.Kind.CAPTURE else payment.refundable
        if amount != left:
            raise serializers.ValidationError({"amount": message})
    whole = {b.line.line_id: whole_quantity(b, op_kind) for b in balances}
    for line_id, quantity in (quantities or {}).items():
        if line_id in whole and quantity != whole[line_id]:
            raise serializers.ValidationError({"quantities": message})


class OperationSerializer(serializers.ModelSerializer):
    follow_up = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "reference",
            "kind",
            "state",
            "amount",
            "items",
            "reason",
            "error_message",
            "follow_up",
            "created_at",
        ]
        read_only_fields = fields

    def get_follow_up(self, operation: Operation) -> str | None:
        """What is still to happen, e.g. "The capture succeeded; its Orders-API record follows."."""
        return money.follow_up(operation) or None


class MoneyOperationView(APIView):
    kind = "capture"
    permission_classes = [MoneyPermission]
    parser_classes = PARSERS

    @extend_schema(
        request=MoneyRequestSerializer,
        responses={
            200: OperationSerializer,
            202: OpenApiResponse(OperationSerializer, description="Accepted or outcome still unknown."),
            400: OpenApiResponse(description="Refused: amount, state or an operation in progress."),
            403: OpenApiResponse(description="Not staff with this operation's permission."),
            404: OpenApiResponse(description="No such order."),
            502: OpenApiResponse(description="Dintero could not be reached; nothing was recorded."),
        },
    )
    def post(self, request: Request, public_id: str) -> Response:
        order = get_object_or_404(Order, public_id=public_id)
        payment = Payment.objects.filter(order=order, is_active=True).first()
        if payment is None:
            return Response({"detail": "This order has no payment."}, status=status.HTTP_400_BAD_REQUEST)
        params = MoneyRequestSerializer(data=request.data, context={"kind": self.kind, "payment": payment})
        params.is_valid(raise_exception=True)
        try:
            operation = self._perform(payment, params.validated_data, request.user)
        except PaymentError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        except DinteroError as error:
            return Response({"detail": error.message}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(OperationSerializer(operation).data, status=STATUS_OF.get(operation.state, 202))

    def _perform(self, payment: Payment, data: dict[str, Any], user: Any) -> Operation:
        amount, quantities = data.get("amount"), data.get("quantities") or None
        if self.kind == "capture":
            return money.capture(payment.pk, amount=amount, quantities=quantities, user=user)
        if self.kind == "refund":
            return money.refund(
                payment.pk, amount=amount, quantities=quantities, reason=data["reason"], user=user
            )
        return money.cancel(payment.pk, user=user)


class CaptureView(MoneyOperationView):
    kind = "capture"


class RefundView(MoneyOperationView):
    kind = "refund"


class CancelView(MoneyOperationView):
    kind = "cancel"
