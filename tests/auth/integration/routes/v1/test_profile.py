import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RefreshToken, User
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.auth.schemas import USER_WITH_EMAIL
from tests.conftest import SentMail
from tests.mail import link_token, mail_to, parts
from tests.schemas import validator
from tests.utils import login_user

PROFILE = "/api/v1/profile"
REFRESH = "/api/v1/auth/refresh-token"
VERIFY = "/api/v1/auth/verify-email"


async def test_get_profile_shows_own_email(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.username)

    response = await client.get(PROFILE, headers=session.headers)

    assert response.status_code == 200
    schema = validator(USER_WITH_EMAIL)
    assert schema.validate(response.json()), schema.errors
    assert response.json()["email"] == user.email


async def test_change_username_needs_no_password(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(PROFILE, json={"username": "renamed"}, headers=session.headers)

    assert response.status_code == 200
    assert response.json()["username"] == "renamed"


@pytest.mark.parametrize("field", ["email", "password"])
async def test_email_or_password_change_needs_the_current_password(
    client: httpx.AsyncClient, field: str
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    value = "new@example.com" if field == "email" else "new-password-1"

    missing = await client.patch(PROFILE, json={field: value}, headers=session.headers)
    wrong = await client.patch(
        PROFILE, json={field: value, "current_password": "not-it"}, headers=session.headers
    )

    assert missing.status_code == wrong.status_code == 403
    assert wrong.json() == {
        "detail": "Changing the email or password needs the correct current_password"
    }
    assert "not-it" not in wrong.text


async def test_a_new_email_waits_for_its_verification(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(
        PROFILE,
        json={"email": "New@Example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert response.status_code == 200
    assert (response.json()["email"], response.json()["pending_email"]) == (
        user.email,
        "new@example.com",
    )
    mail = mail_to(await sent_mail.wait_for(1), "new@example.com", "Confirm")
    await login_user(client, user.email)  # unchanged until verified
    verified = await client.post(
        VERIFY, json={"token": link_token(parts(mail)[0], "/verify-email")}
    )
    assert verified.status_code == 204
    await login_user(client, "new@example.com")
    profile = (await client.get(PROFILE, headers=session.headers)).json()
    assert (profile["email"], profile["pending_email"]) == ("new@example.com", None)
    assert profile["email_verified_at"] is not None


async def test_password_change_keeps_only_the_current_session(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    current = await login_user(client, user.email)
    other = await login_user(client, user.email)

    response = await client.patch(
        PROFILE,
        json={"password": "changed-password", "current_password": DEFAULT_PASSWORD},
        headers=current.headers,
    )

    assert response.status_code == 200
    assert (
        await client.post(REFRESH, json={"refresh_token": other.refresh_token})
    ).status_code == 401
    assert (await client.get(PROFILE, headers=other.headers)).status_code == 401
    assert (await client.get(PROFILE, headers=current.headers)).status_code == 200
    assert (
        await client.post(REFRESH, json={"refresh_token": current.refresh_token})
    ).status_code == 200
    await login_user(client, user.email, "changed-password")


@pytest.mark.parametrize("field", ["email", "username"])
async def test_taken_email_or_username_is_409(client: httpx.AsyncClient, field: str) -> None:
    other = await UserFactory.create()
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(
        PROFILE,
        json={field: getattr(other, field), "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"is_admin": True},
        {"status": "active"},
        {"id": 1},
        {"password_hash": "x"},
        {"username": "bad name"},
        {"password": "short", "current_password": DEFAULT_PASSWORD},
    ],
)
async def test_mass_assignment_and_bad_values_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, body: dict[str, object]
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(PROFILE, json=body, headers=session.headers)

    assert response.status_code == 422
    await db.refresh(user)
    assert (user.is_admin, user.status.value) == (False, "active")


async def test_delete_profile_soft_deletes_and_ends_every_session(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    first = await login_user(client, user.email)
    second = await login_user(client, user.email)

    response = await client.delete(PROFILE, headers=first.headers)

    assert response.status_code == 204
    assert (await client.get(PROFILE, headers=first.headers)).status_code == 401
    assert (
        await client.post(REFRESH, json={"refresh_token": second.refresh_token})
    ).status_code == 401
    row = (await db.execute(select(User).where(User.id == user.id))).scalar_one()
    await db.refresh(row)
    assert row.deleted_at is not None
    login = await client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 401


async def test_deleting_a_profile_purges_its_tokens_in_the_background(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from tests.queue import drain_queue

    user = await UserFactory.create()
    session = await login_user(client, user.email)

    await client.delete(PROFILE, headers=session.headers)
    await drain_queue()

    remaining = (
        await db.execute(select(RefreshToken).where(RefreshToken.user_id == user.id))
    ).all()
    assert remaining == []


async def test_other_profile_edits_keep_a_pending_email_change(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    await client.patch(
        PROFILE,
        json={"email": "later@example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    renamed = await client.patch(PROFILE, json={"username": "renamed"}, headers=session.headers)

    assert renamed.status_code == 200
    assert (renamed.json()["username"], renamed.json()["pending_email"]) == (
        "renamed",
        "later@example.com",
    )
    text, _ = parts(mail_to(await sent_mail.wait_for(1), "later@example.com", "Confirm"))
    verified = await client.post(
        "/api/v1/auth/verify-email", json={"token": link_token(text, "/verify-email")}
    )
    assert verified.status_code == 204
