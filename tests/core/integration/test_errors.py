import httpx
import pytest
from fastapi import FastAPI

from tests.schemas import ERROR_SCHEMA, validator


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/does-not-exist")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_json_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")

    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == "GET"


async def test_405_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/v1/profile")

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"


async def test_domain_error_is_translated(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/missing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Widget not found"}


async def test_unexpected_error_is_plain_500_without_internals(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/test/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "secret internals" not in response.text


async def test_validation_errors_do_not_echo_input(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/widgets", params={"per_page": "hunter2-secret"})

    assert response.status_code == 422
    body = response.json()
    schema = validator(ERROR_SCHEMA)
    assert schema.validate(body), schema.errors
    assert "hunter2-secret" not in response.text


@pytest.mark.parametrize("request_id", ["abc-123", "x" * 64])
async def test_valid_request_id_is_echoed(client: httpx.AsyncClient, request_id: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


async def test_hostile_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/health", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 80}
    )

    assert response.headers["x-request-id"] != "bad id"
    assert len(response.headers["x-request-id"]) == 32
