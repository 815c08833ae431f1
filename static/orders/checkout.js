/* The one-page checkout, re-quoted in place.
 *
 * The page works without this script: "Update delivery options" and "Update total" post the form with
 * intent=update and the server renders the page again with the delivery options and the total for what was
 * entered. This script sends that same post (with the X-Checkout-Fragment header) when the delivery address's
 * country, postal code, city or saved address, or the delivery method, changes, and puts the answer's delivery
 * options, total and order summary in place of the page's: the total shown, and the expected_total_minor that
 * "Pay and place order" posts, are always the server's for what is entered now. No card detail is sent: the
 * card inputs have no name.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-checkout-form]");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var REGIONS = ["checkout-delivery", "checkout-total", "checkout-summary"];
  var pay = form.querySelector("[data-pay]");
  var savedAddress = form.querySelector("select[name=saved_address]");
  var newAddress = form.querySelector("[data-new-address]");
  var latest = 0;
  var quoted = quoteKey();

  document.documentElement.classList.add("checkout-script");  // hides the update buttons (flowmart.css)

  // What the quotes depend on: the fields marked data-requote (orders.forms.CheckoutForm.QUOTED_BY) and the method.
  function quoteKey() {
    var values = [];
    form.querySelectorAll("[data-requote]").forEach(function (field) { values.push(field.name + "=" + field.value); });
    var method = form.querySelector("input[name=shipping_method]:checked");
    values.push("method=" + (method ? method.value : ""));
    return values.join("&");
  }

  function showNewAddress() {
    if (savedAddress && newAddress) { newAddress.hidden = savedAddress.value !== ""; }
  }

  function busy(on) {
    pay.disabled = on;  // the total on the page is about to change: pay for the new one
    if (on) { form.setAttribute("aria-busy", "true"); } else { form.removeAttribute("aria-busy"); }
  }

  function swap(html) {
    var answer = new DOMParser().parseFromString(html, "text/html");
    var focused = document.activeElement && document.activeElement.id;
    REGIONS.forEach(function (id) {
      var source = answer.getElementById(id), target = document.getElementById(id);
      // Only what changed, so the total's live region speaks only when the total moved.
      if (source && target && target.innerHTML !== source.innerHTML) { target.innerHTML = source.innerHTML; }
    });
    var again = focused && document.getElementById(focused);
    if (again && document.activeElement !== again) { again.focus(); }  // a delivery option just replaced
    quoted = quoteKey();
  }

  function update() {
    var ticket = ++latest;
    var body = new FormData(form);
    body.set("intent", "update");
    busy(true);
    fetch(form.getAttribute("action"), { method: "POST", body: body, headers: { "X-Checkout-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("checkout update answered " + response.status); }
        var location = response.headers.get("X-Checkout-Location");  // the basket changed: go and see
        if (location) { window.location.assign(location); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html !== null && ticket === latest) { swap(html); busy(false); }
      })
      .catch(function () {
        if (ticket === latest) { busy(false); updateWithoutScript(); }
      });
  }

  function updateWithoutScript() {
    var button = form.querySelector("button[value=update]");
    form.dataset.plain = "true";
    form.requestSubmit(button);
  }

  function requote(event) {
    if (event.target.name === "saved_address") { showNewAddress(); }
    if (quoteKey() !== quoted) { update(); }
  }

  form.addEventListener("change", function (event) {
    if (event.target.hasAttribute("data-requote") || event.target.name === "shipping_method") { requote(event); }
  });
  // Enter in a field updates the delivery options (as the first submit button does without the script); it
  // never pays.
  form.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key === "Enter" && field.tagName === "INPUT" && field.type !== "submit") {
      event.preventDefault();
      update();
    }
  });
  form.addEventListener("submit", function (event) {
    if (form.dataset.plain || !event.submitter || event.submitter.value !== "update") { return; }
    event.preventDefault();
    update();
  });
  showNewAddress();
  // The page came back with problems (a refused card number, a total that moved): start where they are listed.
  var problems = form.querySelector(".form-errors");
  if (problems) { problems.focus(); }
})();
