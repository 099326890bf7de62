"""Request bodies beyond the limit are refused with 413 while they stream in."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.configs import app_config

LIMIT = app_config.MAX_REQUEST_BODY_BYTES


def body_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    overhead = len(json.dumps({"a": ""}))
    return json.dumps({"a": "x" * (size - overhead)}).encode()


async def test_a_body_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/test/body", content=body_of(LIMIT), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 200


async def test_a_declared_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/test/body", content=body_of(LIMIT + 1), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body is larger than {LIMIT} bytes"}


async def test_a_chunked_body_stops_being_read_past_the_limit(client: httpx.AsyncClient) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"a": "'
        while sent < 200 * 1024 * 1024:
            sent += 64 * 1024
            yield b"x" * 64 * 1024

    response = await client.post(
        "/test/body", content=endless(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert "content-length" not in {name.lower() for name in response.request.headers}
    assert sent <= LIMIT + 128 * 1024  # read stopped at the limit, not at 200 MB


async def test_forms_are_limited_too(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", data={"username": "x" * (LIMIT + 1), "password": "p"}
    )

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "size", "status"),
    [
        ("/test/small-body", 16, 200),
        ("/test/small-body", 17, 413),
        ("/test/large-body", 2 * 1024 * 1024, 200),
        ("/test/large-body", 4 * 1024 * 1024 + 1, 413),
    ],
)
async def test_a_route_can_have_its_own_limit(
    client: httpx.AsyncClient, path: str, size: int, status: int
) -> None:
    response = await client.post(
        path, content=body_of(size), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status


def test_a_negative_route_limit_is_refused() -> None:
    from app.core.api import max_body_bytes

    with pytest.raises(ValueError, match="negative"):
        max_body_bytes(-1)
