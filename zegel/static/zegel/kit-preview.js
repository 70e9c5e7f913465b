// The communication kit's editor: the preview follows the text as it is typed. The server
// renders it (the same "preview" the button asks for), so the page without JavaScript shows
// exactly the same; this only saves pressing the button. The new preview is taken from the
// server's page, where every character of the text is escaped.
(function () {
  "use strict";
  var form = document.querySelector("form.kit-form");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var timer = null;
  var asked = 0;

  function refresh() {
    var data = new FormData(form);
    data.set("action", "preview");
    var mine = ++asked;
    // form.action is the buttons named "action", hence the attribute.
    fetch(form.getAttribute("action"), {method: "POST", body: data, credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== asked) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("section.kit-preview");
        var current = document.querySelector("section.kit-preview");
        if (fresh && current) { current.replaceWith(document.importNode(fresh, true)); }
      })
      .catch(function () { /* the button still works */ });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  });
}());
