/* The sandbox gateway's card element (the stand-in for Stripe Elements).
 *
 * It turns the card typed into the form into a sandbox payment-method token in the
 * browser, as a real processor's script does: the card number, expiry and CVC inputs
 * have no `name`, so the browser never posts them; only the token (a hidden input, or
 * the "new card" radio's value) reaches FlowMart. The numbers are the test cards people
 * know from Stripe; each maps to the sandbox token with the same behaviour
 * (payments/gateways/sandbox.py TEST_CARDS, README "Test cards").
 */
(function () {
  "use strict";

  // {card number: sandbox token}, rendered by the page from payments.gateways.sandbox.TEST_CARDS
  // (the one list of test cards), so this script and the gateway always agree.
  var source = document.getElementById("sandbox-test-cards");
  var SANDBOX_CARDS = source ? JSON.parse(source.textContent) : {};

  function digits(value) { return (value || "").replace(/\D/g, ""); }

  function luhnValid(number) {
    var sum = 0, double = false;
    for (var i = number.length - 1; i >= 0; i--) {
      var d = parseInt(number.charAt(i), 10);
      if (double) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d;
      double = !double;
    }
    return number.length >= 12 && sum % 10 === 0;
  }

  function groupNumber(value) {
    var d = digits(value).slice(0, 19);
    if (/^3[47]/.test(d)) {  // American Express: 4-6-5
      return [d.slice(0, 4), d.slice(4, 10), d.slice(10, 15)].filter(Boolean).join(" ");
    }
    return d.replace(/(\d{4})(?=\d)/g, "$1 ");
  }

  function formatExpiry(value) {
    var d = digits(value).slice(0, 4);
    return d.length > 2 ? d.slice(0, 2) + " / " + d.slice(2) : d;
  }

  // Returns {error, field} or {token}.
  function tokenize(number, expiry, cvc, now) {
    var n = digits(number);
    if (!n) { return { field: "number", error: "Enter your card number." }; }
    if (!luhnValid(n)) { return { field: "number", error: "Your card number is incomplete or invalid." }; }
    var e = digits(expiry);
    if (e.length !== 4) { return { field: "expiry", error: "Enter the expiry date as MM / YY." }; }
    var month = parseInt(e.slice(0, 2), 10), year = 2000 + parseInt(e.slice(2), 10);
    if (month < 1 || month > 12) { return { field: "expiry", error: "The expiry month must be 01 to 12." }; }
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      return { field: "expiry", error: "Your card's expiry date is in the past." };
    }
    var c = digits(cvc);
    var wanted = /^3[47]/.test(n) ? 4 : 3;
    if (c.length !== wanted) { return { field: "cvc", error: "Enter the " + wanted + "-digit security code." }; }
    var token = SANDBOX_CARDS[n];
    if (!token) {
      return { field: "number", error: "The sandbox accepts only its test cards, e.g. 4242 4242 4242 4242." };
    }
    return { token: token };
  }

  function mount(root) {
    var form = root.closest("form");
    var target = form.querySelector("[data-card-token]");
    var number = root.querySelector("[data-card-number]");
    var expiry = root.querySelector("[data-card-expiry]");
    var cvc = root.querySelector("[data-card-cvc]");
    var errors = root.querySelector("[data-card-errors]");
    var inputs = { number: number, expiry: expiry, cvc: cvc };

    number.addEventListener("input", function () { number.value = groupNumber(number.value); });
    expiry.addEventListener("input", function () { expiry.value = formatExpiry(expiry.value); });
    cvc.addEventListener("input", function () { cvc.value = digits(cvc.value).slice(0, 4); });

    function newCardChosen() {
      // With saved cards, the "new card" radio carries the token; otherwise the hidden input does.
      return target.type !== "radio" || target.checked;
    }

    function clearErrors() {
      errors.textContent = "";
      Object.keys(inputs).forEach(function (k) { inputs[k].removeAttribute("aria-invalid"); });
    }

    form.addEventListener("submit", function (event) {
      // A button that submits without validating (the checkout's "Update total") leaves the card alone.
      if (!newCardChosen() || (event.submitter && event.submitter.formNoValidate)) { return; }
      clearErrors();
      var result = tokenize(number.value, expiry.value, cvc.value, new Date());
      if (result.error) {
        event.preventDefault();
        errors.textContent = result.error;
        inputs[result.field].setAttribute("aria-invalid", "true");
        inputs[result.field].focus();
        return;
      }
      target.value = result.token;
    });
  }

  window.SandboxElements = { tokenize: tokenize, cards: SANDBOX_CARDS };
  document.querySelectorAll("[data-card-element=sandbox]").forEach(mount);
})();
