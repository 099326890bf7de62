"""What a browser and a public host name meet: CORS, allowed hosts, the docs switch."""

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from app.core.configs import AppConfig, AppEnv, app_config
from app.main import create_app

ALLOWED = "http://app.example.com"


async def client_for(**settings: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_config.model_copy(update=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def cors() -> AsyncIterator[httpx.AsyncClient]:
    async for http in client_for(CORS_ORIGINS=[ALLOWED, "http://127.0.0.1:5173"]):
        yield http


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_preflights_are_answered_for_listed_origins_only(
    cors: httpx.AsyncClient,
) -> None:
    allowed = await cors.options("/api/v1/profile", headers=preflight(ALLOWED))
    other = await cors.options("/api/v1/profile", headers=preflight("http://evil.example"))

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_answers_name_a_listed_origin_and_expose_the_request_id(
    cors: httpx.AsyncClient,
) -> None:
    listed = await cors.get("/health", headers={"Origin": ALLOWED})
    unlisted = await cors.get("/health", headers={"Origin": "http://evil.example"})
    error = await cors.get("/api/v1/profile", headers={"Origin": ALLOWED})

    assert listed.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in listed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in unlisted.headers
    assert error.status_code == 401
    assert error.headers["access-control-allow-origin"] == ALLOWED  # errors readable too


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": ALLOWED})

    assert "access-control-allow-origin" not in response.headers


async def test_credentials_are_allowed_only_when_asked() -> None:
    async for http in client_for(CORS_ORIGINS=[ALLOWED], CORS_ALLOW_CREDENTIALS=True):
        response = await http.options("/api/v1/profile", headers=preflight(ALLOWED))
        assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"CORS_ORIGINS": "app.example.com"}, "is not an origin"),
        ({"CORS_ORIGINS": "https://app.example.com/path"}, "is not an origin"),
        ({"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"}, "needs the origins listed"),
    ],
)
def test_a_wrong_cors_setting_is_refused_at_start(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AppConfig(**settings)  # type: ignore[arg-type]


def test_origins_are_read_comma_separated() -> None:
    config = AppConfig(CORS_ORIGINS="https://a.example, http://127.0.0.1:5173/")

    assert config.CORS_ORIGINS == ["https://a.example", "http://127.0.0.1:5173"]


async def test_other_host_names_are_refused_when_hosts_are_listed() -> None:
    async for http in client_for(ALLOWED_HOSTS=["api.example.com", "*.internal.example"]):
        named = await http.get("/health", headers={"Host": "api.example.com"})
        sub = await http.get("/health", headers={"Host": "eu.internal.example"})
        loopback = await http.get("/health", headers={"Host": "127.0.0.1:8000"})
        other = await http.get("/health", headers={"Host": "evil.example"})

    assert (named.status_code, sub.status_code, loopback.status_code) == (200, 200, 200)
    assert other.status_code == 400


@pytest.mark.parametrize(("enabled", "served"), [(False, False), (True, True), (None, True)])
async def test_docs_follow_docs_enabled(enabled: bool | None, served: bool) -> None:
    async for http in client_for(DOCS_ENABLED=enabled):
        pages = [await http.get(path) for path in ("/docs", "/redoc", "/openapi.json")]

    assert [page.status_code for page in pages] == ([200] * 3 if served else [404] * 3)


@pytest.mark.parametrize(
    ("env", "enabled", "expected"),
    [
        (AppEnv.PRODUCTION, None, False),
        (AppEnv.PRODUCTION, True, True),
        (AppEnv.LOCAL, None, True),
        (AppEnv.LOCAL, False, False),
    ],
)
def test_docs_are_off_in_production_unless_asked_for(
    env: AppEnv, enabled: bool | None, expected: bool
) -> None:
    # Checked on the setting: an app built in production mode would reconfigure the logging.
    config = app_config.model_copy(update={"APP_ENV": env, "DOCS_ENABLED": enabled})

    assert config.docs_enabled is expected
