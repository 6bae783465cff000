"""services/sync.py: flags keep their transaction apart, and a reviewed flag is not raised again."""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.admin_review import clear_flag
from dintero_django.models import Payment, PaymentFlag
from dintero_django.services.sync import flag
from tests.helpers import start_and_pay

pytestmark = pytest.mark.timeout(60)


def test_a_flag_keeps_its_transaction_apart_and_a_reviewed_one_is_not_raised_again(
    shop: Any, django_user_model: Any
) -> None:
    _order, payment, tx = start_and_pay(shop)
    shop.control.wait_callbacks()
    payment.refresh_from_db()
    mirror = payment.raw
    clerk = django_user_model.objects.create_user("clerk")
    seen = shop.control.transaction(str(tx))

    flag(payment, "amount differs", tx=seen)
    payment.refresh_from_db()
    assert payment.needs_attention and payment.raw == mirror, "never written into the mirror"
    assert PaymentFlag.objects.get(payment=payment).transaction["id"] == tx

    assert clear_flag(payment.pk, clerk, "checked: the amount is right")
    flag(payment, "amount differs", tx=seen)  # the same transaction, the same reason: reviewed
    assert not Payment.objects.get(pk=payment.pk).needs_attention
    flag(payment, "amount differs", tx={**seen, "id": "T12345678.another"})  # something new
    assert Payment.objects.get(pk=payment.pk).needs_attention

    assert clear_flag(payment.pk, clerk, "checked the other one too")
    flag(payment, "sync crashed 3 times in a row; stopped retrying")
    assert clear_flag(payment.pk, clerk, "fixed the receiver that crashed")
    flag(payment, "sync crashed 3 times in a row; stopped retrying")  # no transaction: it recurred
    assert Payment.objects.get(pk=payment.pk).needs_attention
    cleared = PaymentFlag.objects.filter(payment=payment, cleared_by=clerk).count()
    assert cleared == 3
