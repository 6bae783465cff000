"""Contract: callback signatures verify as Dintero signs them.

Dintero's published example (docs.dintero.com/checkout-api/secrets/admin_signature_post)
is checked in both modes. A live signed callback needs a URL Dintero can reach (public,
HTTPS): the emulator delivers one to a local receiver; against Dintero the step is
skipped with the reason, as docs/contract.md explains.
"""

from __future__ import annotations

import pytest

from dintero_django.conf import get_settings
from dintero_django.signature import InvalidSignature, verify_signature

from .support import Target

pytestmark = pytest.mark.timeout(60)

DOCS_HEADER = "t=1582236537,v0-hmac-sha256=6bed2ab1b919d460ef7465a20dc6c97260dca73fab6647106ca525f0908df64a"


def test_dinteros_published_example_verifies(target: Target) -> None:
    verify_signature(
        DOCS_HEADER,
        secrets="123",
        account_id="P00000000",
        method="GET",
        url="https://example.com/callback?B=123&A=992",
        now=1582236537,
    )


def test_a_delivered_callback_verifies_with_our_secret(target: Target) -> None:
    if target.real:
        pytest.skip(
            "Real-Dintero mode: a live callback needs a public HTTPS callback URL, which a "
            "test run does not have; verify one on your staging site (docs/contract.md)."
        )
    conf = get_settings()
    assert conf.signature_secrets, "the emulator signs callbacks in this suite"
    _order_id, transaction_id = target.paid("callback")
    target.emulator.control.wait_callbacks()
    hit = target.receiver.next()
    assert hit.arg("transaction_id") == transaction_id
    header = hit.headers["dintero-signature"]
    arguments = {"account_id": conf.ACCOUNT_ID, "method": hit.method, "url": hit.url}
    verify_signature(header, secrets=conf.signature_secrets, **arguments)
    with pytest.raises(InvalidSignature):
        verify_signature(header, secrets=["another-secret"], **arguments)
    tampered = hit.url.replace(transaction_id, transaction_id[:-1] + "x")
    with pytest.raises(InvalidSignature):
        verify_signature(header, secrets=conf.signature_secrets, **{**arguments, "url": tampered})
