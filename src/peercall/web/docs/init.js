// Interactive API docs, rendered from /openapi.json with the locally served Swagger UI.
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
