"""The OpenAPI schema and the interactive docs, served without any CDN."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_3_and_lists_the_auth_endpoints() -> None:
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in ("register", "login", "logout", "refresh", "me"):
        assert f"/api/v1/auth/{path}" in schema["paths"]
    assert "jwtAuth" in schema["components"]["securitySchemes"]


def test_interactive_docs_load_their_assets_from_us() -> None:
    client = Client()
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
