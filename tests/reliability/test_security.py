"""Security: the authorization matrix, ownership probes, forged callbacks, CSRF exemptions.

(The OpenAPI fuzzing is in test_schema_fuzz.py, the log scan in test_zz_secrets_in_logs.py.)
"""

from __future__ import annotations

import http.client
import json
import random
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dintero_django.conf import get_settings
from dintero_django.models import CallbackDelivery, Operation, Order, Payment
from dintero_django.signature import signature_header

from .harness import report
from .harness.admin import make_user
from .harness.config import SEED, rng, size
from .harness.delivery import Deliverer
from .harness.shopping import callback_params, new_order, open_checkout, paid_payment, signed_url_and_header

pytestmark = [pytest.mark.sqlite_leg, pytest.mark.timeout(600)]

PRINCIPALS = (
    "anonymous",
    "customer_a",
    "customer_b",
    "staff_none",
    "staff_view",
    "staff_capture",
    "staff_refund",
    "staff_cancel",
    "superuser",
)
MONEY_PERMS = {
    "staff_capture": "capture_payment",
    "staff_refund": "refund_payment",
    "staff_cancel": "cancel_payment",
}
STAFF = {"staff_none", "staff_view", "staff_capture", "staff_refund", "staff_cancel", "superuser"}

# Endpoint -> what each principal gets. "302" is the admin's redirect to its login page;
# "200:n" a listing with n orders; "moved"/"kept" whether the bulk action captured money.
STOREFRONT_LIST = {p: "200:2" if p == "customer_a" else "200:0" for p in PRINCIPALS}  # A owns two
STOREFRONT_DETAIL = {p: "200" if p == "customer_a" else "404" for p in PRINCIPALS}
STOREFRONT_CHECKOUT = {p: "409" if p == "customer_a" else "404" for p in PRINCIPALS}  # A's order is paid
STOREFRONT_CREATE = dict.fromkeys(PRINCIPALS, "201")  # guests may order


def _staff_api(kind: str) -> dict[str, str]:
    # Allowed: the request reaches the view, which refuses it (the order has no payment).
    allowed = {"superuser", f"staff_{kind}"}
    return {p: "400" if p in allowed else "403" for p in PRINCIPALS}


def _admin_view(kind: str) -> dict[str, str]:
    allowed = {"superuser", f"staff_{kind}"}
    return {p: "200" if p in allowed else ("403" if p in STAFF else "302") for p in PRINCIPALS}


def _bulk() -> dict[str, str]:
    # Without the permission the action is not offered: with no action at all Django shows
    # the list again (200), with other actions it answers "No action selected" (302).
    table = dict.fromkeys(PRINCIPALS, "302:kept")
    table.update({"staff_view": "200:kept", "staff_refund": "200:kept"})
    table.update({"anonymous": "302:login", "customer_a": "302:login", "customer_b": "302:login"})
    table.update({"staff_none": "403:kept", "staff_capture": "302:moved", "superuser": "302:moved"})
    return table


EXPECTED: dict[str, dict[str, str]] = {
    "GET /api/dintero/orders/": STOREFRONT_LIST,
    "POST /api/dintero/orders/": STOREFRONT_CREATE,
    "GET /api/dintero/orders/{a}/": STOREFRONT_DETAIL,
    "POST /api/dintero/orders/{a}/checkout/": STOREFRONT_CHECKOUT,
    **{
        f"POST /api/dintero/staff/orders/{{unpaid}}/{k}/": _staff_api(k)
        for k in ("capture", "refund", "cancel")
    },
    **{
        f"GET /admin/dintero_django/order/{{pk}}/{k}/": _admin_view(k)
        for k in ("capture", "refund", "cancel")
    },
    "POST /admin/dintero_django/order/ capture_remaining": _bulk(),
}


def _session(base: str, user: Any) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.headers["Accept"] = "application/json"
    if user is not None:
        client = Client()
        client.force_login(user)
        http.cookies.set("sessionid", client.cookies["sessionid"].value)
    # Any page with a form sets the CSRF cookie.
    http.get(f"{base}/admin/login/", timeout=30)
    return http


def _users(django_user_model: Any) -> dict[str, Any]:
    users: dict[str, Any] = {"anonymous": None}
    users["customer_a"] = django_user_model.objects.create_user("customer_a", password="pw")
    users["customer_b"] = django_user_model.objects.create_user("customer_b", password="pw")
    users["staff_none"] = make_user(django_user_model, "staff_none")
    users["staff_view"] = make_user(django_user_model, "staff_view", "view_order")
    for name, perm in MONEY_PERMS.items():
        users[name] = make_user(django_user_model, name, "view_order", perm)
    users["superuser"] = make_user(django_user_model, "root", superuser=True)
    return users


def test_authorization_matrix(shop: Any, django_user_model: Any) -> None:
    rnd = rng("matrix")
    users = _users(django_user_model)
    paid, _tx = paid_payment(rnd, shop.control)
    Order.objects.filter(pk=paid.order_id).update(customer=users["customer_a"])
    unpaid = new_order(rnd, customer=users["customer_a"])
    observed: dict[str, dict[str, str]] = {endpoint: {} for endpoint in EXPECTED}
    for name in PRINCIPALS:
        http = _session(shop.url, users[name])
        token = {"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": shop.url}

        def call(method: str, path: str, http: requests.Session = http, **kw: Any) -> requests.Response:
            return http.request(method, shop.url + path, timeout=60, allow_redirects=False, **kw)

        a, pk = paid.order.public_id, paid.order_id
        listing = call("GET", "/api/dintero/orders/")
        observed["GET /api/dintero/orders/"][name] = f"{listing.status_code}:{len(listing.json())}"
        created = call("POST", "/api/dintero/orders/", headers=token, json={
            "lines": [{"description": "x", "quantity": 1, "unit_amount": 100}]})  # fmt: skip
        observed["POST /api/dintero/orders/"][name] = str(created.status_code)
        observed["GET /api/dintero/orders/{a}/"][name] = str(
            call("GET", f"/api/dintero/orders/{a}/").status_code
        )
        checkout = call("POST", f"/api/dintero/orders/{a}/checkout/", headers=token, json={})
        observed["POST /api/dintero/orders/{a}/checkout/"][name] = str(checkout.status_code)
        for kind in ("capture", "refund", "cancel"):
            api = call("POST", f"/api/dintero/staff/orders/{unpaid.public_id}/{kind}/", headers=token,
                       json={"amount": 1, "reason": "matrix"})  # fmt: skip
            observed[f"POST /api/dintero/staff/orders/{{unpaid}}/{kind}/"][name] = str(api.status_code)
            page = call("GET", f"/admin/dintero_django/order/{pk}/{kind}/")
            observed[f"GET /admin/dintero_django/order/{{pk}}/{kind}/"][name] = str(page.status_code)
        observed["POST /admin/dintero_django/order/ capture_remaining"][name] = _bulk_as(
            shop, rnd, call, token
        )
    report.record(
        "security-matrix",
        principals=len(PRINCIPALS),
        endpoints=len(EXPECTED),
        cells=sum(len(v) for v in observed.values()),
        mismatches=sum(observed[e][p] != EXPECTED[e][p] for e in EXPECTED for p in PRINCIPALS),
    )
    wrong = {f"{e} as {p}": (observed[e][p], EXPECTED[e][p]) for e in EXPECTED for p in PRINCIPALS
             if observed[e][p] != EXPECTED[e][p]}  # fmt: skip
    assert wrong == {}, "(observed, expected): " + repr(wrong)


def _bulk_as(shop: Any, rnd: random.Random, call: Any, token: dict[str, str]) -> str:
    """The bulk capture on a fresh paid order; did money move?"""
    payment, _tx = paid_payment(rnd, shop.control)
    response = call(
        "POST",
        "/admin/dintero_django/order/",
        headers=token,
        data={"action": "capture_remaining", "_selected_action": [str(payment.order_id)], "index": "0",
              "csrfmiddlewaretoken": token["X-CSRFToken"]},
    )  # fmt: skip
    payment.refresh_from_db()
    if response.status_code == 302 and "/admin/login/" in response.headers.get("Location", ""):
        return "302:login"
    return f"{response.status_code}:{'moved' if payment.captured_amount else 'kept'}"


def test_ownership_probes_never_leak(shop: Any, django_user_model: Any) -> None:
    """1,000 requests for other customers' orders or guessed ids: always 404, nothing leaked."""
    rnd = rng("probes")
    owner = django_user_model.objects.create_user("owner", password="pw")
    mallory = django_user_model.objects.create_user("mallory", password="pw")
    orders = [new_order(rnd, customer=owner) for _ in range(10)]
    guest = requests.Session()
    guest_order = guest.post(f"{shop.url}/api/dintero/orders/", timeout=30, json={
        "lines": [{"description": "guest", "quantity": 1, "unit_amount": 4242}]}).json()  # fmt: skip
    secrets_of = [str(o.public_id) for o in orders] + [guest_order["id"], "4242"]
    sessions = {"mallory": _session(shop.url, mallory), "anonymous": _session(shop.url, None)}
    total = size(1000, 5000)
    statuses: Counter[str] = Counter()
    leaks = []
    for index in range(total):
        who = rnd.choice(list(sessions))
        http = sessions[who]
        guessed = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        target = rnd.choice(
            [str(rnd.choice(orders).public_id)] * 4
            + [guest_order["id"], guessed, str(rnd.randint(1, 10_000)), rnd.choice(orders).public_id.hex]
            + ["..%2F..%2Fadmin", str(uuid.uuid1())]
        )
        method, path = rnd.choice(
            [("GET", f"/api/dintero/orders/{target}/"), ("POST", f"/api/dintero/orders/{target}/checkout/")]
        )
        headers = {"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": shop.url}
        response = http.request(method, shop.url + path, headers=headers, json={}, timeout=30)
        statuses[str(response.status_code)] += 1
        if response.status_code != 404 or any(s in response.text for s in secrets_of):
            leaks.append(f"{index} {who} {method} {path} -> {response.status_code} {response.text[:100]}")
    report.record("security-probes", requests=total, statuses=dict(statuses), leaks=len(leaks))
    assert leaks == [], leaks[:10]
    assert not Payment.objects.filter(order__customer=owner).exists(), "a probe started a checkout"


# A correct HMAC with an old or future t is no forgery: it is accepted, marked stale
# (test_a_correct_hmac_with_an_old_t_is_accepted_and_marked_stale). Signed with the
# wrong secret, a stale or future t is still refused.
TAMPERS = (
    "wrong_secret", "unsigned", "empty_header", "stale_wrong_secret", "future_wrong_secret",
    "other_query", "extra_param", "dropped_param", "other_method", "other_path", "other_host",
    "other_account", "truncated_digest", "uppercase_garbage", "two_timestamps",
    "replayed_stale_copy_wrong_secret", "malformed", "huge_timestamp",
)  # fmt: skip


def test_forged_stale_and_tampered_callbacks_are_refused(shop: Any) -> None:
    rnd = rng("forged")
    from dintero_django.conf import get_settings

    conf = get_settings()
    secret = conf.signature_secrets[0]
    targets = []
    for _ in range(size(10, 40)):
        shop.control.add_fault("callback", "drop", times=1)  # the genuine one never arrives
        payment = open_checkout(new_order(rnd))
        tx = shop.control.pay(payment.session_id, "AUTHORIZED")["transaction_id"]
        targets.append((payment, tx))
    deliverer = Deliverer()
    refused: Counter[str] = Counter()
    accepted = []
    attempts = 0
    for payment, tx in targets:
        params = callback_params(payment, tx)
        url = f"{shop.url}/dintero/callback/?{urlencode(params)}"
        now = int(time.time())
        for tamper in TAMPERS:
            attempts += 1
            status = _forge(deliverer, tamper, url, params, shop.url, secret, conf.ACCOUNT_ID, now, rnd)
            if status == 400:
                refused[tamper] += 1
            else:
                accepted.append(f"{tamper} -> {status}")
    untouched = all(Payment.objects.get(pk=p.pk).state == Payment.State.AWAITING for p, _ in targets)
    stored = CallbackDelivery.objects.filter(transaction_id__in=[tx for _, tx in targets]).count()
    report.record(
        "security-forged-callbacks",
        attempts=attempts,
        kinds=len(TAMPERS),
        refused=sum(refused.values()),
        accepted=len(accepted),
        payments_touched=0 if untouched else 1,
        stored=stored,
    )
    assert accepted == [], accepted[:10]
    assert untouched and stored == 0
    assert not Operation.objects.filter(kind="record_authorization").exists()
    # ...while the same callback, signed properly, is accepted (the forgeries were the only difference).
    payment, tx = targets[0]
    assert deliverer.deliver(f"{shop.url}/dintero/callback/?{urlencode(callback_params(payment, tx))}") == 200


def _forge(
    d: Deliverer, tamper: str, url: str, params: dict[str, str], base: str, secret: str, account: str,
    now: int, rnd: random.Random,
) -> int:  # fmt: skip
    def header(
        signed_url: str, *, key: str = secret, stamp: int = now, method: str = "GET", acct: str = account
    ) -> str:
        return signature_header(key, acct, method, signed_url, stamp)

    last = params["transaction_id"][-1]
    other = dict(params, transaction_id=params["transaction_id"][:-1] + ("Y" if last == "X" else "X"))
    raw: dict[str, str | None] = {
        "wrong_secret": header(url, key="not-the-secret"),
        "unsigned": None,
        "empty_header": "",
        "stale_wrong_secret": header(url, key="not-the-secret", stamp=now - 301 - rnd.randint(0, 10_000)),
        "future_wrong_secret": header(url, key="not-the-secret", stamp=now + 301 + rnd.randint(0, 10_000)),
        "other_query": header(f"{base}/dintero/callback/?{urlencode(other)}"),
        "extra_param": header(url),  # sent with an extra parameter below
        "dropped_param": header(url),  # sent without merchant_reference below
        "other_method": header(url, method="POST"),
        "other_path": header(url.replace("/dintero/callback/", "/dintero/return/")),
        "other_host": header(
            url.replace("localhost", "shop.example.com").replace("127.0.0.1", "shop.example.com")
        ),
        "other_account": header(url, acct="T99999999"),
        "truncated_digest": header(url)[:-8],
        "uppercase_garbage": f"t={now},v0-hmac-sha256={'A' * 64}",
        "two_timestamps": f"t={now},t={now}," + header(url).split(",", 1)[1],
        "replayed_stale_copy_wrong_secret": header(url, key="not-the-secret", stamp=now - 3600),
        "malformed": "t=abc,v0=1",
        # Issue 13: int() raises past 4,300 digits, which was a 500 (and a DEBUG page).
        "huge_timestamp": "t=" + "9" * 5000 + "," + header(url).split(",", 1)[1],
    }
    sent_url = url
    if tamper == "extra_param":
        sent_url = url + "&amount=1"
    elif tamper == "dropped_param":
        sent_url = f"{base}/dintero/callback/?{urlencode({k: v for k, v in params.items() if k != 'time'})}"
    value = raw[tamper]
    headers = {} if value is None else {"Dintero-Signature": value}
    return d.deliver(sent_url, secret="", headers=headers)


def _walk(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


def test_exactly_one_csrf_exempt_view(shop: Any, django_user_model: Any) -> None:
    """Walk every URL: only the callback view is CSRF-exempt outside DRF.

    DRF's ``APIView.as_view()`` marks every API view ``csrf_exempt`` by construction and
    moves the check into ``SessionAuthentication`` (enforced for session-authenticated
    requests). So DRF views are checked separately: each must authenticate with
    SessionAuthentication (or no session at all), and a logged-in staff POST without the
    token must be refused with 403.
    """
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.views import APIView

    exempt_plain, drf_views, checked = [], [], 0
    for route, callback in _walk(get_resolver()):
        checked += 1
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            drf_views.append((route, view_class))
            continue
        if getattr(callback, "csrf_exempt", False):
            exempt_plain.append(route)
    sessions_ok = all(
        any(issubclass(a, SessionAuthentication) for a in view.authentication_classes)
        or not view.authentication_classes
        for _, view in drf_views
    )
    superuser = make_user(django_user_model, "root", superuser=True)
    http = _session(shop.url, superuser)
    no_token = [
        http.post(
            f"{shop.url}/api/dintero/staff/orders/{uuid.uuid4()}/{kind}/", json={}, timeout=30
        ).status_code
        for kind in ("capture", "refund", "cancel")
    ] + [http.post(f"{shop.url}/api/dintero/orders/", json={}, timeout=30).status_code]
    report.record(
        "security-csrf",
        routes=checked,
        csrf_exempt_plain=exempt_plain,
        drf_views=len(drf_views),
        drf_session_auth=sessions_ok,
        posts_without_token=dict(Counter(map(str, no_token))),
    )
    assert exempt_plain == ["dintero/callback/"], exempt_plain
    assert sessions_ok
    assert no_token == [403] * 4, "DRF must enforce CSRF for session-authenticated requests"


# -- issue 13 item 1: the Dintero-Signature header parser ----------------------------


def _raw_get(base: str, path: str, signature: bytes | None) -> int:
    """GET ``path`` with the header's exact bytes (requests would re-encode or refuse them)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.putrequest("GET", path)
        if signature is not None:
            conn.putheader("Dintero-Signature", signature)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return int(response.status)
    finally:
        conn.close()


def _header_bytes(valid: str) -> st.SearchStrategy[bytes]:
    """Any bytes a header can carry, and near misses of the valid header."""
    digits = st.integers(min_value=0, max_value=6000).map(lambda n: b"t=" + b"9" * n)
    anything = st.binary(max_size=2000)
    near = st.tuples(st.integers(0, len(valid)), st.binary(max_size=40), st.booleans()).map(
        lambda t: (
            valid.encode()[: t[0]] + t[1] + (valid.encode()[t[0] + 1 :] if t[2] else valid.encode()[t[0] :])
        )
    )
    fields = st.lists(
        st.tuples(st.sampled_from([b"t", b"v0-hmac-sha256", b"x", b""]), st.binary(max_size=80)), max_size=12
    ).map(lambda kv: b",".join(k + b"=" + v for k, v in kv))
    return st.one_of(digits, anything, near, fields, st.just(valid.encode())).map(
        # HTTP cannot carry a bare CR or LF inside a header value.
        lambda raw: raw.replace(b"\r", b" ").replace(b"\n", b" ")
    )


def test_any_signature_header_gets_400_or_200_never_500(shop: Any) -> None:
    """Hypothesis sends any bytes as Dintero-Signature through the real callback view."""
    rnd = rng("signature-fuzz")
    payment, tx = paid_payment(rnd, shop.control)
    url, headers = signed_url_and_header(shop.url, callback_params(payment, tx))
    path = url.removeprefix(shop.url)
    statuses: Counter[int] = Counter()

    @seed(SEED)
    @hsettings(max_examples=size(200, 2000), deadline=None, database=None,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(raw=_header_bytes(headers["Dintero-Signature"]))
    def send(raw: bytes) -> None:
        status = _raw_get(shop.url, path, raw)
        statuses[status] += 1
        assert status in (200, 400), (status, raw[:200])

    before = CallbackDelivery.objects.count()
    send()
    statuses[_raw_get(shop.url, path, None)] += 1  # no header at all
    stored = CallbackDelivery.objects.count() - before
    report.record("security-signature-fuzz", requests=sum(statuses.values()),
                  statuses=dict(statuses), stored=stored)  # fmt: skip
    assert set(statuses) <= {200, 400}
    assert stored == statuses[200], "a refused callback stores nothing"


def test_the_signature_secret_is_in_no_error_report(shop: Any, settings: Any, monkeypatch: Any) -> None:
    """An exception while verifying: neither the DEBUG page nor the e-mail report shows the secret."""
    import hmac as real_hmac
    import types

    from django.views.debug import ExceptionReporter

    from dintero_django import signature as signature_module

    secret = get_settings().signature_secrets[0]

    def boom(*args: Any) -> bool:
        raise RuntimeError("forced failure while comparing signatures")

    monkeypatch.setattr(
        signature_module, "hmac", types.SimpleNamespace(new=real_hmac.new, compare_digest=boom)
    )
    rnd = rng("secret-report")
    payment = open_checkout(new_order(rnd))
    url, headers = signed_url_and_header("http://testserver", callback_params(payment, None))
    leaks = {}
    for debug in (True, False):
        settings.DEBUG = debug
        client = Client(raise_request_exception=False)
        response = client.get(url.removeprefix("http://testserver"), headers=headers)
        assert response.status_code == 500
        exc_type, exc_value, tb = response.exc_info  # type: ignore[attr-defined]
        reporter = ExceptionReporter(response.wsgi_request, exc_type, exc_value, tb, is_email=not debug)
        for name, text in (
            ("page", response.content.decode()),
            ("html", reporter.get_traceback_html()),
            ("text", reporter.get_traceback_text()),
        ):
            leaks[f"debug={debug} {name}"] = secret in text
    report.record("security-secret-in-reports", reports=len(leaks), leaks=sum(leaks.values()))
    assert not any(leaks.values()), leaks


# -- issue 12 item 5: a genuine callback is never refused for good ---------------------


def test_a_correct_hmac_with_an_old_t_is_accepted_and_marked_stale(shop: Any) -> None:
    rnd = rng("stale-hmac")
    deliverer = Deliverer()
    cases = {
        "stale": -301 - rnd.randint(0, 10_000),
        "an hour old": -3600,
        "future": 301 + rnd.randint(0, 10_000),
    }
    outcomes = {}
    for name, offset in cases.items():
        shop.control.add_fault("callback", "drop", times=1)  # the emulator's own never arrives
        payment = open_checkout(new_order(rnd))
        tx = shop.control.pay(payment.session_id, "AUTHORIZED")["transaction_id"]
        url = f"{shop.url}/dintero/callback/?{urlencode(callback_params(payment, tx))}"
        stamp = int(time.time()) + offset
        wrong = deliverer.deliver(url, secret="not-the-secret", timestamp=stamp, delivery_id=f"{name}-forged")
        assert wrong == 400, "a wrong HMAC is refused, stale or not"
        assert not CallbackDelivery.objects.filter(payment=payment).exists()
        status = deliverer.deliver(url, timestamp=stamp, delivery_id=f"{name}-genuine")
        payment.refresh_from_db()
        delivery = CallbackDelivery.objects.get(event_delivery=f"{name}-genuine")
        outcomes[name] = (status, delivery.signature_valid, delivery.signature_stale, payment.state)
    report.record(
        "security-stale-hmac", cases=len(cases), accepted=sum(o[0] == 200 for o in outcomes.values())
    )
    # Accepted, stored as stale, and all it did was make us read the transaction ourselves.
    assert outcomes == dict.fromkeys(cases, (200, True, True, Payment.State.AUTHORIZED)), outcomes


# -- issue 13: junk callbacks without a secret are stored small ----------------------


def test_junk_callbacks_without_a_secret_store_a_bounded_row(shop: Any, settings: Any) -> None:
    """Without a signature secret anyone may call the callback URL: each row stays small."""
    settings.DINTERO = {**settings.DINTERO, "SIGNATURE_SECRET": ""}
    query = {"merchant_reference": "X" * 5000, "event": "E" * 5000}
    query.update({("n" * 1000) + str(i): "v" * 500 for i in range(30)})
    sent = urlencode(query)
    response = requests.get(
        f"{shop.url}/dintero/callback/?{sent}", headers={"User-Agent": "u" * 5000}, timeout=60
    )
    delivery = CallbackDelivery.objects.get()
    stored = len(json.dumps(delivery.query)) + len(json.dumps(delivery.headers))
    report.record(
        "security-junk-callback", sent_bytes=len(sent), stored_bytes=stored, params_kept=len(delivery.query)
    )
    assert response.status_code == 503, "an unknown order: Dintero would retry a genuine one"
    assert stored < 5_000, stored
    assert delivery.query["merchant_reference"] == "X" * 100, "Dintero's own parameters are kept first"


# -- issue 13 item 2: a paid order held hostage through an unverified hint -----------


def foreign_transaction(rnd: random.Random, control: Any, events: int) -> str:
    """Another customer's paid transaction with ``events`` events (2: authorized; more: captures)."""
    _payment, tx = paid_payment(rnd, control)
    for _ in range(events - 2):
        control.backoffice_capture(tx, 1)  # its callback syncs that payment: the audit stays exact
    control.wait_callbacks()
    assert len(control.transaction(str(tx))["events"]) == events
    return str(tx)


def hint(base: str, via: str, reference: str, tx: str) -> int:
    """The attack: the victim's order reference and a foreign transaction, unauthenticated."""
    query = urlencode({"merchant_reference": reference, "transaction_id": tx})
    path = "/dintero/return/" if via == "return" else "/dintero/callback/"
    return requests.get(f"{base}{path}?{query}", timeout=60, allow_redirects=False).status_code


@pytest.mark.parametrize("events", [2, 4], ids=["foreign-2-events", "foreign-4-events"])
@pytest.mark.parametrize("via", ["return", "callback"])
def test_an_unverified_hint_never_holds_a_paid_order_hostage(
    shop: Any, settings: Any, via: str, events: int
) -> None:
    """Issue 13: the victim's mirror took the foreign transaction (awaiting forever with more
    events; authorized but flagged, capture refused, with 2). A hint may only make us read."""
    from dintero_django.models import PaymentFlag
    from dintero_django.services import money

    if via == "callback":  # without a secret, the callback's query is as unverified as the return URL
        settings.DINTERO = {**settings.DINTERO, "SIGNATURE_SECRET": ""}
    rnd = rng(f"hostage-{via}-{events}")
    foreign = foreign_transaction(rnd, shop.control, events)
    victim = open_checkout(new_order(rnd))
    before = Payment.objects.values().get(pk=victim.pk)

    status = hint(shop.url, via, str(victim.order.dintero_order_id), foreign)

    after = Payment.objects.values().get(pk=victim.pk)
    # Our own read of the payment's session (the only thing a hint may trigger) stamps
    # when we last read; nothing about the payment itself may change.
    stamps = ("updated_at", "last_synced_at")
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k] and k not in stamps}
    assert status in (200, 302) and changed == {}, changed
    kept_apart = PaymentFlag.objects.get(payment=victim)
    assert (kept_apart.kind, kept_apart.transaction_id) == (PaymentFlag.Kind.FOREIGN_HINT, foreign)

    paid = shop.control.pay(victim.session_id, "AUTHORIZED")  # its own callback is delivered
    shop.control.wait_callbacks()
    victim.refresh_from_db()
    assert (victim.state, victim.transaction_id, victim.needs_attention) == (
        Payment.State.AUTHORIZED, paid["transaction_id"], False)  # fmt: skip
    assert victim.raw["id"] == paid["transaction_id"]
    capture = money.capture(victim.pk, amount=100)
    assert capture.state == Operation.State.SUCCEEDED, capture.error_message
    # ... and once paid, the same attack changes nothing either.
    assert hint(shop.url, via, str(victim.order.dintero_order_id), foreign) in (200, 302)
    victim.refresh_from_db()
    assert victim.raw["id"] == paid["transaction_id"] and not victim.needs_attention


def test_the_reconciler_repairs_a_mirror_holding_a_foreign_transaction(shop: Any) -> None:
    """What earlier versions left behind: the foreign transaction in the victim's mirror and a
    flag. The victim pays and its callback is lost: ONE reconciler pass repairs it."""
    from dintero_django.services.mirror import trim
    from dintero_django.services.reconcile import reconcile

    rnd = rng("hostage-repair")
    foreign = foreign_transaction(rnd, shop.control, 4)
    victim = open_checkout(new_order(rnd))
    Payment.objects.filter(pk=victim.pk).update(
        raw=trim(shop.control.transaction(foreign)),
        needs_attention=True,
        attention_reason=f"merchant_reference 'X' is not order {victim.order.dintero_order_id!r}",
    )
    shop.control.add_fault("callback", "drop", times=1)
    paid = shop.control.pay(victim.session_id, "AUTHORIZED")

    counts = reconcile(older_than=0)

    victim.refresh_from_db()
    assert counts.get("mirrors_synced") == 1, counts
    assert (victim.state, victim.transaction_id) == (Payment.State.AUTHORIZED, paid["transaction_id"])
    assert victim.raw["id"] == paid["transaction_id"]


def test_the_return_url_queues_at_most_one_sync_per_payment(shop: Any) -> None:
    """Anonymous GETs of the return URL: none while a sync is queued, none once the payment is final."""
    rnd = rng("return-claim")
    waiting = open_checkout(new_order(rnd))
    Payment.objects.filter(pk=waiting.pk).update(sync_pending=True)  # a sync is queued already
    paid, _tx = paid_payment(rnd, shop.control)
    since = len(shop.control.requests_log())
    for payment in (waiting, paid):
        for _ in range(20):
            query = urlencode({"merchant_reference": payment.order.dintero_order_id})
            assert (
                requests.get(
                    f"{shop.url}/dintero/return/?{query}", timeout=30, allow_redirects=False
                ).status_code
                == 302
            )
    calls = len(shop.control.requests_log()) - since
    report.record("security-return-claim", gets=40, dintero_calls=calls)
    assert calls == 0


def test_hostage_battery_no_paid_order_is_left_unpaid(shop: Any, settings: Any) -> None:
    """The battery's hostage scenario. Victims are attacked through the return URL and unsigned
    callbacks (no secret configured) with foreign transactions of 2-5 events, before and after
    they pay; some carry what earlier versions left (a foreign mirror and a flag); half of
    their own callbacks are lost. Then ONE reconciler pass. The zero: no order paid at Dintero
    is left unpaid locally (and the audit's zeros)."""
    from dintero_django.models import PaymentFlag
    from dintero_django.services.mirror import trim

    from .harness import invariants
    from .harness.e2e import reconcile_once

    settings.DINTERO = {**settings.DINTERO, "SIGNATURE_SECRET": ""}
    rnd = rng("hostage-battery")
    foreign = [foreign_transaction(rnd, shop.control, events) for events in (2, 3, 5)]
    victims = [open_checkout(new_order(rnd)) for _ in range(size(20, 100))]
    attacks: Counter[str] = Counter()

    def attack(victim: Payment) -> None:
        for _ in range(rnd.randint(1, 3)):
            via = rnd.choice(["return", "callback"])
            attacks[
                f"{via}:{hint(shop.url, via, str(victim.order.dintero_order_id), rnd.choice(foreign))}"
            ] += 1

    legacy = set()
    for victim in victims:
        attack(victim)
        if rnd.random() < 0.2:  # what a version before the fix left behind
            legacy.add(victim.pk)
            Payment.objects.filter(pk=victim.pk).update(
                raw=trim(shop.control.transaction(rnd.choice(foreign))),
                needs_attention=True,
                attention_reason="merchant_reference 'X' is not order 'Y'",
            )
        if rnd.random() < 0.5:
            shop.control.add_fault("callback", "drop", times=1)
        shop.control.pay(victim.session_id, "AUTHORIZED")
        if rnd.random() < 0.5:
            attack(victim)
    shop.control.wait_callbacks()
    unpaid_before = Payment.objects.filter(pk__in=[v.pk for v in victims]).exclude(state="authorized").count()

    reconciled = reconcile_once()

    audit = invariants.audit(shop.control.state())
    rows = Payment.objects.filter(pk__in=[v.pk for v in victims])
    unpaid = rows.exclude(state=Payment.State.AUTHORIZED).count()
    flagged_by_hints = rows.filter(needs_attention=True).exclude(pk__in=legacy).count()
    polluted = sum(
        1
        for p in rows
        if (p.raw or {}).get("id") != p.transaction_id or p.raw.get("session_id") != p.session_id
    )
    report.record(
        "hostage",
        victims=len(victims),
        foreign_transactions=len(foreign),
        attacks=dict(attacks),
        legacy_mirrors=len(legacy),
        unpaid_before_reconcile=unpaid_before,
        reconciler=reconciled,
        paid_unpaid_locally=unpaid,
        flagged_by_hints=flagged_by_hints,
        foreign_mirrors=polluted,
        foreign_kept_apart=PaymentFlag.objects.filter(kind=PaymentFlag.Kind.FOREIGN_HINT).count(),
        legacy_flags_left_for_staff=rows.filter(pk__in=legacy, needs_attention=True).count(),
        **{name: audit[name] for name in invariants.ZEROS},
    )
    assert (unpaid, flagged_by_hints, polluted) == (0, 0, 0)
    assert invariants.nonzero(audit) == {}, audit["examples"]
    assert set(attacks) <= {"return:302", "callback:200"}, attacks
