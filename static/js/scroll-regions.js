// Tables wider than the screen scroll inside their box (.table-wrap), and a live
// session's roster lists scroll inside their card (.roster ul). A keyboard user
// reaches such a box with Tab and scrolls it with the arrow keys, and a screen
// reader names it: boxes that scroll get a tab stop and a label (a table's box a
// region role too; a list stays a list); boxes that fit (the same table on a wide
// screen, a short roster) get none, so Tab skips them.
(function () {
  "use strict";

  function label(box) {
    var table = box.querySelector("table");
    if (table && table.caption && table.caption.textContent.trim()) {
      return table.caption.textContent.trim();
    }
    var section = box.closest("section, figure, details, main");
    if (section && section.getAttribute("aria-label")) return section.getAttribute("aria-label");
    var heading = section && section.querySelector("h1, h2, h3, summary, figcaption");
    return heading ? heading.textContent.trim() : "Table";
  }

  function mark() {
    document.querySelectorAll(".table-wrap, .roster ul").forEach(function (box) {
      var list = box.tagName === "UL";
      var scrolls = list
        ? box.scrollHeight > box.clientHeight + 1
        : box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        if (!list) box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box) + (list ? ", scrolls" : ", scrolls sideways"));
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
  // Rosters pushed over the dashboard's socket arrive without a settle event.
  document.addEventListener("htmx:wsAfterMessage", mark);
})();
