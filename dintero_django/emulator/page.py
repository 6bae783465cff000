"""The hosted payment page at each session's ``url``: one button per outcome.

A real browser (or a browser test) can pay here: submitting the form redirects to the
merchant's ``return_url`` exactly like Dintero's checkout and schedules the callback.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from . import embed, payments
from .routing import ApiError, JSONDict, Request, Response, Router
from .sessions import session_event

if TYPE_CHECKING:
    from .runtime import Runtime

#: Currencies without minor units (ISO 4217 exponent 0); everything else has two.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)

#: A language code as the Web SDK passes it (``no``, ``en``, ``sv``, or a tag like ``nb-NO``).
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")

BUTTONS = (
    ("AUTHORIZED", "Authorize", "primary"),
    ("CAPTURED", "Authorize with auto-capture", "primary"),
    ("ON_HOLD", "Put on hold", "neutral"),
    ("DECLINED", "Decline", "danger"),
    ("FAILED", "Fail", "danger"),
    ("CANCELLED", "Cancel", "neutral"),
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f4f8;margin:0;
color:#1d1d35}
main{max-width:34rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 4px 24px rgba(0,0,0,.08)}
h1{font-size:1.25rem;margin:0 0 .25rem}.muted{color:#6b6b80;font-size:.875rem}
table{width:100%;border-collapse:collapse;margin:1.5rem 0}
td{padding:.5rem 0;border-bottom:1px solid #eee}
td.amount{text-align:right;white-space:nowrap}tr.total td{font-weight:600;border-bottom:none}
form{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
button{padding:.75rem;border:0;border-radius:8px;font-size:1rem;cursor:pointer}
.primary{background:#1a59d8;color:#fff}.neutral{background:#e6e7ee}
.danger{background:#c8323c;color:#fff}
.notice{padding:1rem;border-radius:8px;background:#fff6e0}
"""


def register(router: Router) -> None:
    router.add("GET", "/v1/view/{session_id}", "page_view", view, auth=False)
    router.add("POST", "/v1/view/{session_id}", "page_submit", submit, auth=False)
    # Inside Dintero's Checkout Web SDK (dintero.embed with a custom endpoint): embed.py.
    router.add("GET", "/", "page_embed", embedded_view, auth=False)
    router.add("GET", "/embedResult", "page_embed_result", embed.embed_result, auth=False)


def format_amount(amount: int, currency: str) -> str:
    """Minor units to a display string: ``39800, "NOK"`` -> ``398.00 NOK``."""
    if currency in ZERO_DECIMAL:
        return f"{amount:,} {currency}".replace(",", " ")
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    return f"{sign}{major:,}.{minor:02d} {currency}".replace(",", " ")


def _rows(order: JSONDict) -> str:
    currency = order["currency"]
    rows = []
    for item in order.get("items") or []:
        label = item.get("description") or item.get("id") or item.get("line_id") or "Item"
        quantity = item.get("quantity")
        prefix = f"{quantity:g} &times; " if isinstance(quantity, int | float) else ""
        rows.append(
            f"<tr><td>{prefix}{escape(str(label))}</td>"
            f'<td class="amount">{escape(format_amount(item["amount"], currency))}</td></tr>'
        )
    shipping = order.get("shipping_option")
    if shipping:
        rows.append(
            f"<tr><td>{escape(str(shipping.get('title', 'Shipping')))}</td>"
            f'<td class="amount">{escape(format_amount(shipping["amount"], currency))}</td></tr>'
        )
    total = escape(format_amount(order["amount"], currency))
    rows.append(f'<tr class="total"><td>Total</td><td class="amount">{total}</td></tr>')
    return "".join(rows)


def _form(session_id: str, embedded: str) -> str:
    buttons = "".join(
        f'<button class="{css}" type="submit" name="outcome" value="{value}">{label}</button>'
        for value, label, css in BUTTONS
    )
    marker = f'<input type="hidden" name="embed" value="{escape(embedded)}">' if embedded else ""
    return f'<form method="post" action="/v1/view/{escape(session_id)}/">{marker}{buttons}</form>'


def render(
    order: JSONDict,
    session_id: str,
    problem: str | None,
    language: str = "en",
    *,
    embedded: str = "",
    script: str = "",
) -> str:
    reference = escape(str(order.get("merchant_reference", "")))
    action = f'<p class="notice">{escape(problem)}</p>' if problem else _form(session_id, embedded)
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset=utf-8>'
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        # An empty inline icon: without any, browsers ask for /favicon.ico (a 404).
        '<link rel=icon href="data:,">'
        f"<title>Dintero emulator checkout</title><style>{STYLE}</style></head><body><main>"
        f"<h1>Dintero emulator checkout</h1><p class=muted>Order {reference} · "
        f"session {escape(session_id)}</p><table>{_rows(order)}</table>{action}"
        f"</main>{script}</body></html>"
    )


def page_language(request: Request) -> str:
    """The ``language`` query the Web SDK adds to the checkout URL (src/url.ts); en by default."""
    language = request.arg("language") or ""
    return language if LANGUAGE.match(language) else "en"


def _not_found() -> Response:
    return Response.html(404, render({"currency": "NOK", "amount": 0}, "", "Unknown payment session."))


def view(rt: Runtime, request: Request) -> Response:
    session_id = request.params["session_id"]
    with rt.store.lock:
        session = rt.store.sessions.get(session_id)
        if session is None:
            return _not_found()
        problem = payments.payable_problem(rt, session)
        if problem is None and not any(e["name"] == "VISITED" for e in session.events):
            session_event(rt, session, "VISITED")
        return Response.html(200, render(session.body["order"], session_id, problem, page_language(request)))


def embedded_view(rt: Runtime, request: Request) -> Response:
    """``GET /?sid=...``: the page as the Web SDK's iframe loads it (embed.py)."""
    session_id = request.arg("sid") or ""
    with rt.store.lock:
        session = rt.store.sessions.get(session_id)
        if session is None:
            page = render({"currency": "NOK", "amount": 0}, "", "Unknown payment session.")
            return Response.html(404, page.replace("</body>", embed.not_found_script(session_id) + "</body>"))
        problem = payments.payable_problem(rt, session)
        if problem is None and not any(e["name"] == "VISITED" for e in session.events):
            session_event(rt, session, "VISITED")
        order = session.body["order"]
        summary = {"id": session_id, "order": order, "url": {"return_url": session.body["url"]["return_url"]}}
        language = page_language(request)
        role = request.arg("role")
        if role == embed.POP_OUT:
            script = embed.pop_out_loaded_script(session_id)
            page = render(order, session_id, problem, language, embedded="popout", script=script)
            return Response.html(200, page)
        script = embed.loaded_script(session_id, summary)
        if role == embed.LAUNCHER:
            script += embed.launcher_script(session_id, language)
            notice = "The payment continues in a pop-out window."
            return Response.html(200, render(order, session_id, notice, language, script=script))
        return Response.html(200, render(order, session_id, problem, language, embedded="1", script=script))


def submit(rt: Runtime, request: Request) -> Response:
    form = parse_qs(request.body.decode("utf-8", "replace"))
    outcome = (form.get("outcome") or [""])[0]
    if outcome not in {value: label for value, label, _ in BUTTONS}:
        return Response.html(400, render({"currency": "NOK", "amount": 0}, "", "Unknown outcome."))
    try:
        result = payments.pay(
            rt,
            request.params["session_id"],
            outcome,
            client_ip=request.client_ip,
            user_agent=request.header("User-Agent"),
        )
    except ApiError as error:
        if error.status == 404:
            return _not_found()
        with rt.store.lock:
            session = rt.store.sessions[request.params["session_id"]]
            return Response.html(409, render(session.body["order"], session.id, error.message))
    assert result.redirect_url is not None
    embedded = (form.get("embed") or [""])[0]
    if embedded in ("1", "popout"):
        with rt.store.lock:
            reference = str(
                rt.store.sessions[request.params["session_id"]].body["order"]["merchant_reference"]
            )
        page = embed.final_page(
            request.params["session_id"],
            outcome,
            result.transaction_id,
            reference,
            result.redirect_url,
            pop_out=embedded == "popout",
        )
        return Response.html(200, page)
    return Response.redirect(result.redirect_url)
