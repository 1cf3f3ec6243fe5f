// Starts Swagger UI on the API docs page (a file, not inline: the CSP allows no inline script).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // never ask an outside validator about the document
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
