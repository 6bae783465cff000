"""The fastest callback we could write: the ceiling the callback path is measured against.

It does what the callback must do to be durable and queue at most one sync, and
nothing else: check the signature, then ONE PostgreSQL statement (find the payment,
store the delivery unless its event-delivery id was stored before, claim the sync)
in autocommit, then publish the sync task to Redis through Celery. No ORM, no
second code path for SQLite, no 503 bookkeeping for unknown orders, no logging:
fine for a measurement, not for the app. bench/callback_throughput.py --ceiling
runs it beside the real callback and the minimal view (``/bench/ceiling/``).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt

from dintero_django.models import CallbackDelivery, Payment
from dintero_django.signature import InvalidSignature
from dintero_django.views import KEPT_HEADERS, MAX_PARAM, _verify

PATH = "/bench/ceiling/"
_PAYMENT = Payment._meta.db_table
_DELIVERY = CallbackDelivery._meta.db_table
_COLUMNS = (
    "received_at, method, query, headers, remote_addr, event_delivery, transaction_id,"
    " session_id, merchant_reference, event, error, signature_valid, outcome, detail, payment_id"
)
# Data-modifying CTEs run whatever the outer SELECT reads, in one snapshot: the
# claim sees only the row this statement inserted (none for a repeated delivery).
# Only the table names are formatted in (from the models); every value is a parameter.
SQL = f"""
WITH found AS (SELECT id FROM {_PAYMENT} WHERE session_id = %(session_id)s),
stored AS (
    INSERT INTO {_DELIVERY} ({_COLUMNS})
    SELECT now(), %(method)s, %(query)s::jsonb, %(headers)s::jsonb, %(remote_addr)s,
           %(delivery)s, %(transaction_id)s, %(session_id)s, %(reference)s, '', '',
           %(signature_ok)s, 'accepted', '', found.id
    FROM found
    ON CONFLICT (event_delivery) DO NOTHING
    RETURNING payment_id
),
claimed AS (
    UPDATE {_PAYMENT} SET sync_pending = true FROM stored
    WHERE {_PAYMENT}.id = stored.payment_id AND NOT {_PAYMENT}.sync_pending
    RETURNING {_PAYMENT}.id
)
SELECT (SELECT id FROM found), (SELECT id FROM claimed)
"""  # noqa: S608


@csrf_exempt
@login_not_required
def ceiling(request: HttpRequest) -> HttpResponse:
    from dintero_django.tasks import sync_payment_task

    params = {key: str(value)[:MAX_PARAM] for key, value in request.GET.items()}
    try:
        signature_ok = _verify(request)
    except InvalidSignature:
        return HttpResponseBadRequest("invalid signature")
    headers = {name: request.headers[name][:200] for name in KEPT_HEADERS if name in request.headers}
    values = {
        "session_id": params.get("session_id", ""),
        "method": request.method,
        "query": json.dumps(params),
        "headers": json.dumps(headers),
        "remote_addr": request.META.get("REMOTE_ADDR") or None,
        "delivery": request.headers.get("event-delivery") or None,
        "transaction_id": params.get("transaction_id", ""),
        "reference": params.get("merchant_reference", ""),
        "signature_ok": signature_ok,
    }
    with connection.cursor() as cursor:
        cursor.execute(SQL, values)
        found, claimed = cursor.fetchone()
    if found is None:
        return HttpResponse("order not known yet", status=503)
    if claimed is not None:
        sync_payment_task.delay(claimed, values["transaction_id"] or None, None)
    return HttpResponse(status=200)
