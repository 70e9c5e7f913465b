// Small improvements on pages that work without JavaScript: more recipient rows, upload
// progress, live data-leak hints.
(function () {
  "use strict";

  function addRecipientRows() {
    var button = document.querySelector("[data-add-recipient]");
    var list = document.querySelector("[data-recipient-list]");
    var counter = document.querySelector("[data-rows]");
    if (!button || !list || !counter) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = list.querySelectorAll("[data-recipient-row]");
      var index = rows.length;
      var clone = rows[0].cloneNode(true);
      clone.querySelectorAll("[id]").forEach(function (el) {
        el.id = el.id.replace(/^r-\d+-/, "r-" + index + "-");
      });
      clone.querySelectorAll("[for]").forEach(function (el) {
        el.setAttribute("for", el.getAttribute("for").replace(/^r-\d+-/, "r-" + index + "-"));
      });
      clone.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(/^r-\d+-/, "r-" + index + "-");
        if (el.tagName === "SELECT") el.selectedIndex = 0; else el.value = "";
      });
      list.appendChild(clone);
      counter.value = String(index + 1);
      clone.querySelector("input").focus();
    });
  }

  function uploadProgress() {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var files = form.querySelector("input[type=file]");
        if (!files || !files.files.length || !window.XMLHttpRequest) return;
        event.preventDefault();
        var box = form.querySelector(".progress");
        var bar = box && box.querySelector("progress");
        if (box) box.hidden = false;
        var request = new XMLHttpRequest();
        request.open("POST", form.action || window.location.href);
        request.upload.addEventListener("progress", function (e) {
          if (bar && e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
        });
        request.addEventListener("load", function () {
          // Follow the server's answer as a normal navigation would.
          if (request.status < 400 && request.responseURL) {
            window.location.assign(request.responseURL);
          } else {
            document.open(); document.write(request.responseText); document.close();
          }
        });
        request.addEventListener("error", function () { form.submit(); });
        request.send(new FormData(form));
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
  }

  // Data-leak hints while the sender types: the form (without files) goes to the server's
  // check 300 ms after the last change; only the newest answer is shown.
  function dlpHints() {
    var box = document.querySelector("[data-dlp-hints][data-check-url]");
    var form = box && box.closest("form");
    if (!form || !window.fetch || !window.FormData) return;
    var confirmBox = form.querySelector("[data-dlp-confirm]");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var timer = null;
    var latest = 0;

    function render(result) {
      box.textContent = "";
      if (result.summary) {
        var p = document.createElement("p");
        p.textContent = result.summary;
        box.appendChild(p);
      }
      var rules = result.rules.filter(function (r) { return r.action !== "audit"; });
      if (rules.length) {
        var list = document.createElement("ul");
        rules.forEach(function (r) {
          var item = document.createElement("li");
          item.className = "dlp-" + r.action;
          item.textContent = r.message;
          list.appendChild(item);
        });
        box.appendChild(list);
      }
      if (confirmBox) {
        confirmBox.hidden = !result.needs_confirmation;
        if (confirmBox.hidden) confirmBox.querySelector("input").checked = false;
      }
    }

    function check() {
      var mine = ++latest;
      var data = new FormData(form);
      data.delete("attachments");
      fetch(box.getAttribute("data-check-url"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result && mine === latest) render(result);
      }).catch(function () { /* hints are a help; sending checks again */ });
    }

    function later(event) {
      if (event.target && (event.target.type === "file" || event.target.name === "dlp_confirm")) {
        return;
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 300);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  document.addEventListener("DOMContentLoaded", function () {
    addRecipientRows();
    uploadProgress();
    dlpHints();
  });
})();
