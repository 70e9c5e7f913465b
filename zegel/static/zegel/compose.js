// The compose page, on top of a form that works without JavaScript: each recipient row shows
// only the fields its way of verifying needs, recipients and attached files can be added and
// removed, and after an error the summary takes focus and its links take you to the field.
(function () {
  "use strict";

  var PREFIX = /^r-\d+-/;

  function errorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      if (!link) return;
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      // The field's label stays in view above it, as GOV.UK's summary does.
      var field = target.closest(".field") || target;
      field.scrollIntoView();
      target.focus({ preventScroll: true });
    });
  }

  // Which fields a row shows for its method; "" (no method chosen) means SMS if a number is
  // given, so the number shows.
  function disclose(row) {
    var select = row.querySelector("[data-method]");
    var method = select ? select.value || "sms" : "";
    row.querySelectorAll("[data-for-method]").forEach(function (field) {
      field.hidden = field.getAttribute("data-for-method") !== method;
    });
  }

  function whoText(row, index) {
    var email = row.querySelector("input[type=email]");
    var typed = email && email.value.trim();
    return " " + (index + 1) + (typed ? " (" + typed + ")" : "");
  }

  function recipientRows() {
    var list = document.querySelector("[data-recipient-list]");
    var counter = document.querySelector("[data-rows]");
    var add = document.querySelector("[data-add-recipient]");
    var status = document.querySelector("[data-recipient-status]");
    var hint = document.querySelector("[data-methods-hint]");
    if (!list || !counter || !add) return;

    function rows() { return list.querySelectorAll("[data-recipient-row]"); }

    function renumber() {
      var all = rows();
      all.forEach(function (row, index) {
        var prefix = "r-" + index + "-";
        row.querySelectorAll("[id]").forEach(function (el) { el.id = el.id.replace(PREFIX, prefix); });
        row.querySelectorAll("[for]").forEach(function (el) {
          el.setAttribute("for", el.getAttribute("for").replace(PREFIX, prefix));
        });
        row.querySelectorAll("[name]").forEach(function (el) { el.name = el.name.replace(PREFIX, prefix); });
        row.querySelectorAll("[aria-describedby]").forEach(function (el) {
          el.setAttribute("aria-describedby", el.getAttribute("aria-describedby")
            .split(" ").map(function (id) { return id.replace(PREFIX, prefix); }).join(" "));
        });
        row.querySelector("[data-row-number]").textContent = String(index + 1);
        row.querySelector("[data-remove-who]").textContent = whoText(row, index);
        // One recipient is the least a message has: its row has nothing to remove.
        row.querySelector("[data-remove-recipient]").hidden = all.length < 2;
      });
      counter.value = String(all.length);
    }

    function clear(row) {
      row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
      row.querySelectorAll("[aria-invalid]").forEach(function (el) {
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      });
      row.querySelectorAll("input").forEach(function (el) { el.value = ""; });
      row.querySelectorAll("select").forEach(function (el) {
        // A new recipient starts at the first way of verifying (SMS), not at "if a number…".
        el.querySelectorAll("option[value='']").forEach(function (option) {
          if (el.hasAttribute("data-method")) option.remove();
        });
        el.selectedIndex = 0;
      });
    }

    // The empty row the server adds for pages without JavaScript: here "Add recipient" does it.
    list.querySelectorAll("[data-spare]").forEach(function (row) {
      if (rows().length > 1) row.remove();
    });
    if (hint) hint.hidden = true;  // the rows themselves now show what each method needs
    add.hidden = false;
    rows().forEach(disclose);
    renumber();

    list.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-method")) disclose(event.target.closest("[data-recipient-row]"));
    });
    list.addEventListener("input", function (event) {
      if (event.target.type === "email") renumber();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-remove-recipient]");
      if (!button) return;
      var row = button.closest("[data-recipient-row]");
      var all = Array.prototype.slice.call(rows());
      var index = all.indexOf(row);
      row.remove();
      renumber();
      var left = rows();
      var next = left[Math.min(index, left.length - 1)];
      (next ? next.querySelector("input[type=email]") : add).focus();
      if (status) status.textContent = status.getAttribute("data-removed-text");
    });
    add.addEventListener("click", function () {
      var clone = rows()[0].cloneNode(true);
      clear(clone);
      list.appendChild(clone);
      renumber();
      disclose(clone);
      if (status) status.textContent = "";
      clone.querySelector("input[type=email]").focus();
    });
  }

  // Attached files: each can be taken out before sending; the draft is deleted on the server.
  function attachments() {
    var list = document.querySelector("[data-attached]");
    var form = list && list.closest("form");
    var token = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    var status = document.querySelector("[data-attach-status]");
    var pendingHint = document.querySelector("[data-pending-hint]");
    if (!list || !form || !window.fetch) return;

    function say(template, name) {
      if (status) status.textContent = (template || "").replace("{name}", name);
    }

    function removable(item) {
      var id = item.getAttribute("data-attachment");
      var name = item.getAttribute("data-name") || "";
      // A file shown again after an error has a checkbox (for pages without JavaScript):
      // from now on it is named by id, like a file uploaded here, and removed with a button.
      var box = item.querySelector("input[type=checkbox]");
      if (box) {
        if (!box.checked) { item.remove(); return; }
        var label = item.querySelector("label");
        var kept = document.createElement("input");
        kept.type = "hidden"; kept.name = "attachment_ids"; kept.value = id;
        item.textContent = label ? label.textContent.trim() : name;
        item.appendChild(kept);
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small remove-file";
      button.textContent = list.getAttribute("data-remove-text");
      var who = document.createElement("span");
      who.className = "visually-hidden";
      who.textContent = " " + name;
      button.appendChild(who);
      button.addEventListener("click", function () {
        button.disabled = true;
        var url = list.getAttribute("data-remove-url")
          .replace("00000000-0000-0000-0000-000000000000", encodeURIComponent(id));
        fetch(url, {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRFToken": token ? token.value : "" }
        }).then(function (response) {
          // Gone already (404) is what was wanted too.
          if (!response.ok && response.status !== 404) throw new Error(String(response.status));
          item.remove();
          if (!list.querySelector("li")) {
            list.hidden = true;
            if (pendingHint) pendingHint.hidden = true;
          }
          say(list.getAttribute("data-removed-text"), name);
          var input = form.querySelector("input[type=file]");
          if (input) input.focus();
          form.dispatchEvent(new Event("change"));  // the data-leak hints check again
        }).catch(function () {
          button.disabled = false;
          say(list.getAttribute("data-remove-failed-text"), name);
        });
      });
      item.appendChild(document.createTextNode(" "));
      item.appendChild(button);
    }

    list.querySelectorAll("li[data-attachment]").forEach(removable);
    if (pendingHint) pendingHint.hidden = true;
    list.hidden = !list.querySelector("li");
    // zegel.js uploads a chosen file at once and lists it; it tells us here.
    list.addEventListener("zegel:attached", function (event) { removable(event.detail); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("form[data-compose]")) return;
    recipientRows();
    attachments();
    errorSummary();
  });
})();
