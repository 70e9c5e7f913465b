// The portal's helpers where JavaScript runs: "show code" on the access-code field, and a
// warning before the idle session ends, with "stay signed in". Without JavaScript the pages
// work as they are: a reply posted after the session ended is kept until the recipient
// signs in again.
(function () {
  "use strict";

  function showCode() {
    document.querySelectorAll("[data-show-code]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-show-code"));
      if (!input) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var shown = input.type === "password";
        input.type = shown ? "text" : "password";
        button.setAttribute("aria-pressed", shown ? "true" : "false");
      });
    });
  }

  function minutesAndSeconds(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function sessionWarning() {
    var box = document.querySelector("[data-session-warning]");
    if (!box || !window.fetch) return;
    var idle = parseInt(box.getAttribute("data-idle-seconds"), 10);
    var warn = parseInt(box.getAttribute("data-warn-seconds"), 10);
    if (!(idle > 0) || !(warn > 0)) return;
    var left = box.querySelector("[data-time-left]");
    var running = box.querySelector("[data-warning-running]");
    var ended = box.querySelector("[data-warning-ended]");
    var announce = box.querySelector("[data-warning-announce]");
    var stay = box.querySelector("[data-stay]");
    var closeButton = box.querySelector("[data-warning-close]");
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    // A little before the server's own limit: the page was rendered a moment after it
    // counted the last request.
    var margin = Math.min(5, idle / 10);
    var deadline = 0;
    var before = null;
    var announced = {};

    function restart(seconds) {
      deadline = Date.now() + (seconds - margin) * 1000;
      announced = {};
    }

    function say(text) {
      announce.textContent = "";
      window.setTimeout(function () { announce.textContent = text; }, 50);
    }

    function open() {
      if (!box.hidden) return false;
      before = document.activeElement;
      box.hidden = false;
      running.hidden = false;
      ended.hidden = true;
      stay.hidden = false;
      stay.focus();
      return true;
    }

    function close() {
      box.hidden = true;
      if (before && before.focus && document.contains(before)) before.focus();
      before = null;
    }

    function end() {
      running.hidden = true;
      ended.hidden = false;
      stay.hidden = true;
      closeButton.hidden = false;
      if (box.hidden) { box.hidden = false; }
      say(ended.textContent);
      closeButton.focus();
      window.clearInterval(timer);
    }

    // After the end: back to the form, where "Send reply" keeps what was typed.
    closeButton.addEventListener("click", function () {
      box.hidden = true;
      var body = document.getElementById("body");
      if (body) body.focus();
    });

    function tick() {
      var remaining = (deadline - Date.now()) / 1000;
      if (remaining <= 0) { end(); return; }
      if (remaining > warn) return;
      var opened = open();
      left.textContent = minutesAndSeconds(remaining);
      // Spoken when the warning opens and at a few moments after, not every second.
      var due = opened;
      [60, 30, 10].forEach(function (mark) {
        if (remaining <= mark && !announced[mark]) { announced[mark] = true; due = true; }
      });
      if (due) say(running.textContent.replace(/\s+/g, " ").trim());
    }

    stay.addEventListener("click", function () {
      stay.disabled = true;
      fetch(box.getAttribute("data-stay-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" }
      }).then(function (response) {
        return response.json().then(function (answer) {
          return { ok: response.ok, answer: answer };
        });
      }).then(function (reply) {
        stay.disabled = false;
        if (reply.ok && reply.answer.signed_in) {
          restart(reply.answer.seconds || idle);
          close();
        } else {
          end();
        }
      }).catch(function () { stay.disabled = false; });
    });
    // A download counts as activity on the server too.
    document.querySelectorAll("a[download]").forEach(function (link) {
      link.addEventListener("click", function () { restart(idle); });
    });

    restart(idle);
    var timer = window.setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    showCode();
    sessionWarning();
  });
})();
