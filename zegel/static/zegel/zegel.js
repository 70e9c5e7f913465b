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
        // Asks the server to answer a redirect with its address instead (see
        // zegel.core.middleware.UploadRedirectMiddleware): an XHR that followed the redirect
        // itself would render the next page once unseen and use up its one-time notice.
        request.setRequestHeader("X-Zegel-Upload", "1");
        request.addEventListener("load", function () {
          var type = request.getResponseHeader("Content-Type") || "";
          var next = null;
          if (request.status === 200 && type.indexOf("application/json") === 0) {
            try { next = JSON.parse(request.responseText).redirect; } catch (e) { next = null; }
          }
          if (next) {
            window.location.assign(next);
          } else if (request.status < 400 && request.responseURL) {
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
  // check 300 ms after the last change; only the newest answer is shown. Files are uploaded
  // as soon as they are chosen and scanned once then; the check names them by id. A finding
  // can be marked "This is not a BSN" (the organisation's allow list).
  function dlpHints() {
    var box = document.querySelector("[data-dlp-hints][data-check-url]");
    var form = box && box.closest("form");
    if (!form || !window.fetch || !window.FormData) return;
    var confirmBox = form.querySelector("[data-dlp-confirm]");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var files = form.querySelector("input[type=file][data-attach-url]");
    var attached = form.querySelector("[data-attached]");
    var timer = null;
    var latest = 0;
    var notice = "";

    function post(url, data) {
      return fetch(url, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" }
      });
    }

    function paragraph(text, className) {
      var p = document.createElement("p");
      p.textContent = text;
      if (className) p.className = className;
      box.appendChild(p);
    }

    function markButton(finding) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = finding.not_label;
      button.addEventListener("click", function () {
        var data = new FormData();
        data.append("finding", finding.id);
        button.disabled = true;
        post(box.getAttribute("data-not-sensitive-url"), data).then(function (response) {
          return response.json();
        }).then(function (answer) {
          notice = answer.message || answer.error || "";
          check();
        }).catch(function () { button.disabled = false; });
      });
      return button;
    }

    function render(result) {
      box.textContent = "";
      if (notice) paragraph(notice, "dlp-notice");
      // The findings are listed one by one below; the summary only when there is no list.
      if (result.summary && !result.findings.length) paragraph(result.summary);
      // Each finding with why (the term, who it is about, the label) and, where it has a
      // value, the button that marks it as not sensitive.
      if (result.findings.length) {
        var marks = document.createElement("ul");
        marks.className = "dlp-findings";
        result.findings.forEach(function (f) {
          var item = document.createElement("li");
          var why = (f.reasons || []).map(function (r) { return r.text; }).join("; ");
          item.appendChild(document.createTextNode(f.text + (why ? " (" + why + ")" : "") + " "));
          if (f.id) item.appendChild(markButton(f));
          marks.appendChild(item);
        });
        box.appendChild(marks);
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
      post(box.getAttribute("data-check-url"), data).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result && mine === latest) render(result);
      }).catch(function () { /* hints are a help; sending checks again */ });
    }

    function upload() {
      if (!files.files.length) return;
      var data = new FormData();
      Array.prototype.forEach.call(files.files, function (f) { data.append("attachments", f); });
      post(files.getAttribute("data-attach-url"), data).then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
      }).then(function (reply) {
        if (!reply.ok) { notice = reply.answer.error || ""; check(); return; }
        reply.answer.attachments.forEach(function (a) {
          var item = document.createElement("li");
          item.textContent = a.name;
          var id = document.createElement("input");
          id.type = "hidden"; id.name = "attachment_ids"; id.value = a.id;
          item.appendChild(id);
          attached.appendChild(item);
        });
        attached.hidden = false;
        files.value = "";  // sent already: the form names them by id from now on
        check();
      }).catch(function () { /* the files stay chosen and go with the form */ });
    }

    function later(event) {
      if (event.target && event.target.name === "dlp_confirm") return;
      if (event.target && event.target.type === "file") {
        if (event.type === "change" && files && attached && event.target === files) upload();
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
