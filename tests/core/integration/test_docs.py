import re

import httpx
import pytest
from fastapi import FastAPI


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)

    assert response.status_code == 200
    html = response.text
    assert "<script>" not in html  # no inline script: works under a strict CSP
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        asset_response = await client.get(asset)
        assert asset_response.status_code == 200, asset
        assert len(asset_response.content) > 0


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_docs_pages_send_a_strict_content_security_policy(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert "cdn" not in policy


async def test_swagger_page_points_at_the_openapi_document(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    schema = await client.get("/openapi.json")

    assert 'data-openapi-url="/openapi.json"' in html
    assert schema.status_code == 200
    assert schema.json()["info"]["title"]
    assert "/health/ready" in schema.json()["paths"]


async def test_only_operations_that_take_a_token_document_a_401(app: FastAPI) -> None:
    spec = app.openapi()
    operations = {
        (method.upper(), path): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }
    secured = {key for key, operation in operations.items() if operation.get("security")}

    assert ("GET", "/api/v1/profile") in secured
    for key in secured:
        answer = operations[key]["responses"]["401"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }, key
    for key in (("POST", "/api/v1/auth/register"), ("GET", "/health"), ("GET", "/health/ready")):
        assert "401" not in operations[key]["responses"], key
