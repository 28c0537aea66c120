// Small page behaviours, wired by data attributes instead of inline handlers
// (the Content-Security-Policy runs no inline script):
//   <select data-autosubmit>  submits its form when changed (a <noscript> button stays for no JS);
//   <button data-print>       prints the page.
(function () {
  "use strict";

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target && target.matches && target.matches("[data-autosubmit]") && target.form) {
      if (target.form.requestSubmit) target.form.requestSubmit();
      else target.form.submit();
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target && evt.target.closest && evt.target.closest("[data-print]");
    if (target) window.print();
  });
})();
