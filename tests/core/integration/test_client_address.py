"""Who the client is: the socket peer, or behind a trusted proxy the address it forwarded."""

from ipaddress import ip_network

import pytest
from fastapi import FastAPI

from app.core.configs import app_config
from tests.utils import client_at


@pytest.fixture
def behind_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        app_config, "TRUSTED_PROXIES", [ip_network("10.0.0.0/8"), ip_network("192.0.2.7/32")]
    )


async def seen(app: FastAPI, peer: str, **headers: str) -> dict[str, str]:
    async with client_at(app, peer) as http:
        answer: dict[str, str] = (await http.get("/test/client", headers=headers)).json()
        return answer


async def test_without_trusted_proxies_the_header_is_ignored(app: FastAPI) -> None:
    assert await seen(app, "198.51.100.1", **{"X-Forwarded-For": "203.0.113.1"}) == {
        "client": "198.51.100.1",
        "scheme": "http",
    }


@pytest.mark.usefixtures("behind_proxies")
@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.1.2.3", "203.0.113.9", "203.0.113.9"),  # a trusted proxy names the client
        ("198.51.100.5", "203.0.113.9", "198.51.100.5"),  # an untrusted peer is not believed
        ("10.1.2.3", "198.51.100.66, 203.0.113.10, 192.0.2.7", "203.0.113.10"),  # nearest untrusted
        ("10.1.2.3", "203.0.113.11, not-an-address", "10.1.2.3"),  # a non-IP hop: the peer
        ("10.1.2.3", "10.9.9.9", "10.9.9.9"),  # every hop trusted: the first one
    ],
)
async def test_a_trusted_proxy_forwards_the_client(
    app: FastAPI, peer: str, forwarded: str, client: str
) -> None:
    assert (await seen(app, peer, **{"X-Forwarded-For": forwarded}))["client"] == client


@pytest.mark.usefixtures("behind_proxies")
async def test_a_trusted_proxy_forwards_the_scheme(app: FastAPI) -> None:
    trusted = await seen(app, "10.1.2.3", **{"X-Forwarded-Proto": "https"})
    untrusted = await seen(app, "198.51.100.5", **{"X-Forwarded-Proto": "https"})

    assert (trusted["scheme"], untrusted["scheme"]) == ("https", "http")
