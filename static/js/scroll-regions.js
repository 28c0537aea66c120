// Tables wider than the screen scroll inside their box (.table-wrap). A keyboard
// user reaches such a box with Tab and scrolls it with the arrow keys, and a screen
// reader names it: boxes that scroll get a tab stop, a region role and a label;
// boxes that fit (the same table on a wide screen) get none, so Tab skips them.
(function () {
  "use strict";

  function label(box) {
    var table = box.querySelector("table");
    if (table && table.caption && table.caption.textContent.trim()) {
      return table.caption.textContent.trim();
    }
    var section = box.closest("section, figure, details, main");
    var heading = section && section.querySelector("h1, h2, h3, summary, figcaption");
    return heading ? heading.textContent.trim() : "Table";
  }

  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box) + ", scrolls sideways");
        box.dataset.scrollMarked = "1";
      } else if (!scrolls && box.dataset.scrollMarked) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        delete box.dataset.scrollMarked;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
})();
