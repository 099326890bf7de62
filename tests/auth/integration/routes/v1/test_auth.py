from datetime import timedelta

import httpx
import jwt
import pytest
from freezegun import freeze_time
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import PasswordResetToken, RefreshToken, User, UserStatus
from app.core.configs import app_config
from app.core.db import utcnow
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.auth.schemas import TOKENS, USER_WITH_EMAIL
from tests.conftest import SentMail
from tests.mail import link_token, parts
from tests.schemas import ERROR_SCHEMA, validator
from tests.utils import login_user

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh-token"
LOGOUT = "/api/v1/auth/logout"
RESTORE = "/api/v1/auth/restore-password"
RESET = "/api/v1/auth/reset-password"
PROFILE = "/api/v1/profile"


def new_user(**overrides: str) -> dict[str, str]:
    return {
        "email": "Ann@Example.com",
        "username": "ann",
        "password": "s3cret-passw0rd",
    } | overrides


# --- register ----------------------------------------------------------------------------------


async def test_register_creates_a_user_and_sends_a_welcome_mail(
    client: httpx.AsyncClient, db: AsyncSession, sent_mail: SentMail
) -> None:
    response = await client.post(REGISTER, json=new_user())

    assert response.status_code == 201
    body = response.json()
    schema = validator(USER_WITH_EMAIL)
    assert schema.validate(body), schema.errors
    assert body["email"] == "ann@example.com"
    assert (body["status"], body["is_admin"]) == ("active", False)
    user = await db.get(User, body["id"])
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    mails = await sent_mail.wait_for(2)
    [mail] = [mail for mail in mails if "Welcome" in mail["Subject"]]
    assert mail["To"] == "ann@example.com"
    text, html = parts(mail)
    assert "Welcome, ann!" in text
    assert "<h1>Welcome, ann!</h1>" in html
    assert body["email_verified_at"] is None


@pytest.mark.parametrize(
    "taken", [{"email": "ANN@example.com"}, {"username": "ann"}], ids=["email", "username"]
)
async def test_register_with_a_taken_email_or_username_is_409(
    client: httpx.AsyncClient, taken: dict[str, str]
) -> None:
    await client.post(REGISTER, json=new_user())

    response = await client.post(
        REGISTER, json=new_user(email="other@example.com", username="other") | taken
    )

    assert response.status_code == 409
    assert "already" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        new_user(password="short"),
        new_user(password="x" * 129),
        new_user(email="not-an-email"),
        new_user(username="no spaces allowed"),
        new_user(username="ab"),
        new_user(username="a\x00b"),
        {"email": "ann@example.com", "username": "ann"},
        new_user() | {"is_admin": True},
        new_user() | {"status": "active"},
        new_user() | {"id": 1},
        {"email": ["list"], "username": 5, "password": None},
    ],
)
async def test_register_rejects_bad_input_without_creating_anything(
    client: httpx.AsyncClient, db: AsyncSession, body: dict[str, object]
) -> None:
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 422
    schema = validator(ERROR_SCHEMA)
    assert schema.validate(response.json()), schema.errors
    assert "s3cret-passw0rd" not in response.text
    assert (await db.execute(select(User))).first() is None


@pytest.mark.parametrize(
    ("content", "content_type"),
    [("{not json", "application/json"), ("", "application/json"), ("email=x", "text/plain")],
)
async def test_register_with_a_malformed_body_is_a_4xx_json_error(
    client: httpx.AsyncClient, content: str, content_type: str
) -> None:
    response = await client.post(REGISTER, content=content, headers={"Content-Type": content_type})

    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


async def test_a_deleted_users_email_and_username_can_register_again(
    client: httpx.AsyncClient,
) -> None:
    await client.post(REGISTER, json=new_user())
    session = await login_user(client, "ann", "s3cret-passw0rd")
    assert (await client.delete(PROFILE, headers=session.headers)).status_code == 204

    response = await client.post(REGISTER, json=new_user())

    assert response.status_code == 201


# --- login -------------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["email", "username"])
async def test_login_with_email_or_username_returns_tokens(
    client: httpx.AsyncClient, login: str
) -> None:
    user = await UserFactory.create()

    response = await client.post(
        LOGIN, data={"username": getattr(user, login), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    schema = validator(TOKENS)
    assert schema.validate(body), schema.errors
    assert body["expires_in"] == app_config.ACCESS_TOKEN_EXPIRE_MINUTES * 60
    claims = jwt.decode(body["access_token"], app_config.SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"


async def test_every_login_failure_gets_the_same_answer(client: httpx.AsyncClient) -> None:
    await UserFactory.create(username="known", email="known@example.com")
    await UserFactory.create(username="blocked", status=UserStatus.BLOCKED)

    answers = [
        await client.post(LOGIN, data={"username": login, "password": password})
        for login, password in [
            ("known", "wrong-password"),
            ("nobody", DEFAULT_PASSWORD),
            ("blocked", DEFAULT_PASSWORD),
            ("known", "x" * 5000),
        ]
    ]

    assert {response.status_code for response in answers} == {401}
    assert {response.text for response in answers} == {'{"detail":"Incorrect login or password"}'}
    assert all(response.headers["www-authenticate"] == "Bearer" for response in answers)


async def test_login_of_an_unknown_user_still_verifies_a_hash(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.auth.services.passwords import password_hasher

    calls: list[str] = []
    real_verify = password_hasher._verify

    def counting_verify(password: str, password_hash: str) -> tuple[bool, str | None]:
        calls.append(password_hash)
        return real_verify(password, password_hash)

    monkeypatch.setattr(password_hasher, "_verify", counting_verify)

    await client.post(LOGIN, data={"username": "ghost", "password": "whatever-it-is"})

    assert len(calls) == 1


async def test_login_upgrades_a_legacy_bcrypt_hash_to_argon2(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    legacy = BcryptHasher(rounds=4).hash("legacy-password")
    user = await UserFactory.create(password_hash=legacy)

    await login_user(client, user.username, "legacy-password")

    await db.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    await login_user(client, user.username, "legacy-password")


async def test_login_with_missing_form_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, data={"username": "x"})

    assert response.status_code == 422


# --- refresh and logout ------------------------------------------------------------------------


async def test_refresh_rotates_the_pair_and_the_old_token_stops_working(
    client: httpx.AsyncClient,
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    rotated = await client.post(REFRESH, json={"refresh_token": session.refresh_token})

    assert rotated.status_code == 200
    schema = validator(TOKENS)
    assert schema.validate(rotated.json()), schema.errors
    assert rotated.json()["refresh_token"] != session.refresh_token
    again = await client.post(REFRESH, json={"refresh_token": session.refresh_token})
    assert again.status_code == 401


async def test_refresh_token_reuse_revokes_the_whole_family(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    rotated = (await client.post(REFRESH, json={"refresh_token": session.refresh_token})).json()

    replay = await client.post(REFRESH, json={"refresh_token": session.refresh_token})
    after_replay = await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})

    assert replay.status_code == 401
    assert after_replay.status_code == 401


async def test_sessions_are_independent(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    laptop = await login_user(client, user.email)
    phone = await login_user(client, user.email)

    await client.post(LOGOUT, json={"refresh_token": laptop.refresh_token})

    assert (
        await client.post(REFRESH, json={"refresh_token": laptop.refresh_token})
    ).status_code == 401
    assert (
        await client.post(REFRESH, json={"refresh_token": phone.refresh_token})
    ).status_code == 200


async def test_logout_is_204_and_ignores_unknown_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGOUT, json={"refresh_token": "never-issued"})

    assert response.status_code == 204
    assert response.content == b""


async def test_expired_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    later = utcnow() + timedelta(days=app_config.REFRESH_TOKEN_EXPIRE_DAYS, seconds=1)
    with freeze_time(later, real_asyncio=True):
        response = await client.post(REFRESH, json={"refresh_token": session.refresh_token})

    assert response.status_code == 401


async def test_a_refresh_token_at_its_expiry_instant_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    stored = (await db.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id))).one()

    with freeze_time(stored.expires_at - timedelta(microseconds=1), real_asyncio=True):
        before = await client.post(REFRESH, json={"refresh_token": session.refresh_token})
    renewed = (
        await db.scalars(select(RefreshToken).where(RefreshToken.revoked_at.is_(None)))
    ).one()
    with freeze_time(renewed.expires_at, real_asyncio=True):
        at_expiry = await client.post(
            REFRESH, json={"refresh_token": before.json()["refresh_token"]}
        )

    assert before.status_code == 200
    assert at_expiry.status_code == 401


async def test_refresh_for_a_blocked_user_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    user.status = UserStatus.BLOCKED
    await db.flush()

    response = await client.post(REFRESH, json={"refresh_token": session.refresh_token})

    assert response.status_code == 401


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    stored = (await db.execute(select(RefreshToken.token_hash))).scalars().all()

    assert session.refresh_token not in stored
    assert all(len(value) == 64 for value in stored)


# --- password recovery -------------------------------------------------------------------------


async def request_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(RESTORE, json={"email": email})


def token_from(mail_text: str) -> str:
    return link_token(mail_text, "/reset-password")


async def test_restore_password_answers_the_same_whether_or_not_the_email_exists(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()

    known = await request_reset(client, user.email)
    unknown = await request_reset(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    mails = await sent_mail.wait_for(1)
    assert [mail["To"] for mail in mails] == [user.email]


async def test_the_reset_mail_links_to_app_url_with_one_slash(
    client: httpx.AsyncClient,
    sent_mail: SentMail,
    link_base: str,
) -> None:
    user = await UserFactory.create()

    await request_reset(client, user.email)

    [mail] = await sent_mail.wait_for(1)
    assert mail["Subject"] == "Reset your password"
    assert f"{link_base}reset-password?token=" in parts(mail)[0]


async def test_reset_password_with_the_mailed_token(
    client: httpx.AsyncClient, sent_mail: SentMail, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    old_session = await login_user(client, user.email)
    await request_reset(client, user.email)
    [mail] = await sent_mail.wait_for(1)
    token = token_from(parts(mail)[0])

    response = await client.post(RESET, json={"token": token, "password": "brand-new-pass"})

    assert response.status_code == 204
    await login_user(client, user.email, "brand-new-pass")
    refused = await client.post(LOGIN, data={"username": user.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 401
    stale = await client.post(REFRESH, json={"refresh_token": old_session.refresh_token})
    assert stale.status_code == 401
    # The old access token is refused at once, not when it expires.
    assert (await client.get("/api/v1/profile", headers=old_session.headers)).status_code == 401
    assert token not in (await db.execute(select(PasswordResetToken.token_hash))).scalars().all()


async def test_reset_token_works_only_once(client: httpx.AsyncClient, sent_mail: SentMail) -> None:
    user = await UserFactory.create()
    await request_reset(client, user.email)
    token = token_from(parts((await sent_mail.wait_for(1))[0])[0])

    first = await client.post(RESET, json={"token": token, "password": "first-new-pass"})
    second = await client.post(RESET, json={"token": token, "password": "second-new-pass"})

    assert first.status_code == 204
    assert second.status_code == 401
    assert second.json() == {"detail": "The reset token is invalid or has expired"}


async def test_reset_token_expires(client: httpx.AsyncClient, sent_mail: SentMail) -> None:
    user = await UserFactory.create()
    await request_reset(client, user.email)
    token = token_from(parts((await sent_mail.wait_for(1))[0])[0])

    later = utcnow() + timedelta(minutes=app_config.RESET_TOKEN_EXPIRE_MINUTES, seconds=1)
    with freeze_time(later, real_asyncio=True):
        response = await client.post(RESET, json={"token": token, "password": "too-late-pass"})

    assert response.status_code == 401


async def test_a_new_reset_request_invalidates_the_previous_link(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    await request_reset(client, user.email)
    first = token_from(parts((await sent_mail.wait_for(1))[0])[0])
    await request_reset(client, user.email)
    second = token_from(parts((await sent_mail.wait_for(2))[1])[0])

    old = await client.post(RESET, json={"token": first, "password": "new-password-1"})
    new = await client.post(RESET, json={"token": second, "password": "new-password-2"})

    assert (old.status_code, new.status_code) == (401, 204)


@pytest.mark.parametrize("token", ["forged", "x" * 512, ""])
async def test_reset_with_an_unknown_or_malformed_token(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post(RESET, json={"token": token, "password": "whatever-new"})

    assert response.status_code in {401, 422}
    assert "whatever-new" not in response.text


async def test_no_reset_mail_for_a_blocked_user(
    client: httpx.AsyncClient, sent_mail: SentMail, db: AsyncSession
) -> None:
    user = await UserFactory.create(status=UserStatus.BLOCKED)

    response = await request_reset(client, user.email)

    assert response.status_code == 202
    assert (await db.execute(select(PasswordResetToken))).first() is None
