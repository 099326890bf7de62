"""Helpers for integration tests."""

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from tests.auth.factories.user import DEFAULT_PASSWORD


@dataclass(frozen=True)
class LoggedIn:
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def login_user(
    client: httpx.AsyncClient, login: str, password: str = DEFAULT_PASSWORD
) -> LoggedIn:
    """Sign in through the real login endpoint and return the tokens."""
    response = await client.post(
        "/api/v1/auth/login", data={"username": login, "password": password}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return LoggedIn(access_token=body["access_token"], refresh_token=body["refresh_token"])


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (the peer the app sees)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
