/* My devices: "replace my old phone".
 *
 * The server revokes the chosen device and registers this browser in its
 * slot; its answer holds the new device's token, which is kept where the
 * device page (static/js/device.js) looks for it, then the device page opens.
 */
(function () {
  "use strict";

  var root = document.getElementById("my-devices-app");
  if (!root) return;
  var KEY_DEVICE = "rollcall.device";
  var KEY_SESSION = "rollcall.session";
  var errorBox = document.getElementById("replace-error");

  function setError(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-replace-device]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      setError("");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.ok) {
              try {
                window.localStorage.setItem(KEY_DEVICE, JSON.stringify({
                  device: body.device, token: body.token, name: body.name, student: body.student
                }));
                window.localStorage.removeItem(KEY_SESSION);
              } catch (e) {
                setError("This browser cannot keep the phone's registration (private mode?).");
                return;
              }
              window.location.assign(root.dataset.deviceUrl);
              return;
            }
            setError(body.detail || "The phone could not be replaced (HTTP " + response.status + ").");
          });
        })
        .catch(function () { setError("No connection to the server. Try again in a moment."); })
        .then(function () { button.disabled = false; });
    });
  });
})();
