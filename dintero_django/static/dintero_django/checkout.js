/*
 * Embeds a Dintero checkout session with Dintero's Checkout Web SDK (window.dintero),
 * for each element rendered by {% dintero_checkout %}.
 *
 * The SDK's events come from the browser and are not trusted: nothing here records a
 * payment. A final event (authorized, on hold, error, cancelled) only sends the
 * customer to our return URL, whose view reads the payment from Dintero with our own
 * credentials, or to the order's result page when the event's href is anything else.
 * Height changes are applied by the SDK itself.
 */
(function () {
  "use strict";

  function samePage(href, allowed) {
    try {
      var target = new URL(href, window.location.href);
      var ours = new URL(allowed, window.location.href);
      return target.origin === ours.origin && target.pathname === ours.pathname;
    } catch (error) {
      return false;
    }
  }

  function finish(element) {
    return function (event) {
      var href = event && typeof event.href === "string" ? event.href : "";
      var data = element.dataset;
      window.location.assign(href && samePage(href, data.dinteroReturn) ? href : data.dinteroResult);
    };
  }

  function notFound(element) {
    return function () {
      var notice = document.createElement("p");
      notice.setAttribute("role", "alert");
      notice.setAttribute("data-testid", "dintero-checkout-not-found");
      notice.textContent = element.dataset.dinteroNotFound;
      element.replaceChildren(notice);
    };
  }

  function start(element) {
    var data = element.dataset;
    var done = finish(element);
    window.dintero.embed({
      container: element,
      sid: data.dinteroSid,
      endpoint: data.dinteroEndpoint,
      language: data.dinteroLanguage || undefined,
      popOut: data.dinteroMode === "popout",
      onPayment: done,
      onPaymentAuthorized: done,
      onPaymentError: done,
      onSessionCancel: done,
      onSessionNotFound: notFound(element),
    });
  }

  function ready() {
    if (!window.dintero) return;
    var elements = document.querySelectorAll("[data-dintero-sid]");
    for (var i = 0; i < elements.length; i += 1) start(elements[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
