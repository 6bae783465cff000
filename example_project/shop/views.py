"""The storefront. Server-rendered pages; paying goes through the app's REST API.

The cart lives in the session. The checkout and order pages are driven by
static/shop/shop.js, which calls ``/api/dintero/orders/`` (create, checkout,
status) like any single-page storefront would. The shop uses only the app's public
pieces (REST, signals, admin, and for the embedded checkout the ``{% dintero_checkout %}``
tag with the storefront's ownership rule: the Order model and the guest-key name).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dintero_django.contrib.rest_framework.views import GUEST_KEY
from dintero_django.models import Order

from .cart import Cart, InvalidQuantity, is_number, parse_quantity, summarize
from .catalog import currency
from .models import Product


def _render(request: HttpRequest, template: str, context: dict[str, Any], page: str) -> HttpResponse:
    mode = getattr(settings, "SHOP_CHECKOUT_MODE", "redirect")
    context = {
        "cart_count": Cart(request.session).count,
        "page": page,
        "embedded": mode in ("embedded", "popout"),
        "sdk_mode": "popout" if mode == "popout" else "embed",
        **context,
    }
    return render(request, f"shop/{template}", context)


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    products = Product.objects.filter(is_active=True)
    return _render(request, "product_list.html", {"products": products, "currency": currency()}, "products")


@require_POST
def cart_add(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product, slug=slug, is_active=True)
    try:
        quantity = parse_quantity(request.POST.get("quantity", "1"))
    except InvalidQuantity as error:
        messages.error(request, str(error))
        return redirect("shop:products")
    total = Cart(request.session).add(product, quantity)
    messages.success(request, f"Added {product.name} to your cart ({total} in cart).")
    return redirect("shop:products")


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    summary = summarize(Cart(request.session))
    return _render(request, "cart.html", {"summary": summary}, "cart")


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    cart = Cart(request.session)
    if "remove" in request.POST:
        cart.set(_int(request.POST["remove"]), 0)
        messages.success(request, "Removed from your cart.")
        return redirect("shop:cart")
    problems = 0
    for line in cart.lines():
        raw = request.POST.get(f"quantity-{line.product.pk}")
        if raw is None:
            continue
        try:
            cart.set(line.product.pk, parse_quantity(raw, minimum=0))
        except InvalidQuantity as error:
            problems += 1
            messages.error(request, f"{line.product.name}: {error}")
    if not problems:
        messages.success(request, "Cart updated.")
    return redirect("shop:cart")


@require_POST
def cart_clear(request: HttpRequest) -> HttpResponse:
    """Empty the cart (the order page calls this once the payment is authorized)."""
    Cart(request.session).clear()
    return HttpResponse(status=204)


@require_GET
def checkout(request: HttpRequest) -> HttpResponse:
    summary = summarize(Cart(request.session))
    if not summary.lines:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:products")
    context = {"summary": summary, "order_request": summary.order_request()}
    return _render(request, "checkout.html", context, "checkout")


@require_GET
def order_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The return page: shows the payment status live (polled from the REST API).

    ``DINTERO["RESULT_URL"] = "/order/{order}/"`` sends the customer here from
    Dintero's return URL; ``?error=`` says why a payment did not complete.
    """
    context = {"public_id": public_id, "error": request.GET.get("error", "")[:32]}
    return _render(request, "order.html", context, "order")


@require_GET
def pay(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The embedded checkout (SHOP_CHECKOUT_MODE "embedded" or "popout"): only for the order's owner."""
    owner = Q(customer=request.user) if request.user.is_authenticated else Q(pk__in=[])
    key = request.session.get(GUEST_KEY, "")
    if key:
        owner |= Q(guest_key=key, customer__isnull=True)
    order = get_object_or_404(Order.objects.filter(owner), public_id=public_id)
    return _render(request, "pay.html", {"order": order}, "pay")


def _int(value: str) -> int:
    """A product pk from form input; 0 (no product) for anything else."""
    return int(value) if is_number(value, 18) else 0
