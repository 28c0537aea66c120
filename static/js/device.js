/* The device page: registers the phone once, then checks in over /ws/device/ (DESIGN §4).
 *
 * The device id and token live in localStorage, so later visits need no login.
 * The joined session id is stored too: after a reconnect the page re-attaches
 * with {"type":"join","session":id}, because the join code may have rotated.
 * Reconnects back off exponentially with full jitter, so a classroom of phones
 * coming back after a server restart does not arrive in one wave. A graceful
 * restart (close code 1012) brings the phone back within a second; a newer
 * socket of the same phone (4409, another tab) leaves this one stopped.
 */
(function () {
  "use strict";

  var root = document.getElementById("device-app");
  if (!root) return;

  var KEY_DEVICE = "rollcall.device";
  var KEY_SESSION = "rollcall.session";
  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_CAP_MS = 30000;
  var CLOSE_ENDED = 4000;
  var CLOSE_UNAUTHENTICATED = 4401;
  var CLOSE_FORBIDDEN = 4403;
  var CLOSE_RATE_LIMITED = 4429;
  var CLOSE_REPLACED = 4409;
  var CLOSE_SERVICE_RESTART = 1012;
  var RETRY_JOIN_MIN_MS = 2000;
  var RETRY_JOIN_SPREAD_MS = 3000;
  var ERRORS = {
    invalid_code: "That code is not valid. Check the lecturer's screen (the code changes every few seconds) and try again.",
    not_enrolled: "You are not enrolled in this course, so you cannot check in to it.",
    no_active_session: "That class session is not running any more.",
    rate_limited: "Too many wrong codes. Wait a minute, then try again.",
    unavailable: "The server is busy for a moment; trying again by itself…"
  };

  var el = function (id) { return document.getElementById(id); };
  var panels = ["register", "signin", "join", "checked-in", "ended"];

  var socket = null;
  var welcomed = false;
  var attempt = 0;
  var reconnectTimer = null;
  var heartbeatTimer = null;
  var heartbeatSeconds = 20;
  var lastMessageAt = 0;
  var pendingCode = null;
  var lastCode = null;
  var retryJoinTimer = null;
  var lastJoinBy = null;
  var resuming = false;
  var stopped = false;

  function load(key) {
    try { return JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* private mode: this visit still works, the next one re-registers */ }
  }

  function show(name) {
    panels.forEach(function (p) { el("panel-" + p).hidden = p !== name; });
  }
  function setError(text) {
    var box = el("device-error");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function setConn(state, text) {
    el("conn").dataset.state = state;
    el("conn-text").textContent = text;
  }
  function showDeviceName() {
    var creds = load(KEY_DEVICE);
    el("device-name").textContent = creds ? "This phone: " + creds.name + " (" + creds.student + ")" : "";
  }

  function codeFromUrl() {
    var code = new URLSearchParams(window.location.search).get("code");
    return code && /^[0-9]{6}$/.test(code) ? code : null;
  }
  function forgetUrlCode() {
    // A reload must not replay a code that has rotated away; the stored session re-attaches instead.
    if (window.location.search) window.history.replaceState(null, "", window.location.pathname);
  }

  function showCheckedIn(joined) {
    el("joined-course").textContent = joined.course;
    var since = new Date(joined.since);
    var t = el("joined-since");
    t.dateTime = since.toISOString();
    t.textContent = since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    show("checked-in");
  }

  function showCredentialsGone() {
    save(KEY_DEVICE, null);
    save(KEY_SESSION, null);
    showDeviceName();
    setConn("offline", "Not registered");
    setError("This phone's registration is no longer valid (it was removed or replaced). Register the phone again.");
    show(root.dataset.student ? "register" : "signin");
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function sendJoin() {
    var stored = load(KEY_SESSION);
    if (pendingCode) {
      lastJoinBy = "code";
      lastCode = pendingCode;
      send({ type: "join", code: pendingCode });
      pendingCode = null;
    } else if (stored && stored.id) {
      lastJoinBy = "session";
      send({ type: "join", session: stored.id });
    } else {
      show("join");
    }
  }

  function startHeartbeat() {
    stopHeartbeat();
    heartbeatTimer = window.setInterval(function () {
      // Three silent intervals mean the socket is dead even if the browser has not noticed.
      if (Date.now() - lastMessageAt > heartbeatSeconds * 3000) { socket.close(); return; }
      send({ type: "ping" });
    }, heartbeatSeconds * 1000);
  }
  function stopHeartbeat() {
    if (heartbeatTimer) window.clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  }

  function onMessage(event) {
    var msg;
    lastMessageAt = Date.now();
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    switch (msg.type) {
      case "welcome":
        welcomed = true;
        attempt = 0;
        heartbeatSeconds = Math.max(1, Number(msg.heartbeat) || 20);
        setConn("live", "Connected");
        startHeartbeat();
        if (!resuming) sendJoin();
        resuming = false;
        break;
      case "joined": {
        lastJoinBy = null;
        var stored = load(KEY_SESSION);
        var since = stored && stored.id === msg.session ? stored.since : new Date().toISOString();
        var joined = { id: msg.session, course: msg.course, since: since };
        save(KEY_SESSION, joined);
        setError("");
        forgetUrlCode();
        showCheckedIn(joined);
        break;
      }
      case "error":
        setError(ERRORS[msg.code] || msg.detail || "Something went wrong (" + msg.code + ").");
        if (msg.code === "unavailable") { retryJoinSoon(); break; }
        if (lastJoinBy === "session" && msg.code !== "rate_limited") save(KEY_SESSION, null);
        if (lastJoinBy) { show("join"); el("id_code").focus(); }
        lastJoinBy = null;
        break;
      case "left":
        save(KEY_SESSION, null);
        show("join");
        break;
      case "session.ended":
        showEnded(msg.status);
        break;
      default:
        break; // pong, and anything newer than this page
    }
  }

  // The server could not reach its database: the same join again in a few
  // seconds, spread so that a class does not retry in one wave.
  function retryJoinSoon() {
    if (!lastJoinBy || retryJoinTimer) return;
    if (lastJoinBy === "code") pendingCode = lastCode;
    lastJoinBy = null;
    retryJoinTimer = window.setTimeout(function () {
      retryJoinTimer = null;
      if (welcomed) sendJoin();
    }, RETRY_JOIN_MIN_MS + Math.random() * RETRY_JOIN_SPREAD_MS);
  }

  function showReplaced() {
    stopped = true;
    setConn("offline", "Open elsewhere");
    setError("This phone's check-in continued in another tab or window, so this one stopped. Enter the code here to take it back.");
    show("join");
  }

  function showEnded(status) {
    var stored = load(KEY_SESSION);
    stopped = true;
    save(KEY_SESSION, null);
    var label = { present: "Present", late: "Late" }[status];
    el("final-status").textContent = label ? "Recorded: " + label : "Class ended";
    el("final-status").className = "big-state " + (status === "late" ? "warn" : status ? "ok" : "");
    el("final-detail").textContent = (stored ? stored.course + ": " : "") + "the class session has ended.";
    setConn("ended", "Session over");
    setError("");
    show("ended");
  }

  function onClose(event) {
    stopHeartbeat();
    socket = null;
    welcomed = false;
    // A join by code still unanswered (the server was restarting): send it again.
    if (lastJoinBy === "code" && lastCode && !pendingCode) pendingCode = lastCode;
    if (event.code === CLOSE_ENDED) {
      if (el("panel-ended").hidden) showEnded(null);
      return;
    }
    if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
      stopped = true;
      showCredentialsGone();
      return;
    }
    if (event.code === CLOSE_REPLACED) {
      showReplaced();
      return;
    }
    if (event.code === CLOSE_RATE_LIMITED) setError(ERRORS.rate_limited);
    // A graceful restart: back within a second (jittered), not after a long backoff.
    if (event.code === CLOSE_SERVICE_RESTART) attempt = 0;
    if (!stopped) scheduleReconnect();
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    var delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempt));
    attempt += 1;
    setConn("reconnecting", "Reconnecting…");
    reconnectTimer = window.setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  function connect() {
    var creds = load(KEY_DEVICE);
    if (!creds || socket) return;
    stopped = false;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setConn(attempt ? "reconnecting" : "connecting", attempt ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.addEventListener("open", function () {
      lastMessageAt = Date.now();
      var hello = { type: "hello", device: creds.device, token: creds.token };
      var stored = load(KEY_SESSION);
      // Coming back to a session: hello and re-attach in one frame (a resume).
      resuming = !pendingCode && !!(stored && stored.id);
      if (resuming) { hello.session = stored.id; lastJoinBy = "session"; }
      send(hello);
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
  }

  function reconnectNow() {
    if (socket || stopped || !load(KEY_DEVICE)) return;
    if (reconnectTimer) { window.clearTimeout(reconnectTimer); reconnectTimer = null; }
    connect();
  }

  el("register-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var button = form.querySelector("button");
    button.disabled = true;
    setError("");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            save(KEY_DEVICE, { device: body.device, token: body.token, name: body.name, student: body.student });
            showDeviceName();
            pendingCode = codeFromUrl();
            show("join");
            connect();
            return;
          }
          if (response.status === 401) show("signin");
          setError(body.detail || "The phone could not be registered (HTTP " + response.status + ").");
        });
      })
      .catch(function () { setError("No connection to the server. Try again in a moment."); })
      .then(function () { button.disabled = false; });
  });

  el("join-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = el("id_code");
    var code = input.value.replace(/\D/g, "");
    if (!/^[0-9]{6}$/.test(code)) { setError("Enter the 6 digits of the join code."); input.focus(); return; }
    setError("");
    pendingCode = code;
    if (welcomed) sendJoin();
    else { stopped = false; reconnectNow(); connect(); }
  });

  el("leave-button").addEventListener("click", function () { send({ type: "leave" }); });
  el("again-button").addEventListener("click", function () {
    stopped = false;
    setError("");
    show("join");
    connect();
  });

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reconnectNow();
  });

  var urlCode = codeFromUrl();
  if (urlCode) el("id_code").value = urlCode;
  showDeviceName();
  if (!load(KEY_DEVICE)) {
    show(root.dataset.student ? "register" : "signin");
    return;
  }
  pendingCode = urlCode;
  var stored = load(KEY_SESSION);
  if (stored && stored.id && !urlCode) showCheckedIn(stored);
  else show("join");
  connect();
})();
