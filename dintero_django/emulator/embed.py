"""The payment page inside Dintero's Checkout Web SDK (``dintero.embed``), offline.

What the SDK expects, read from its source (Dintero.Checkout.Web.SDK 0.8.x):

* ``src/url.ts``: with a custom ``endpoint`` the iframe opens ``{endpoint}/?sid=...``
  (plus ``language``, ``sdk``, ``ui``...), so this module serves ``GET /``.
* ``src/subscribe.ts``: the SDK accepts a ``postMessage`` only from the endpoint's
  origin, from its own iframe's window, with ``data.sid`` equal to the session id and
  a known ``data.type``.
* ``src/checkout.ts``: ``SessionLoaded {session}``, ``HeightChanged {height}``,
  ``SessionPaymentAuthorized`` / ``SessionPaymentOnHold {transaction_id,
  merchant_reference, href}``, ``SessionPaymentError {error, href}``,
  ``SessionCancel {href}``, ``SessionNotFound``. After a final event the SDK points
  the iframe at ``{endpoint}/embedResult/?...`` (served here as a short notice).

``href`` is where Dintero would send the customer: the return URL with
``transaction_id``/``merchant_reference``/``error``, exactly as the redirect flow.

Pop-out (SDK ``popOut: true``; ``src/popOut.ts``, ``src/checkout.ts``): the iframe opens
with ``role=pop_out_launcher`` and posts ``ShowPopOutButton``; the SDK's button opens
``{endpoint}/?role=pop_out_payment&sid=...`` in a window, which posts ``AppLoaded``
(``context: "popOut"``) to ``window.opener`` and later the final event, also with
``context: "popOut"``; the SDK then closes the window and runs the page's handlers.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from .routing import JSONDict, Request, Response

if TYPE_CHECKING:
    from .runtime import Runtime

#: Outcome on the page -> the SDK event the embedded page posts.
FINAL_EVENTS = {
    "AUTHORIZED": "SessionPaymentAuthorized",
    "CAPTURED": "SessionPaymentAuthorized",
    "ON_HOLD": "SessionPaymentOnHold",
    "DECLINED": "SessionPaymentError",
    "FAILED": "SessionPaymentError",
    "CANCELLED": "SessionCancel",
}


LAUNCHER = "pop_out_launcher"
POP_OUT = "pop_out_payment"


def _post(message: JSONDict, *, pop_out: bool = False) -> str:
    """JS that posts ``message`` to the embedding page (the opener for a pop-out window)."""
    if pop_out:
        payload = json.dumps({**message, "context": "popOut"}).replace("</", "<\\/")
        return f"if(window.opener){{window.opener.postMessage({payload},'*');}}"
    payload = json.dumps(message).replace("</", "<\\/")
    return f"if(window.parent!==window){{window.parent.postMessage({payload},'*');}}"


def pop_out_loaded_script(session_id: str) -> str:
    """The pop-out window tells the SDK it is ready (``createPopOutWindow`` waits for it)."""
    return f"<script>{_post({'type': 'AppLoaded', 'sid': session_id}, pop_out=True)}</script>"


def launcher_script(session_id: str, language: str) -> str:
    """The iframe of ``popOut: true`` asks the SDK to show its pop-out button."""
    button: JSONDict = {
        "type": "ShowPopOutButton",
        "sid": session_id,
        "styles": {"background": "#1a59d8", "color": "#fff", "padding": "12px 20px", "borderRadius": "8px"},
        "openLabel": "Pay in a pop-out window",
        "focusLabel": "Show the payment window",
        "closeLabel": "Close",
        "descriptionLabel": "The payment continues in a pop-out window.",
        "top": "16",
        "left": "16",
        "right": "16",
        "language": language,
        "disabled": "false",
    }
    return f"<script>{_post(button)}</script>"


def loaded_script(session_id: str, session: JSONDict) -> str:
    """Posted when the embedded page loads, and whenever its height changes."""
    loaded = _post({"type": "SessionLoaded", "sid": session_id, "session": session})
    sid = json.dumps(session_id)
    height = (
        "function h(){var d=document.documentElement;"
        f"var m={{type:'HeightChanged',sid:{sid},height:d.scrollHeight}};"
        "if(window.parent!==window){window.parent.postMessage(m,'*');}}"
        "h();window.addEventListener('resize',h);"
    )
    return f"<script>{loaded}{height}</script>"


def not_found_script(session_id: str) -> str:
    return f"<script>{_post({'type': 'SessionNotFound', 'sid': session_id})}</script>"


def final_page(
    session_id: str, outcome: str, transaction_id: str | None, reference: str, href: str, *, pop_out: bool
) -> str:
    """The page the form answers inside the SDK: post the final event, nothing else.

    Opened outside an iframe it follows ``href`` itself, like the redirect flow.
    """
    kind = FINAL_EVENTS[outcome]
    message: JSONDict = {"type": kind, "sid": session_id, "href": href}
    if kind in ("SessionPaymentAuthorized", "SessionPaymentOnHold"):
        message.update(transaction_id=transaction_id, merchant_reference=reference)
    if kind == "SessionPaymentError":
        message["error"] = "authorization" if outcome == "DECLINED" else "failed"
    follow = f"else{{window.location.assign({json.dumps(href)});}}"
    script = _post(message, pop_out=pop_out) + follow
    return (
        '<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href="data:,">'
        f"<title>Payment finished</title></head><body><p>Payment finished.</p>"
        f"<script>{script}</script></body></html>"
    )


def embed_result(rt: Runtime, request: Request) -> Response:
    error = request.arg("error")
    text = "The payment was not completed." if error else "Thank you, the payment is being confirmed."
    return Response.html(
        200,
        '<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href="data:,">'
        f"<title>Dintero emulator checkout</title></head><body><p>{escape(text)}</p></body></html>",
    )
