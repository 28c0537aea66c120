// The session timeout banner: a warning with a countdown before the session runs
// out, "Stay signed in" (an htmx POST), every tab kept in step, and at expiry the
// login page with `next` back here. A form half filled in when the session ran
// out is kept in sessionStorage and offered back after signing in again.
(function () {
  "use strict";

  var CHANNEL = "rollcall-session";
  var MESSAGE_KEY = "rollcall-session-message";
  var FORMS_PREFIX = "rollcall-forms:";
  var here = location.pathname + location.search;

  // --- keeping a half-filled form -------------------------------------------------

  function skipped(el) {
    return !el.name || ["password", "hidden", "submit", "button", "reset", "file"].indexOf(el.type) >= 0;
  }

  function changed(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.value !== el.defaultValue;
  }

  function keepForms() {
    var kept = [];
    document.querySelectorAll("main form").forEach(function (form, index) {
      var fields = [];
      var any = false;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (skipped(el)) return;
        if (changed(el)) any = true;
        fields.push({ name: el.name, value: el.value, checked: el.checked });
      });
      if (any) kept.push({ index: index, fields: fields });
    });
    try {
      if (kept.length) sessionStorage.setItem(FORMS_PREFIX + here, JSON.stringify(kept));
    } catch (e) { /* storage full or off: nothing more we can do */ }
  }

  function offerKeptForms() {
    var box = document.getElementById("form-restore");
    var raw = null;
    try { raw = sessionStorage.getItem(FORMS_PREFIX + here); } catch (e) { return; }
    if (!box || !raw || !document.body.hasAttribute("data-signed-in")) return;
    box.hidden = false;
    box.addEventListener("click", function (event) {
      var choice = event.target.getAttribute("data-restore");
      if (!choice) return;
      if (choice === "yes") {
        var forms = document.querySelectorAll("main form");
        JSON.parse(raw).forEach(function (kept) {
          var form = forms[kept.index];
          if (!form) return;
          kept.fields.forEach(function (field) {
            Array.prototype.forEach.call(form.elements, function (el) {
              if (el.name !== field.name || skipped(el)) return;
              if (el.type === "checkbox" || el.type === "radio") {
                if (el.value === field.value) el.checked = field.checked;
              } else {
                el.value = field.value;
              }
            });
          });
        });
      }
      sessionStorage.removeItem(FORMS_PREFIX + here);
      box.hidden = true;
    });
  }

  // --- tabs in step ------------------------------------------------------------------

  var channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;
  var listeners = [];

  function tell(message) {
    if (channel) {
      channel.postMessage(message);
    } else {
      try {
        message.nonce = Math.random();
        localStorage.setItem(MESSAGE_KEY, JSON.stringify(message));
      } catch (e) { /* private mode: tabs cannot talk */ }
    }
  }

  function hear(fn) { listeners.push(fn); }
  function dispatch(message) { listeners.forEach(function (fn) { fn(message); }); }
  if (channel) {
    channel.onmessage = function (event) { dispatch(event.data); };
  } else {
    window.addEventListener("storage", function (event) {
      if (event.key === MESSAGE_KEY && event.newValue) dispatch(JSON.parse(event.newValue));
    });
  }

  // --- the banner ----------------------------------------------------------------------

  var banner = document.getElementById("session-banner");
  if (!banner) {
    offerKeptForms();
    return;
  }
  document.body.setAttribute("data-signed-in", "");
  offerKeptForms();

  var warnMs = Number(banner.dataset.warn) * 1000;
  // The server's clock, not this device's: a phone's clock may be minutes off.
  var skew = Date.now() - Number(banner.dataset.now) * 1000;
  var deadline = Number(banner.dataset.expires) * 1000 + skew;
  var countdown = banner.querySelector(".session-countdown");
  var leaving = false;
  var checking = false;
  var checkedThisWarning = false;

  function adopt(serverSeconds) {
    var at = serverSeconds * 1000 + skew;
    if (at > deadline) {
      deadline = at;
      checkedThisWarning = false;
    }
  }

  function leave(reason) {
    if (leaving) return;
    leaving = true;
    keepForms();
    var url = banner.dataset.loginUrl + "?next=" + encodeURIComponent(here);
    if (reason === "expired") url += "&expired=1";
    location.assign(url);
  }

  function check(then) {
    // Another tab, or this page's own requests, may have kept the session going.
    if (checking) return;
    checking = true;
    fetch(banner.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (status) {
        checking = false;
        if (status.signed_in) {
          adopt(status.expires);
          tell({ type: "expires", at: status.expires });
        }
        then(status.signed_in);
      })
      .catch(function () { checking = false; then(null); });
  }

  function show(left) {
    var seconds = Math.max(0, Math.ceil(left / 1000));
    countdown.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    banner.hidden = false;
  }

  function tick() {
    if (leaving) return;
    var left = deadline - Date.now();
    if (left <= 0) {
      // Only the server's word ends it: this clock may run a little ahead of its.
      check(function (signedIn) {
        if (signedIn === false) {
          tell({ type: "signed-out", reason: "expired" });
          leave("expired");
        }
      });
      return;
    }
    if (left <= warnMs) {
      show(left);
      if (!checkedThisWarning) {
        checkedThisWarning = true;
        check(function () {});
      }
    } else {
      banner.hidden = true;
    }
  }

  hear(function (message) {
    if (message.type === "expires") {
      adopt(message.at);
      tick();
    } else if (message.type === "signed-out") {
      leave(message.reason);
    }
  });

  // "Stay signed in": the server answers with the new expiry in an HX-Trigger event.
  document.body.addEventListener("session-extended", function (event) {
    adopt(event.detail.expires);
    tell({ type: "expires", at: event.detail.expires });
    tick();
  });

  // Signing out in one tab signs out them all: the others go to the login page.
  document.querySelectorAll('form[action="/logout/"]').forEach(function (form) {
    form.addEventListener("submit", function () { tell({ type: "signed-out", reason: "logout" }); });
  });

  tell({ type: "expires", at: Number(banner.dataset.expires) });
  tick();
  setInterval(tick, 1000);
})();
