// The conversation page follows its recipients' status while a notification waits in the
// outbox: it asks the server a bounded number of times, further apart each time, and says
// what changed in a live region. Without JavaScript a reload shows the same.
(function () {
  "use strict";

  // Seconds before each try: about a minute and a half in all, then the page stops asking.
  var DELAYS = [1, 1, 2, 3, 5, 8, 13, 21, 34];

  function render(row, recipient) {
    var list = row.querySelector("[data-events]");
    if (!list) return;
    list.textContent = "";
    recipient.events.forEach(function (e) {
      var item = document.createElement("li");
      item.setAttribute("data-event", e.kind);
      item.appendChild(document.createTextNode(e.text + " "));
      var time = document.createElement("time");
      time.setAttribute("datetime", e.at);
      time.textContent = e.at_text;
      item.appendChild(time);
      if (e.detail) {
        var detail = document.createElement("span");
        detail.className = "event-detail";
        detail.textContent = " (" + e.detail + ")";
        item.appendChild(detail);
      }
      list.appendChild(item);
    });
    if (recipient.waiting || !recipient.events.length) {
      var queued = document.createElement("li");
      queued.setAttribute("data-queued", "");
      queued.textContent = recipient.status_text;
      list.appendChild(queued);
    }
    row.setAttribute("data-status", recipient.status);
  }

  function follow(section) {
    var url = section.getAttribute("data-status-url");
    var live = section.querySelector("[data-status-live]");
    var tries = 0;

    function ask() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (answer) {
          var changed = [];
          answer.recipients.forEach(function (recipient) {
            var row = section.querySelector("tr[data-recipient-id='" + recipient.id + "']");
            if (!row) return;
            if (row.getAttribute("data-status") !== recipient.status) {
              changed.push(recipient.label + ": " + recipient.status_text);
            }
            render(row, recipient);
          });
          if (changed.length && live) live.textContent = changed.join("; ");
          if (answer.waiting) later();
        })
        .catch(later);
    }

    function later() {
      if (tries >= DELAYS.length) {
        if (live) live.textContent = section.getAttribute("data-still-waiting-text");
        return;
      }
      window.setTimeout(ask, DELAYS[tries++] * 1000);
    }

    later();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.querySelector("[data-live-status][data-waiting]");
    if (section && window.fetch) follow(section);
  });
})();
