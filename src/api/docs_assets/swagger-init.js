// Swagger UI on this server's OpenAPI document; Authorize takes an API key (Bearer).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
