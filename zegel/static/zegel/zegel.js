// Small improvements on pages that work without JavaScript: more recipient rows, upload progress.
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

  document.addEventListener("DOMContentLoaded", function () {
    addRecipientRows();
    uploadProgress();
  });
})();
