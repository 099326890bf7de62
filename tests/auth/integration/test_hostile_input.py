"""Text the database would refuse, dates it cannot hold and odd token subjects: a clear 4xx,
never a 500, on PostgreSQL and SQLite alike; and errors never echo the rejected value."""

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from app.auth.config import auth_config
from app.core.configs import app_config
from app.core.types import ISO_DATETIME_PATTERN
from tests.auth.factories.user import UserFactory
from tests.auth.integration.routes.v1.test_access_tokens import claims_for, token
from tests.utils import client_at, login_user

REGISTER = "/api/v1/auth/register"
USERS = "/api/v1/users"
BAD_TEXT = ["nul\x00byte", "lone\ud800surrogate"]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["email", "username", "password"])
async def test_json_fields_refuse_text_the_database_cannot_store(
    client: httpx.AsyncClient, field: str, bad: str
) -> None:
    body = {"email": "ann@example.com", "username": "ann", "password": "Long-enough-9"}
    body[field] = bad
    content = json.dumps(body)  # escaped as \u0000 and \ud800, as a client would send them

    response = await client.post(
        REGISTER, content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert "\\u0000" not in response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/refresh-token", {"refresh_token": "abc\x00def"}),
        ("/api/v1/auth/logout", {"refresh_token": "abc\x00def"}),
        ("/api/v1/auth/reset-password", {"token": "abc\x00def", "password": "Long-enough-9"}),
        ("/api/v1/auth/restore-password", {"email": "ann\x00@example.com"}),
    ],
)
async def test_tokens_and_emails_refuse_nul(
    client: httpx.AsyncClient, path: str, body: dict[str, str]
) -> None:
    response = await client.post(path, json=body)

    assert response.status_code == 422


@pytest.mark.parametrize("field", ["username", "password"])
async def test_login_form_refuses_nul(client: httpx.AsyncClient, field: str) -> None:
    form = {"username": "ann", "password": "Long-enough-9"}
    form[field] = "x\x00y"

    response = await client.post("/api/v1/auth/login", data=form)

    assert response.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"filters": "username:ann\x00"},
        {"filters": "username:[ann,b\x00b]"},
        {"sort": "username\x00:asc"},
    ],
)
async def test_list_parameters_refuse_nul(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    user = await UserFactory.create()
    logged_in = await login_user(client, user.email)

    response = await client.get(USERS, params=params, headers=logged_in.headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00+05:00", "9999-12-31T23:00-05:00", "[0001-01-01T00:30+01:00,2020-01-01]"],
)
async def test_dates_that_do_not_exist_in_utc_match_nothing(
    client: httpx.AsyncClient, moment: str
) -> None:
    user = await UserFactory.create()
    logged_in = await login_user(client, user.email)

    response = await client.get(
        USERS, params={"filters": f"created_at:{moment}"}, headers=logged_in.headers
    )
    after = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert after.status_code == 200  # the connection survived


@pytest.mark.parametrize("date", ["0470-11-31", "2023-02-29", "1900-02-29", "0000-01-01"])
async def test_published_date_pattern_admits_only_dates_the_api_accepts(
    client: httpx.AsyncClient, date: str
) -> None:
    user = await UserFactory.create()
    logged_in = await login_user(client, user.email)

    response = await client.get(
        USERS, params={"filters": f"created_at:{date}"}, headers=logged_in.headers
    )

    assert re.fullmatch(ISO_DATETIME_PATTERN, date) is None
    assert response.status_code == 422


async def test_leap_days_pass_the_pattern_and_the_api(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    logged_in = await login_user(client, user.email)

    response = await client.get(
        USERS, params={"filters": "created_at:2000-02-29"}, headers=logged_in.headers
    )

    assert re.fullmatch(ISO_DATETIME_PATTERN, "2000-02-29")
    assert response.status_code == 200


async def test_rejected_filter_values_are_not_echoed(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    logged_in = await login_user(client, user.email)

    for params in ({"filters": "status:hunter2"}, {"filters": "hunter2:x"}, {"sort": "hunter2"}):
        response = await client.get(USERS, params=params, headers=logged_in.headers)
        assert response.status_code == 422
        assert "hunter2" not in response.text


@pytest.mark.parametrize("subject", ["\u00b2", "\u0661\u0662", "1\x00", " 1", "99999999999", "-1"])
async def test_signed_tokens_with_odd_subjects_are_401(
    client: httpx.AsyncClient, subject: str
) -> None:
    forged = token(claims_for(1, sub=subject))

    response = await client.get("/api/v1/profile", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401


async def test_logout_is_rate_limited(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    async with client_at(app, "203.0.113.77") as http:
        codes = [
            (await http.post("/api/v1/auth/logout", json={"refresh_token": "x"})).status_code
            for _ in range(auth_config.REFRESH_RATE_LIMIT + 1)
        ]

    assert codes == [204] * auth_config.REFRESH_RATE_LIMIT + [429]
