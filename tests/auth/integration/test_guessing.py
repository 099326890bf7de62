"""Enumeration and guessing: restore-password does the same work for every address, and
password checks are limited per account, whoever makes them."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from app.auth.services.passwords import password_attempts
from app.core.configs import app_config
from app.core.exceptions import TooManyAttempts
from app.core.services.ratelimit import AttemptLimiter
from app.core.services.redis import redis_connection
from tests.auth.factories.user import UserFactory
from tests.conftest import SentMail
from tests.queue import drain_queue
from tests.sql import sent_statements
from tests.utils import client_at, login_user

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def few_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    monkeypatch.setattr(password_attempts, "times", 3)
    password_attempts.reset()
    yield
    password_attempts.reset()


@pytest.mark.skipif(not redis_connection.enabled, reason="tasks run inline without a queue")
async def test_restore_password_does_no_lookup_on_the_request_path(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    with sent_statements() as statements:
        known = await client.post("/api/v1/auth/restore-password", json={"email": user.email})
        unknown = await client.post(
            "/api/v1/auth/restore-password", json={"email": "nobody@example.com"}
        )

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert statements == []  # both answers only queued a task
    await drain_queue()  # both lookups ran, in the queue
    [mail] = await sent_mail.wait_for(1)
    assert mail["To"] == user.email


async def test_password_checks_are_limited_per_account_whatever_the_client(
    app: FastAPI, few_attempts: None
) -> None:
    victim = await UserFactory.create()
    bystander = await UserFactory.create()

    codes = []
    for number in range(4):
        async with client_at(app, f"198.51.100.{number + 20}") as http:
            response = await http.post(LOGIN, data={"username": victim.email, "password": "nope"})
            codes.append(response.status_code)
            last = response

    assert codes == [401, 401, 401, 429]
    assert int(last.headers["retry-after"]) >= 1
    async with client_at(app, "198.51.100.30") as http:
        await login_user(http, bystander.email)  # other accounts are unaffected


async def test_unknown_logins_are_limited_like_known_ones(app: FastAPI, few_attempts: None) -> None:
    async with client_at(app, "198.51.100.40") as http:
        codes = [
            (await http.post(LOGIN, data={"username": "ghost", "password": "x"})).status_code
            for _ in range(4)
        ]

    assert codes == [401, 401, 401, 429]


async def test_current_password_guesses_through_the_profile_are_limited(
    app: FastAPI, client: httpx.AsyncClient, few_attempts: None
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)  # one check spent here

    codes = [
        (
            await client.patch(
                "/api/v1/profile",
                json={"password": "another-password", "current_password": f"guess-{number}"},
                headers=session.headers,
            )
        ).status_code
        for number in range(3)
    ]

    assert codes == [403, 403, 429]


async def test_one_account_has_one_password_check_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    limiter = AttemptLimiter("test", times=100, seconds=60)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow_check() -> None:
        async with limiter.attempt("user:1"):
            entered.set()
            await release.wait()

    first = asyncio.create_task(slow_check())
    await entered.wait()
    try:
        with pytest.raises(TooManyAttempts):
            async with limiter.attempt("user:1"):
                pass
        async with limiter.attempt("user:2"):  # another account is not held up
            pass
    finally:
        release.set()
        await first
    async with limiter.attempt("user:1"):  # free again once the first check ended
        pass


def test_an_attempt_limit_needs_a_budget() -> None:
    with pytest.raises(ValueError, match="times"):
        AttemptLimiter("test", times=0, seconds=60)
