"""Queries of the sync that turns a paid payment into an authorized, recorded one.

The same whatever the database holds; remote calls are counted in test_remote_calls.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.models import Operation, Payment
from dintero_django.tasks import sync_payment_task
from tests.helpers import start_and_pay
from tests.perf.data import populate

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("orders", [0, 100])
def test_authorization_sync(shop: Any, orders: int, django_assert_max_num_queries: Any) -> None:
    populate(orders)
    shop.control.add_fault(operation="callback", action="drop", times=1)  # the sync runs here instead
    _order, payment, tx = start_and_pay(shop)

    # 24, plus the lease's write fence (issue 19): one conditional UPDATE right before
    # the authorization record's POST and one after its answer.
    with django_assert_max_num_queries(26):
        sync_payment_task.apply(args=(payment.pk, tx))

    payment.refresh_from_db()
    assert payment.state == Payment.State.AUTHORIZED and not payment.sync_pending
    record = Operation.objects.get(payment=payment, kind=Operation.Kind.RECORD_AUTHORIZATION)
    assert record.state == Operation.State.SUCCEEDED
