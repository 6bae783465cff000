"""Schemathesis over the served OpenAPI schema (drf-spectacular, ``/api/schema/``).

Every operation with inputs gets at least 100 generated requests (nightly 1,000), sent
to the live server as a logged-in superuser (so the staff endpoints are reached, not
just refused; schemathesis also varies the documented ``sessionid`` cookie, so some
requests arrive unauthenticated).
Checks: no server error, and every response conforms to the schema (status code,
content type, headers, body).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hsettings

from .harness import report
from .harness.admin import make_user
from .harness.config import SEED, size

pytestmark = [pytest.mark.sqlite_leg, pytest.mark.timeout(size(600, 3600))]

EXAMPLES = size(100, 1000, "DINTERO_FUZZ_EXAMPLES")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]
CALLS: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()
FAILURES: list[str] = []
BY_OPERATION: Counter[str] = Counter()


class FramedSession(requests.Session):
    """Sends every request body with a Content-Length, never chunked.

    Some generated form bodies encode to the empty string (a field that is null or an
    empty list). requests then leaves out Content-Length, and its adapter sends the
    body with ``Transfer-Encoding: chunked``. Django's test server does not read
    chunked bodies (gunicorn and nginx do), so the chunk terminator stayed on the
    kept-alive connection. The server answered it as a malformed HTTP/0.9 request, a
    bare HTML page, and the next request on that connection read that page as its
    response: ``BadStatusLine('<!DOCTYPE HTML>')``, flaky because it depends on
    whether the client reused the connection before the server closed it. Sending
    the same (empty) body with its length is what a production front server hands
    Django, so the app is fuzzed with the same input.
    """

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if isinstance(request.body, str | bytes) and "Content-Length" not in request.headers:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            request.body = body
            request.headers["Content-Length"] = str(len(body))
        return super().send(request, **kwargs)


@pytest.fixture
def fuzz_session(shop: Any, django_user_model: Any) -> requests.Session:
    user = make_user(django_user_model, "fuzzer", superuser=True)
    client = Client()
    client.force_login(user)
    http = FramedSession()
    http.trust_env = False
    http.cookies.set("sessionid", client.cookies["sessionid"].value)
    http.get(f"{shop.url}/admin/login/", timeout=30)  # sets the CSRF cookie
    http.headers.update({"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": shop.url})
    return http


def test_openapi_fuzz(shop: Any, fuzz_session: requests.Session) -> None:
    """Each operation as its own Hypothesis run (schemathesis's lazy pytest integration
    needs ``Item._nodeid``, which pytest 9 removed; its strategies work as they are)."""
    schema = schemathesis.openapi.from_url(f"{shop.url}/api/schema/")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        try:
            _fuzz(operation, shop.url, fuzz_session)
        except BaseException as error:
            failures.append(f"{operation.label}: {type(error).__name__}: {_describe(error)[:3000]}")
    FAILURES.extend(failures)
    assert failures == [], "\n\n".join(failures)


def _fuzz(operation: Any, base: str, session: requests.Session) -> None:
    label = operation.label

    @seed(SEED)
    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=base, session=session, checks=CHECKS)
        CALLS[label] += 1
        STATUSES[str(response.status_code)] += 1
        BY_OPERATION[f"{label} -> {response.status_code}"] += 1

    run()


def test_openapi_fuzz_figures() -> None:
    """Runs after the fuzzing (same module): every operation got its examples."""
    report.record(
        "security-schemathesis",
        version=schemathesis.__version__ if hasattr(schemathesis, "__version__") else "?",
        operations=len(CALLS),
        min_calls_per_operation=min(CALLS.values()) if CALLS else 0,
        calls=sum(CALLS.values()),
        statuses=dict(STATUSES),
        server_errors=sum(n for s, n in STATUSES.items() if s.startswith("5")),
        failing_operations=len(FAILURES),
        by_operation=dict(BY_OPERATION),
    )
    assert len(CALLS) >= 7, CALLS
    # The list takes no input at all: Hypothesis can only make one distinct request of it.
    with_inputs = {label: n for label, n in CALLS.items() if label != "GET /api/dintero/orders/"}
    assert min(with_inputs.values()) >= EXAMPLES, CALLS


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return " | ".join(_describe(e) for e in error.exceptions)
    return str(error)
