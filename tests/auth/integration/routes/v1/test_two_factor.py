"""Two-factor sign-in: enrolment, the login challenge, codes used once, recovery codes."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from freezegun import freeze_time
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.config import auth_config
from app.auth.models import RecoveryCode, User, UserStatus
from app.auth.services.passwords import password_attempts
from app.auth.services.two_factor import (
    SecretBox,
    TwoFactorService,
    hash_recovery_code,
    two_factor_attempts,
)
from app.core.configs import app_config
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.auth.schemas import TOKENS
from tests.schemas import validator
from tests.utils import LoggedIn, client_at, login_user

LOGIN = "/api/v1/auth/login"
LOGIN_2FA = "/api/v1/auth/login/2fa"
TWO_FACTOR = "/api/v1/profile/2fa"
PROFILE = "/api/v1/profile"
# The start of the current 30-second step: codes of the steps around it are easy to name.
T0 = datetime.fromtimestamp(int(time.time()) // 30 * 30, UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def code(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


async def enable(client: httpx.AsyncClient, session: LoggedIn) -> tuple[str, list[str]]:
    """Turn 2FA on at T0; the secret and the recovery codes."""
    with freeze_time(T0):
        secret = (await client.post(TWO_FACTOR, headers=session.headers)).json()["secret"]
        confirmed = await client.post(
            f"{TWO_FACTOR}/confirm", json={"code": code(secret, T0)}, headers=session.headers
        )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return secret, codes


async def challenge(client: httpx.AsyncClient, login: str) -> str:
    response = await client.post(LOGIN, data={"username": login, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["two_factor_required"] is True
    assert "access_token" not in body
    token: str = body["challenge"]
    return token


@pytest.fixture
async def signed_in(client: httpx.AsyncClient) -> tuple[User, LoggedIn]:
    user = await UserFactory.create()
    with freeze_time(T0 - timedelta(minutes=1)):
        session = await login_user(client, user.email)
    return user, session


async def test_enrolment_gives_a_secret_kept_encrypted(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    with freeze_time(T0):
        response = await client.post(TWO_FACTOR, headers=session.headers)

    assert response.status_code == 200
    body = response.json()
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == [app_config.PROJECT_NAME]
    await db.refresh(user)
    assert user.totp_secret is not None
    assert body["secret"] not in user.totp_secret
    assert SecretBox(app_config.SECRET_KEY).open(user.totp_secret) == body["secret"]
    assert user.totp_enabled_at is None  # not on before a code confirms it
    with freeze_time(T0):
        tokens = await client.post(
            LOGIN, data={"username": user.email, "password": DEFAULT_PASSWORD}
        )
    assert "access_token" in tokens.json()


async def test_a_code_confirms_it_and_recovery_codes_are_kept_hashed(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, LoggedIn]
) -> None:
    _, session = signed_in
    with freeze_time(T0):
        not_started = await client.post(
            f"{TWO_FACTOR}/confirm", json={"code": "123456"}, headers=session.headers
        )
        secret = (await client.post(TWO_FACTOR, headers=session.headers)).json()["secret"]
        wrong = await client.post(
            f"{TWO_FACTOR}/confirm",
            json={"code": code(secret, at(-90))},
            headers=session.headers,
        )

    _, codes = await enable(client, session)

    assert not_started.status_code == 409
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "The code is not valid"}
    assert len(codes) == auth_config.RECOVERY_CODE_COUNT == len(set(codes))
    stored = (await db.scalars(select(RecoveryCode.code_hash))).all()
    assert sorted(stored) == sorted(hash_recovery_code(c) for c in codes)
    profile = (await client.get(PROFILE, headers=session.headers)).json()
    assert profile["two_factor_enabled"] is True
    again = await client.post(TWO_FACTOR, headers=session.headers)
    assert again.status_code == 409


async def test_login_answers_a_challenge_that_a_code_completes(
    client: httpx.AsyncClient, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)

    with freeze_time(at(30)):
        token = await challenge(client, user.email)
        as_bearer = await client.get(PROFILE, headers={"Authorization": f"Bearer {token}"})
        completed = await client.post(
            LOGIN_2FA, json={"challenge": token, "code": code(secret, at(30))}
        )
        headers = {"Authorization": f"Bearer {completed.json()['access_token']}"}
        profile = await client.get(PROFILE, headers=headers)

    assert as_bearer.status_code == 401  # a challenge is not an access token
    assert completed.status_code == 200
    schema = validator(TOKENS)
    assert schema.validate(completed.json()), schema.errors
    assert profile.status_code == 200


async def test_a_code_works_once(
    client: httpx.AsyncClient, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)

    with freeze_time(at(40)):
        first = await client.post(
            LOGIN_2FA,
            json={"challenge": await challenge(client, user.email), "code": code(secret, at(40))},
        )
        replay = await client.post(
            LOGIN_2FA,
            json={"challenge": await challenge(client, user.email), "code": code(secret, at(40))},
        )
        confirm_code = await client.post(  # the code that turned 2FA on, still in its window
            LOGIN_2FA,
            json={"challenge": await challenge(client, user.email), "code": code(secret, T0)},
        )

    assert first.status_code == 200
    assert replay.status_code == confirm_code.status_code == 401
    assert replay.json() == {"detail": "The challenge or the code is invalid or has expired"}


async def test_a_step_spent_by_a_concurrent_sign_in_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)
    await db.refresh(user)
    step = int(at(60).timestamp()) // 30
    # Another sign-in spent this step after this one read the user: only the database knows.
    await db.execute(
        update(User)
        .where(User.id == user.id)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )

    with freeze_time(at(60)):
        accepted = await TwoFactorService(db).accept_code(
            user, code(secret, at(60)), None, "198.51.100.1"
        )

    assert accepted is False


async def test_codes_stop_working_when_the_secret_no_longer_opens(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, recovery_codes = await enable(client, session)
    # Sealed under another key (TOTP_SECRET_KEY changed): recovery codes are the way in.
    user.totp_secret = SecretBox("a key since replaced").seal(secret)
    await db.commit()

    with freeze_time(at(60)):
        by_code = await client.post(
            LOGIN_2FA,
            json={"challenge": await challenge(client, user.email), "code": code(secret, at(60))},
        )
        by_recovery_code = await client.post(
            LOGIN_2FA,
            json={
                "challenge": await challenge(client, user.email),
                "recovery_code": recovery_codes[0],
            },
        )

    assert by_code.status_code == 401
    assert by_recovery_code.status_code == 200


async def test_codes_one_step_around_now_are_accepted_not_two(
    client: httpx.AsyncClient, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)
    now = at(300)

    async def attempt(offset_steps: int) -> int:
        with freeze_time(now):
            token = await challenge(client, user.email)
            when = now + timedelta(seconds=30 * offset_steps)
            response = await client.post(
                LOGIN_2FA, json={"challenge": token, "code": code(secret, when)}
            )
        return response.status_code

    assert await attempt(-2) == 401
    assert await attempt(+2) == 401
    assert await attempt(-1) == 200
    assert await attempt(+1) == 200
    assert await attempt(0) == 401  # older than the last accepted step


async def test_a_recovery_code_works_once(
    client: httpx.AsyncClient, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    _, codes = await enable(client, session)

    first = await client.post(
        LOGIN_2FA,
        json={"challenge": await challenge(client, user.email), "recovery_code": codes[0].upper()},
    )
    again = await client.post(
        LOGIN_2FA,
        json={"challenge": await challenge(client, user.email), "recovery_code": codes[0]},
    )

    assert (first.status_code, again.status_code) == (200, 401)


async def test_an_expired_or_foreign_challenge_is_refused(
    client: httpx.AsyncClient, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)
    with freeze_time(at(30)):
        token = await challenge(client, user.email)
    late = at(30 + auth_config.TWO_FACTOR_CHALLENGE_SECONDS + 1)

    with freeze_time(late):
        expired = await client.post(
            LOGIN_2FA, json={"challenge": token, "code": code(secret, late)}
        )
        access = await client.post(
            LOGIN_2FA, json={"challenge": session.access_token, "code": code(secret, late)}
        )

    assert expired.status_code == access.status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"status": UserStatus.BLOCKED},
        {"deleted_at": T0},
        {"totp_enabled_at": None},
    ],
    ids=["blocked", "deleted", "two-factor-off"],
)
async def test_a_challenge_of_an_account_changed_meanwhile_is_refused(
    client: httpx.AsyncClient,
    db: AsyncSession,
    signed_in: tuple[User, LoggedIn],
    change: dict[str, object],
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)
    with freeze_time(at(30)):
        token = await challenge(client, user.email)
    await db.execute(update(User).where(User.id == user.id).values(change))
    await db.commit()

    with freeze_time(at(60)):
        answer = await client.post(
            LOGIN_2FA, json={"challenge": token, "code": code(secret, at(60))}
        )

    assert answer.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"challenge": "x", "code": "12345"},
        {"challenge": "x", "code": "abcdef"},
        {"challenge": "x"},
        {"challenge": "x", "code": "123456", "recovery_code": "abcde-fghij"},
        {"code": "123456"},
    ],
)
async def test_malformed_second_factor_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    assert (await client.post(LOGIN_2FA, json=body)).status_code == 422


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it once the test's setup is done: limits on, budgets fresh."""

    def turn_on() -> None:
        monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
        two_factor_attempts.reset()

    yield turn_on
    two_factor_attempts.reset()


async def test_code_checks_are_limited_per_account_whatever_the_client(
    app: FastAPI,
    client: httpx.AsyncClient,
    signed_in: tuple[User, LoggedIn],
    limited: Callable[[], None],
) -> None:
    user, session = signed_in
    await enable(client, session)
    token = await challenge(client, user.email)
    limit = auth_config.TWO_FACTOR_ATTEMPT_LIMIT
    limited()

    codes = []
    for number in range(limit + 1):
        async with client_at(app, f"198.51.100.{number + 100}") as http:
            response = await http.post(LOGIN_2FA, json={"challenge": token, "code": "000000"})
            codes.append(response.status_code)

    assert codes == [401] * limit + [429]


async def test_code_checks_are_limited_per_client_whatever_the_account(
    app: FastAPI, client: httpx.AsyncClient, limited: Callable[[], None]
) -> None:
    limit = auth_config.TWO_FACTOR_ATTEMPT_LIMIT
    tokens = []
    for _ in range(2):
        user = await UserFactory.create()
        with freeze_time(T0 - timedelta(minutes=1)):
            session = await login_user(client, user.email)
        await enable(client, session)
        tokens.append(await challenge(client, user.email))
    limited()

    async with client_at(app, "203.0.113.200") as http:
        codes = [
            (
                await http.post(LOGIN_2FA, json={"challenge": tokens[n % 2], "code": "000000"})
            ).status_code
            for n in range(limit + 1)
        ]

    assert codes == [401] * limit + [429]


async def test_confirming_and_signing_in_share_the_accounts_budget(
    app: FastAPI,
    client: httpx.AsyncClient,
    signed_in: tuple[User, LoggedIn],
    limited: Callable[[], None],
) -> None:
    user, session = signed_in
    limit = auth_config.TWO_FACTOR_ATTEMPT_LIMIT
    with freeze_time(T0):
        secret = (await client.post(TWO_FACTOR, headers=session.headers)).json()["secret"]
        limited()
        async with client_at(app, "198.51.100.1") as http:
            wrong = await http.post(
                f"{TWO_FACTOR}/confirm", json={"code": "000000"}, headers=session.headers
            )
        async with client_at(app, "198.51.100.2") as http:
            right = await http.post(
                f"{TWO_FACTOR}/confirm", json={"code": code(secret, T0)}, headers=session.headers
            )
    token = await challenge(client, user.email)

    codes = []
    for number in range(limit - 1):
        async with client_at(app, f"198.51.100.{number + 10}") as http:
            response = await http.post(LOGIN_2FA, json={"challenge": token, "code": "000000"})
            codes.append(response.status_code)

    assert (wrong.status_code, right.status_code) == (403, 200)
    assert codes == [401] * (limit - 2) + [429]


async def test_confirming_and_signing_in_share_the_clients_budget(
    app: FastAPI, client: httpx.AsyncClient, limited: Callable[[], None]
) -> None:
    limit = auth_config.TWO_FACTOR_ATTEMPT_LIMIT
    enrolled, enrolling = await UserFactory.create(), await UserFactory.create()
    with freeze_time(T0 - timedelta(minutes=1)):
        first = await login_user(client, enrolled.email)
        second = await login_user(client, enrolling.email)
    await enable(client, first)
    token = await challenge(client, enrolled.email)
    await client.post(TWO_FACTOR, headers=second.headers)
    limited()

    async with client_at(app, "203.0.113.50") as http:
        confirms = [
            (
                await http.post(
                    f"{TWO_FACTOR}/confirm", json={"code": "000000"}, headers=second.headers
                )
            ).status_code
            for _ in range(limit - 1)
        ]
        sign_ins = [
            (await http.post(LOGIN_2FA, json={"challenge": token, "code": "000000"})).status_code
            for _ in range(2)
        ]

    assert confirms == [403] * (limit - 1)
    assert sign_ins == [401, 429]


async def test_passwords_given_to_turn_it_off_count_against_the_accounts_budget(
    client: httpx.AsyncClient,
    signed_in: tuple[User, LoggedIn],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, session = signed_in
    await enable(client, session)
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    monkeypatch.setattr(password_attempts, "times", 3)
    password_attempts.reset()
    try:
        guesses = [
            (
                await client.request(
                    "DELETE", TWO_FACTOR, json={"current_password": guess}, headers=session.headers
                )
            ).status_code
            for guess in ("one", "two", "three")
        ]
        login = await client.post(
            LOGIN, data={"username": user.email, "password": DEFAULT_PASSWORD}
        )
    finally:
        password_attempts.reset()

    assert guesses == [403, 403, 403]
    assert login.status_code == 429


async def test_turning_it_off_needs_the_password_or_a_code(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, LoggedIn]
) -> None:
    user, session = signed_in
    secret, _ = await enable(client, session)

    wrong = await client.request(
        "DELETE", TWO_FACTOR, json={"current_password": "not-it"}, headers=session.headers
    )
    with freeze_time(at(60)):
        wrong_code = await client.request(
            "DELETE", TWO_FACTOR, json={"code": code(secret, at(-60))}, headers=session.headers
        )
        by_code = await client.request(
            "DELETE", TWO_FACTOR, json={"code": code(secret, at(60))}, headers=session.headers
        )

    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "Turning two-factor sign-in off needs the password"}
    assert wrong_code.status_code == 403
    assert by_code.status_code == 204
    assert (await db.scalars(select(RecoveryCode))).all() == []
    tokens = await client.post(LOGIN, data={"username": user.email, "password": DEFAULT_PASSWORD})
    assert "access_token" in tokens.json()
    secret, _ = await enable(client, session)
    by_password = await client.request(
        "DELETE", TWO_FACTOR, json={"current_password": DEFAULT_PASSWORD}, headers=session.headers
    )
    assert by_password.status_code == 204
    off = await client.request(
        "DELETE", TWO_FACTOR, json={"current_password": DEFAULT_PASSWORD}, headers=session.headers
    )
    assert off.status_code == 409
