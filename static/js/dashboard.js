// The live dashboard: shows whether the socket is up, turns the 30 s fallback
// poll on while it is not, and keeps each running session's duration ticking.
(function () {
  "use strict";

  // htmx-ext-ws reconnects by itself only after these close codes.
  var RETRIED = [1006, 1011, 1012, 1013];
  window.rollcallLive = false;

  function indicate(state, text) {
    var el = document.getElementById("live-indicator");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
  }

  document.addEventListener("htmx:wsOpen", function () {
    window.rollcallLive = true;
    indicate("live", "● Live");
  });

  document.addEventListener("htmx:wsClose", function (evt) {
    window.rollcallLive = false;
    var code = evt.detail && evt.detail.event ? evt.detail.event.code : 0;
    if (RETRIED.indexOf(code) >= 0) {
      indicate("reconnecting", "Reconnecting… (refreshing every 30 s meanwhile)");
    } else {
      indicate("offline", "Not live: refreshing every 30 s");
    }
  });

  // While the server's channel layer reconnects to Redis it swaps the indicator
  // to "reconnecting" (events may be missed) and back to live after a fresh
  // snapshot; the fallback poll runs meanwhile.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var el = document.getElementById("live-indicator");
    if (el) window.rollcallLive = el.dataset.state === "live";
  });

  function duration(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-started]").forEach(function (el) {
      var started = Date.parse(el.dataset.started);
      if (!isNaN(started)) el.textContent = duration(Math.max(0, Math.floor((now - started) / 1000)));
    });
  }

  // The cards' 30 s poll is the fallback for a socket that is down: while it is
  // live the poll is cancelled here (a filter in hx-trigger would need eval,
  // which the Content-Security-Policy forbids).
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    // #cards issues only the poll (its buttons' forms are elements of their own).
    if (window.rollcallLive && elt && elt.id === "cards") evt.preventDefault();
  });

  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  // Pushed and polled cards arrive with the server's rounded duration.
  document.addEventListener("htmx:wsAfterMessage", tick);
  document.addEventListener("htmx:afterSwap", tick);
})();
