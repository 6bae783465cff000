"""The dispatch port: services ask for later work through it, the tasks layer fills it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from dintero_django import tasks
from dintero_django.services import dispatch
from dintero_django.services.orders import LineInput, create_order, touch

pytestmark = [pytest.mark.timeout(60), pytest.mark.django_db(transaction=True)]


class Recorder:
    def __init__(self) -> None:
        self.pushed: list[int] = []
        self.recorded: list[int] = []

    def push_order(self, order_pk: int) -> None:
        self.pushed.append(order_pk)

    def record_operation(self, operation_pk: int) -> None:
        self.recorded.append(operation_pk)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    installed = dispatch._dispatcher
    recording = Recorder()
    dispatch.install(recording)
    yield recording
    dispatch.install(installed)


def test_the_app_fills_the_port_with_the_celery_tasks() -> None:
    assert isinstance(dispatch._dispatcher, tasks.CeleryDispatcher)


def test_an_empty_port_refuses_loudly() -> None:
    with pytest.raises(RuntimeError, match="not ready"):
        dispatch._Unset().push_order(1)


def test_touch_asks_the_port_for_a_push(recorder: Recorder, dintero_settings: Any) -> None:
    with transaction.atomic():
        order = create_order([LineInput("Chair", 1, 19900)])
    assert recorder.pushed == [order.pk], "the new order's draft is asked for through the port"
    before = order.revision
    touch(order)
    assert recorder.pushed == [order.pk, order.pk]
    order.refresh_from_db()
    assert order.revision == before + 1
    assert not order.dintero_draft_id, "nothing was pushed: the recorder only wrote it down"
