// The register page: tick every absent student (or none) for marking several at once.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-select]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var which = button.dataset.select;
        document.querySelectorAll("tr[data-status]").forEach(function (row) {
          var box = row.querySelector("input[type=checkbox][form=bulk-mark]");
          if (box) box.checked = which !== "none" && row.dataset.status === which;
        });
      });
    });
  });
})();
