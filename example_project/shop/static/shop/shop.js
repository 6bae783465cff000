/* The demo shop's JavaScript: the checkout page and the order (return) page.
 *
 * It talks only to dintero-django's storefront REST API (docs/rest-api.md):
 *   POST /api/dintero/orders/              create the order from the cart lines
 *   POST /api/dintero/orders/{id}/checkout/ 200 with payment.checkout_url, or 202: poll
 *   GET  /api/dintero/orders/{id}/          the order and its payment state
 * Amounts are integers in minor units everywhere; they are only turned into
 * text for display, with integer arithmetic.
 */
"use strict";

(function () {
  const body = document.body;
  const ORDERS = body.dataset.apiOrders;
  const PENDING_ORDER = "shop-pending-order";
  const POLL_MS = 1500;
  const PREPARE_POLL_MS = 750;
  const PREPARE_POLLS = 40; // 30 s for the payment page to be prepared
  const STATUS_POLLS = 240; // 6 min of live status on the order page
  const FINAL = new Set(["authorized", "failed", "cancelled", "voided"]);
  const RETRYABLE = new Set(["failed", "cancelled"]);
  const ZERO_DECIMAL = new Set(["ISK", "JPY", "KRW", "CLP", "VND", "XAF", "XOF", "XPF"]);

  const STATES = {
    none: ["No payment yet.", "Start the payment below."],
    created: ["Preparing your payment…", "This takes a moment."],
    awaiting: ["Waiting for your payment…", "Finish the payment on Dintero's page. This page updates by itself."],
    pending: ["Your payment is pending.", "The payment provider has not decided yet (on hold). This page updates by itself."],
    authorized: ["Thank you! Your payment is authorized.", "Your card is charged when we ship."],
    failed: ["The payment did not go through.", "It was declined or failed. Nothing was charged; you can try again."],
    cancelled: ["The payment was cancelled.", "Nothing was charged; you can try again."],
    voided: ["The order was cancelled.", "The shop released the authorization; nothing was charged."],
  };

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const byTestId = (root, id) => root.querySelector(`[data-testid="${id}"]`);

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function formatMoney(amount, currency) {
    const sign = amount < 0 ? "-" : "";
    const digits = String(Math.abs(amount));
    const group = (text) => text.replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
    if (ZERO_DECIMAL.has(currency)) return `${sign}${group(digits)} ${currency}`;
    const padded = digits.padStart(3, "0");
    return `${sign}${group(padded.slice(0, -2))}.${padded.slice(-2)} ${currency}`;
  }

  // --- the REST API --------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  /** DRF errors ({"lines": [{"unit_amount": ["…"]}], "detail": "…"}) as sentences. */
  function errorMessages(data, path) {
    if (typeof data === "string") return [path ? `${path}: ${data}` : data];
    if (Array.isArray(data)) {
      return data.flatMap((item, index) =>
        errorMessages(item, item && typeof item === "object" ? `${path} ${index + 1}` : path));
    }
    if (data && typeof data === "object") {
      return Object.entries(data).flatMap(([key, value]) => {
        if (key === "detail" || key === "non_field_errors") return errorMessages(value, path);
        const name = /^\d+$/.test(key) ? `line ${Number(key) + 1}` : key; // {"lines": {"0": …}}
        return errorMessages(value, [path, name].filter(Boolean).join(" › "));
      });
    }
    return [];
  }

  function describe(status, data) {
    if (status === 429) return "Too many requests: wait a few seconds and try again.";
    if (status === 404) return "This order was not found in this browser session.";
    const messages = errorMessages(data, "");
    if (messages.length) return messages.join(" ");
    if (status >= 500) return `The shop had a problem (HTTP ${status}). Try again in a moment.`;
    return `The request failed (HTTP ${status}).`;
  }

  async function api(method, path, payload) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    const options = { method, headers, credentials: "same-origin" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      throw new ApiError("The shop could not be reached. Check your connection and try again.", 0, null);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = null;
    }
    if (!response.ok) throw new ApiError(describe(response.status, data), response.status, data);
    return { status: response.status, data };
  }

  const orderUrl = (id) => `${ORDERS}${id}/`;
  const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  const orderPage = (id) => body.dataset.orderPage.replace(PLACEHOLDER, id);

  function paymentReady(order) {
    const payment = order && order.payment;
    return Boolean(payment && payment.state === "awaiting" && payment.checkout_url);
  }

  /** Start (or resume) checkout of an order; resolves to Dintero's payment page URL. */
  async function openPayment(orderId, onWait) {
    let order = (await api("POST", `${orderUrl(orderId)}checkout/`, {})).data;
    for (let polls = 0; !paymentReady(order); polls += 1) {
      if (polls >= PREPARE_POLLS) {
        throw new ApiError("The payment page is taking too long to prepare. Please try again.", 0, null);
      }
      if (onWait) onWait();
      await wait(PREPARE_POLL_MS);
      order = (await api("GET", orderUrl(orderId))).data;
    }
    // Embedded mode (SHOP_CHECKOUT_MODE): the shop's own page shows the checkout.
    if (body.dataset.payPage) return body.dataset.payPage.replace(PLACEHOLDER, orderId);
    return order.payment.checkout_url;
  }

  // --- the checkout page ---------------------------------------------------

  /** The order created for this exact cart earlier in this tab (back button), if any. */
  function savedOrder(key) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(PENDING_ORDER) || "null");
      return saved && saved.key === key ? saved.id : null;
    } catch (error) {
      return null;
    }
  }

  async function orderForCart(payload, reuse) {
    const key = JSON.stringify(payload);
    const existing = reuse ? savedOrder(key) : null;
    if (existing) return existing;
    const created = (await api("POST", ORDERS, payload)).data;
    sessionStorage.setItem(PENDING_ORDER, JSON.stringify({ key, id: created.id }));
    return created.id;
  }

  function initCheckout() {
    const form = document.getElementById("checkout-form");
    const request = JSON.parse(document.getElementById("order-request").textContent);
    const button = byTestId(form, "pay-button");
    const status = byTestId(form, "checkout-status");
    const problem = byTestId(form, "checkout-error");
    const say = (element, text) => {
      element.textContent = text;
      element.hidden = !text;
    };

    async function pay(payload) {
      let orderId = await orderForCart(payload, true);
      say(status, "Opening the payment page…");
      try {
        return await openPayment(orderId, () => say(status, "Preparing the payment page…"));
      } catch (error) {
        if (error.status === 409) {
          window.location.assign(orderPage(orderId)); // already paid: show it
          return null;
        }
        if (error.status !== 404) throw error;
      }
      orderId = await orderForCart(payload, false); // the saved order is gone: a new one
      return openPayment(orderId, () => say(status, "Preparing the payment page…"));
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const email = form.elements.email.value.trim();
      const payload = email ? { ...request, email } : request;
      button.disabled = true;
      say(problem, "");
      say(status, "Creating your order…");
      try {
        const url = await pay(payload);
        if (url) window.location.assign(url);
      } catch (error) {
        say(status, "");
        say(problem, error.message);
        button.disabled = false;
      }
    });
  }

  // --- the order (return) page ---------------------------------------------

  function renderLines(root, order) {
    const table = byTestId(root, "order-lines");
    const rows = table.querySelector("tbody");
    rows.replaceChildren(...order.lines.map((line) => {
      const row = document.createElement("tr");
      for (const [text, css] of [[line.description, ""], [String(line.quantity), ""],
        [formatMoney(line.amount, order.currency), "amount"]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (css) cell.className = css;
        row.append(cell);
      }
      return row;
    }));
    const total = byTestId(root, "order-total");
    total.textContent = formatMoney(order.amount, order.currency);
    total.dataset.amount = String(order.amount);
    table.hidden = false;
  }

  function moneyDetail(payment) {
    const parts = [];
    if (payment.captured_amount) parts.push(`${formatMoney(payment.captured_amount, payment.currency)} charged.`);
    if (payment.refunded_amount) parts.push(`${formatMoney(payment.refunded_amount, payment.currency)} refunded.`);
    return parts.join(" ");
  }

  // "Charged when we ship" only while nothing is charged yet: after an auto-capture
  // (or a capture in full) the money line says what was charged.
  function stateDetail(state, detail, payment) {
    if (state !== "authorized" || !payment || !payment.captured_amount) return detail;
    return payment.captured_amount < payment.authorized_amount ? "The rest is charged when we ship." : "";
  }

  function renderState(root, state, payment) {
    const box = byTestId(root, "payment-state");
    const [title, detail] = STATES[state] || [`Payment state: ${state}`, ""];
    box.dataset.state = state;
    box.className = `state state-${state}`;
    byTestId(box, "payment-title").textContent = title;
    byTestId(box, "payment-detail").textContent = [stateDetail(state, detail, payment), payment ? moneyDetail(payment) : ""]
      .filter(Boolean).join(" ");
  }

  async function clearCart() {
    sessionStorage.removeItem(PENDING_ORDER);
    try {
      await api("POST", body.dataset.cartClear);
      const count = document.querySelector('[data-testid="cart-count"]');
      if (count) count.textContent = "0";
    } catch (error) {
      // The cart stays; nothing else depends on it.
    }
  }

  function initOrder() {
    const root = document.getElementById("order");
    const orderId = root.dataset.orderId;
    const leftPaymentPage = Boolean(root.dataset.error); // Dintero's return said error=…
    const retry = byTestId(root, "retry-button");
    const problem = byTestId(root, "order-error");
    const say = (text) => {
      problem.textContent = text;
      problem.hidden = !text;
    };
    let polling = true;

    retry.addEventListener("click", async () => {
      retry.disabled = true;
      say("");
      try {
        window.location.assign(await openPayment(orderId));
      } catch (error) {
        say(error.message);
        retry.disabled = false;
        if (error.status === 409 && !polling) poll();
      }
    });

    async function poll() {
      polling = true;
      for (let polls = 0; polls < STATUS_POLLS; polls += 1) {
        let order;
        try {
          order = (await api("GET", orderUrl(orderId))).data;
        } catch (error) {
          say(error.message);
          if (error.status === 404) {
            renderState(root, "unknown", null);
            byTestId(root, "payment-title").textContent = "Order not found.";
            polling = false;
            return;
          }
          await wait(POLL_MS * 2);
          continue;
        }
        say("");
        renderLines(root, order);
        const payment = order.payment;
        const state = payment ? payment.state : "none";
        renderState(root, state, payment);
        retry.hidden = !(RETRYABLE.has(state) || state === "none" || (leftPaymentPage && state === "awaiting"));
        if (state === "authorized") await clearCart();
        if (FINAL.has(state) || state === "none") {
          polling = false;
          return;
        }
        await wait(POLL_MS);
      }
      polling = false;
      say("Still waiting for the payment provider. Reload this page later to see the result.");
    }

    poll();
  }

  if (body.dataset.page === "checkout") initCheckout();
  if (body.dataset.page === "order") initOrder();
})();
