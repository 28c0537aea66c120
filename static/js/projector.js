// The projector view: counts down to the next join code, asks htmx for the new one
// when it is due, and offers full screen.
(function () {
  "use strict";

  var asked = false;

  function tick() {
    var el = document.querySelector("[data-countdown]");
    if (!el) return;
    var left = Math.ceil((Date.parse(el.dataset.expires) - Date.now()) / 1000);
    if (isNaN(left)) return;
    el.textContent = String(Math.max(0, left));
    if (left <= 0 && !asked && window.htmx) {
      // The sweep or a lecturer's socket rotates the code on the second; ask just after.
      asked = true;
      setTimeout(function () {
        htmx.trigger(document.getElementById("projector"), "rollcall:code-due");
      }, 700);
    }
  }

  document.addEventListener("htmx:afterSwap", function () {
    asked = false;
    tick();
  });
  setInterval(tick, 250);
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    var button = document.getElementById("fullscreen");
    if (!button || !document.documentElement.requestFullscreen) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      document.documentElement.requestFullscreen().catch(function () {});
    });
  });
})();
