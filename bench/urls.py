"""The test URLconf plus ``/bench/minimal/``, the baseline the callback path is compared
with, and ``/bench/ceiling/``, the fastest durable callback (bench/ceiling.py).

The minimal view lives here only (never in the app): it answers 200 through the
same middleware stack, without touching the database.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from bench.ceiling import ceiling
from tests.urls import urlpatterns as test_urlpatterns


@csrf_exempt
@login_not_required
def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


urlpatterns = [
    *test_urlpatterns,
    path("bench/minimal/", minimal, name="bench-minimal"),
    path("bench/ceiling/", ceiling, name="bench-ceiling"),
]
