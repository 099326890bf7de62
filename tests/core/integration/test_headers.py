"""Response headers: nosniff everywhere, no-store on credentials, no server banner, and no
redirect built from the Host header."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scripts.local_services import free_port
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[3]


async def test_every_response_says_nosniff(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/api/v1/users"),  # 401
        await client.get("/nowhere"),  # 404
    ):
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_token_responses_are_never_cached(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()

    login = await client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": DEFAULT_PASSWORD}
    )
    refreshed = await client.post(
        "/api/v1/auth/refresh-token", json={"refresh_token": login.json()["refresh_token"]}
    )

    for response in (login, refreshed):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


async def test_a_trailing_slash_never_redirects_to_the_host_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/", headers={"Host": "evil.example"})

    assert response.status_code == 404
    assert "location" not in response.headers


@pytest.mark.slow
def test_the_server_sends_no_banner(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'banner.db'}",
        "REDIS_URL": "",
        "SMTP_HOST": "",
    }
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert response.status_code == 200
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
