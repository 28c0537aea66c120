// The dashboard's "today" panel: when a course card turns running or stops (the sweep
// opened or ended a class), the panel reloads itself instead of waiting a minute.
(function () {
  "use strict";
  var running = {};
  var pending = null;

  function refresh() {
    pending = null;
    var panel = document.getElementById("today");
    if (panel && window.htmx) htmx.trigger(panel, "rollcall:classes-changed");
  }

  function note(card) {
    var now = card.classList.contains("running");
    var changed = card.id in running && running[card.id] !== now;
    running[card.id] = now;
    return changed;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("article.card").forEach(note);
  });
  // htmx fires htmx:load on every element it swaps in, pushed cards included.
  document.addEventListener("htmx:load", function (evt) {
    var el = evt.detail && evt.detail.elt;
    if (!el || !el.classList) return;
    var cards = el.classList.contains("card") ? [el] : el.querySelectorAll ? el.querySelectorAll("article.card") : [];
    var changed = false;
    Array.prototype.forEach.call(cards, function (card) { changed = note(card) || changed; });
    if (changed && !pending) pending = setTimeout(refresh, 300);
  });
})();
