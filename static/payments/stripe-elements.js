/* Stripe Elements for the storefront's card forms (PAYMENTS_GATEWAY=stripe).
 *
 * Stripe's own iframe collects the card; stripe.createPaymentMethod turns it into a
 * PaymentMethod id (pm_…) in the browser, and only that id is posted to FlowMart.
 */
(function () {
  "use strict";

  function mount(root) {
    var form = root.closest("form");
    var target = form.querySelector("[data-card-token]");
    var errors = root.querySelector("[data-card-errors]");
    var stripe = window.Stripe(root.dataset.publishableKey);
    var card = stripe.elements().create("card", { hidePostalCode: true });
    card.mount(root.querySelector("[data-stripe-card]"));
    card.on("change", function (event) { errors.textContent = event.error ? event.error.message : ""; });

    var tokenized = false;
    form.addEventListener("submit", function (event) {
      if (tokenized || (target.type === "radio" && !target.checked)) { return; }
      // A button that submits without validating (the checkout's "Update total") leaves the card alone.
      if (event.submitter && event.submitter.formNoValidate) { return; }
      event.preventDefault();
      stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
        if (result.error) { errors.textContent = result.error.message; return; }
        target.value = result.paymentMethod.id;
        tokenized = true;
        form.requestSubmit();
      });
    });
  }

  document.querySelectorAll("[data-card-element=stripe]").forEach(mount);
})();
