"""The last test of the battery (file order): no secret or token in any log it wrote.

Scanned: every log record of the battery (root logger, tests/reliability/conftest.py),
the celery worker logs and the gunicorn log. Looked for: the client secret, its Basic
auth form, the signature secret(s), and every access token the emulator issued during
the battery (read from the in-process emulator's store after each test; ``state()``
only counts them). Run alone, the test makes its own traffic first, and it proves the
scanner would see a leak by planting one in a file of its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from dintero_django.services import money

from .harness import report, secrets
from .harness.config import rng
from .harness.shopping import paid_payment

pytestmark = pytest.mark.timeout(300)


def test_no_secret_or_token_in_any_log(shop: Any, settings: Any) -> None:
    payment, _tx = paid_payment(rng("secrets"), shop.control)
    money.capture(payment.pk, amount=100)
    secrets.note_emulator(shop.emulator)
    secrets.note_settings(dict(settings.DINTERO))
    needles = secrets.ISSUED_TOKENS | secrets.STATIC_SECRETS
    assert secrets.ISSUED_TOKENS, "the emulator issued no token: nothing to look for"

    canary = secrets.log_file("canary.txt")
    token = sorted(secrets.ISSUED_TOKENS)[0]
    canary.write_text(f"a leaking line: Authorization: Bearer {token}\n")
    assert secrets.scan([canary], needles), "the scanner misses a planted token"
    canary.unlink()

    files = sorted(p for p in secrets.LOG_DIR.glob("*.log") if p.is_file())
    found = secrets.scan(files, needles)
    report.record(
        "security-secrets-in-logs",
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        tokens_checked=len(secrets.ISSUED_TOKENS),
        secrets_checked=len(secrets.STATIC_SECRETS),
        hits=len(found),
    )
    assert secrets.BATTERY_LOG in files and secrets.BATTERY_LOG.stat().st_size > 0
    assert found == [], found[:20]
