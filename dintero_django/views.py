"""Views Dintero and the customer's browser come back to.

The callback view is a doorbell: verify, claim and queue one sync, store the
delivery, answer fast. It never calls Dintero and never trusts the query
beyond using it to find the payment. It is the app's only CSRF-exempt view.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from .adapters import get_adapter
from .conf import get_settings
from .models import CallbackDelivery, Order, Payment, ReturnVisit
from .services.sync import TRANSACTION_ID_RE
from .signature import InvalidSignature, SigningSecrets, StaleSignature, verify_signature
from .tasks import enqueue_sync

logger = logging.getLogger("dintero_django.callbacks")

#: Headers worth keeping for audit; never Authorization or cookies.
KEPT_HEADERS = (
    "event-delivery",
    "user-agent",
    "dintero-signature",
    "content-type",
    "x-forwarded-for",
)
MAX_PARAM = 100
#: The errors Dintero's return URL names; anything else is not kept.
RETURN_ERRORS = ("cancelled", "authorization", "failed")
#: A stored delivery keeps at most this many parameters, names cut to MAX_NAME: without a
#: signature secret anyone can post junk, and each junk row must stay small (~4 KB).
MAX_PARAMS = 20
MAX_NAME = 40
#: The parameters Dintero sends (docs: callback_url), kept first when there are too many.
KNOWN_PARAMS = (
    "transaction_id",
    "session_id",
    "sid",
    "merchant_reference",
    "time",
    "event",
    "event_id",
    "error",
    "method",
)
#: Payment states in which the customer's return may still change something worth a read.
RETURN_SYNC_STATES = (Payment.State.CREATED, Payment.State.AWAITING, Payment.State.PENDING)


@csrf_exempt
@login_not_required
@transaction.non_atomic_requests
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    received_at = timezone.now()
    params = bounded_params(request)
    stale = False
    try:
        signature_ok = _verify(request)
    except StaleSignature:
        # The HMAC is right, only its t is old (a late retry, or a replay). Dintero never
        # retries a 4xx, and all this can do is make us read the transaction with our
        # own credentials: accept it, marked stale.
        signature_ok, stale = True, True
    except InvalidSignature as error:
        logger.warning("Refused Dintero callback: %s", error)
        return HttpResponseBadRequest("invalid signature")
    transaction_id = params.get("transaction_id", "")
    if transaction_id and not TRANSACTION_ID_RE.match(transaction_id):
        return HttpResponseBadRequest("malformed transaction_id")
    payment = _find_payment(params)
    if payment is None:
        # Not committed yet (or not ours): 5xx makes Dintero retry, a 4xx would not.
        outcome = CallbackDelivery.Outcome.UNKNOWN_ORDER
        _store(request, received_at, params, (signature_ok, stale), outcome, None, dedupe=False)
        return HttpResponse("order not known yet", status=503)
    # Claim (and queue) the sync before storing the delivery: a delivery stored without
    # its sync would make Dintero's retry look like a repeat, and nothing would be
    # queued until the reconciler came. Two autocommit statements cost fewer round
    # trips than one transaction (BEGIN, COMMIT) and the same work.
    queued = enqueue_sync(payment, transaction_id or None, event_id=params.get("event_id") or None)
    outcome = CallbackDelivery.Outcome.ACCEPTED if queued else CallbackDelivery.Outcome.QUEUED_ALREADY
    # IntegrityError: a repeat of a stored delivery; its sync is claimed already, or ran.
    with suppress(IntegrityError):
        _store(request, received_at, params, (signature_ok, stale), outcome, payment)
    return HttpResponse(status=200)


def bounded_params(request: HttpRequest) -> dict[str, str]:
    """The query as stored: Dintero's parameters first, at most MAX_PARAMS, all cut short."""
    names = [name for name in KNOWN_PARAMS if name in request.GET]
    names += [name for name in request.GET if name not in KNOWN_PARAMS][: MAX_PARAMS - len(names)]
    return {storable(name, MAX_NAME): storable(request.GET.get(name, ""), MAX_PARAM) for name in names}


def storable(value: object, limit: int) -> str:
    """``value`` as text a database can hold and compare: cut short, without NUL.

    PostgreSQL refuses a NUL character in any text or JSON value (a 500 for the
    anonymous URL that sent it); no Dintero parameter ever contains one.
    """
    return str(value).replace("\x00", "")[:limit]


@sensitive_variables()
def _verify(request: HttpRequest) -> bool | None:
    """True when signed right, None without a secret; raises InvalidSignature otherwise.

    No secret is ever held in a local here or in verify_signature (SigningSecrets keeps
    them), so not even Django's DEBUG page could show one if this raised.
    """
    conf = get_settings()
    if not conf.signature_secrets:
        return None
    host = conf.CALLBACK_HOSTNAME or request.get_host().split(":")[0]
    url = f"{request.scheme}://{host}{request.get_full_path()}"
    verify_signature(
        request.headers.get("Dintero-Signature"),
        secrets=SigningSecrets(conf.signature_secrets),
        account_id=conf.ACCOUNT_ID,
        method=request.method or "GET",
        url=url,
        tolerance=conf.SIGNATURE_TOLERANCE,
    )
    return True


def _find_payment(params: dict[str, str]) -> Payment | None:
    session_id = params.get("session_id") or params.get("sid")
    if session_id:
        payment = Payment.objects.filter(session_id=session_id).only("pk").first()
        if payment:
            return payment
    reference = params.get("merchant_reference")
    if reference:
        return Payment.objects.filter(order__dintero_order_id=reference, is_active=True).only("pk").first()
    return None


def _store(
    request: HttpRequest,
    received_at: datetime,
    params: dict[str, str],
    signature: tuple[bool | None, bool],
    outcome: str,
    payment: Payment | None,
    *,
    dedupe: bool = True,
) -> None:
    """Store the delivery; IntegrityError when this event-delivery id was stored before."""
    headers = {name: storable(request.headers[name], 200) for name in KEPT_HEADERS if name in request.headers}
    delivery_id = storable(request.headers.get("event-delivery", ""), 100) or None
    CallbackDelivery.objects.create(
        received_at=received_at,
        method=request.method or "GET",
        query=params,
        headers=headers,
        remote_addr=request.META.get("REMOTE_ADDR") or None,
        event_delivery=delivery_id if dedupe else None,
        transaction_id=params.get("transaction_id", ""),
        session_id=params.get("session_id") or params.get("sid") or "",
        merchant_reference=params.get("merchant_reference", ""),
        event=params.get("event", "")[:16],
        error=params.get("error", "")[:32],
        signature_valid=signature[0],
        signature_stale=signature[1],
        outcome=outcome,
        payment=payment,
    )


@require_GET
def return_view(request: HttpRequest) -> HttpResponse:
    """The customer is back from Dintero: sync now (in a task) and show the result."""
    reference = storable(request.GET.get("merchant_reference", ""), MAX_PARAM)
    order = Order.objects.filter(dintero_order_id=reference).first() if reference else None
    if order is None:
        raise Http404("Unknown order")
    # Only a payment still waiting can learn anything from a read, and a sync already
    # queued is not queued again (enqueue_sync claims it): however often this anonymous
    # URL is opened, one sync at a time. The hint is unverified: the sync reads it with
    # our own credentials and uses it only if it is this payment's own transaction.
    payment = order.payments.filter(is_active=True, state__in=RETURN_SYNC_STATES).only("pk").first()
    hint = storable(request.GET.get("transaction_id", ""), MAX_PARAM)
    if payment is not None:
        enqueue_sync(payment, hint if TRANSACTION_ID_RE.match(hint) else None)
    error = request.GET.get("error", "")
    _note_return(order, error)
    target = get_adapter().result_url(order)
    if error in RETURN_ERRORS:
        target += ("&" if "?" in target else "?") + f"error={error}"
    return HttpResponseRedirect(target)


def _note_return(order: Order, error: str) -> None:
    """A line for the staff timeline, bounded per order; the payment is not touched."""
    if ReturnVisit.objects.filter(order=order).count() < ReturnVisit.MAX_PER_ORDER:
        known = error if error in RETURN_ERRORS else ""
        ReturnVisit.objects.create(order=order, error=known)


@require_GET
def result(request: HttpRequest, public_id: str) -> HttpResponse:
    """A minimal result page; shops normally set DINTERO['RESULT_URL'] to their own."""
    order = get_object_or_404(Order, public_id=public_id)
    payment = order.payments.filter(is_active=True).first()
    context = {"order": order, "payment": payment, "error": request.GET.get("error", "")}
    return render(request, "dintero_django/result.html", context)
