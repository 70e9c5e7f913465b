// Starts Swagger UI on /api/v1/docs from Zegel's own static files (the CSP allows no inline
// script). The document's address comes from the page; nothing is fetched from elsewhere:
// no validator badge (validatorUrl null), no remote configuration (queryConfigEnabled false).
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    // Without deep links the operation's path is plain text, not a link nested in the
    // button that opens the operation (axe nested-interactive).
    deepLinking: false,
    validatorUrl: null,
    queryConfigEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
