"""The API's own description: the generated OpenAPI document and the /docs page."""
