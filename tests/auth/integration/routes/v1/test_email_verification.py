"""Email verification: the link mailed at registration, resending it, pending address changes
and ``VerifiedUser``."""

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from freezegun import freeze_time
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.config import auth_config
from app.auth.events import UserCreated
from app.auth.listeners import send_verification_link
from app.auth.models import EmailVerificationToken, User, UserStatus
from app.auth.services.tokens import hash_token
from app.auth.tasks import SendEmailVerification
from app.core.configs import app_config
from app.core.db import utcnow
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.conftest import SentMail
from tests.mail import link_token, mail_to, parts
from tests.utils import client_at, login_user

REGISTER = "/api/v1/auth/register"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/resend-verification"
PROFILE = "/api/v1/profile"
VERIFIED_ONLY = "/test/verified-only"
PASSWORD = "Quiet-Harbour-Lantern-4817"


async def register(client: httpx.AsyncClient, name: str) -> int:
    response = await client.post(
        REGISTER, json={"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


async def link_in(sent_mail: SentMail, recipient: str, count: int = 1) -> str:
    mail = mail_to(await sent_mail.wait_for(count), recipient, "Confirm your email")
    text, html = parts(mail)
    token = link_token(text, "/verify-email")
    assert token in html
    return token


async def test_registration_mails_a_link_that_verifies_the_address_once(
    client: httpx.AsyncClient, db: AsyncSession, sent_mail: SentMail
) -> None:
    user_id = await register(client, "ann")
    token = await link_in(sent_mail, "ann@example.com", count=2)  # and the welcome mail
    stored = (await db.scalars(select(EmailVerificationToken))).one()
    assert stored.token_hash == hash_token(token)  # only the hash is kept

    verified = await client.post(VERIFY, json={"token": token})
    again = await client.post(VERIFY, json={"token": token})

    assert verified.status_code == 204
    assert again.status_code == 401
    assert again.json() == {"detail": "The verification link is invalid or has expired"}
    user = await db.get(User, user_id, populate_existing=True)
    assert user is not None
    assert user.email_verified_at is not None
    session = await login_user(client, "ann", PASSWORD)
    profile = (await client.get(PROFILE, headers=session.headers)).json()
    assert profile["email_verified_at"] is not None


async def test_the_mail_says_whether_it_confirms_the_address_or_a_change(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    await register(client, "bea")
    first = mail_to(await sent_mail.wait_for(2), "bea@example.com", "Confirm your email")
    session = await login_user(client, "bea", PASSWORD)
    await client.patch(
        PROFILE,
        json={"email": "bea.new@example.com", "current_password": PASSWORD},
        headers=session.headers,
    )
    change = mail_to(await sent_mail.wait_for(3), "bea.new@example.com", "Confirm your email")

    for mail, sentence, words in [
        (first, "Confirm that bea@example.com is the address of your", "is the address of"),
        (change, "You asked to use bea.new@example.com for your", "You asked to use"),
    ]:
        text, html = parts(mail)
        assert sentence in " ".join(text.split())
        assert words in html


async def test_the_link_has_one_slash_whatever_app_url_ends_with(
    client: httpx.AsyncClient,
    sent_mail: SentMail,
    link_base: str,
) -> None:
    await register(client, "cai")

    mail = mail_to(await sent_mail.wait_for(2), "cai@example.com", "Confirm your email")
    assert f"{link_base}verify-email?token=" in parts(mail)[0]


async def test_the_first_link_skips_accounts_verified_blocked_or_gone_meanwhile(
    sent_mail: SentMail,
) -> None:
    # The durable listener may run late (a retry): the account may have changed since.
    verified = await UserFactory.create(email_verified_at=utcnow())
    blocked = await UserFactory.create(status=UserStatus.BLOCKED)
    waiting = await UserFactory.create()

    for user_id in (verified.id, blocked.id, 2147483000, waiting.id):
        await send_verification_link(
            UserCreated(id=user_id, email="x@example.com", username="x", email_verified=False)
        )

    [mail] = await sent_mail.wait_for(1)
    assert mail["To"] == waiting.email
    assert mail["Subject"] == "Confirm your email address"


async def test_a_resend_skips_every_address_without_a_link_due(sent_mail: SentMail) -> None:
    verified = await UserFactory.create(email_verified_at=utcnow())
    blocked = await UserFactory.create(status=UserStatus.BLOCKED)
    await UserFactory.create(status=UserStatus.BLOCKED, pending_email="moving.blocked@example.com")
    waiting = await UserFactory.create()

    for email in (
        "nobody@example.com",
        verified.email,
        blocked.email,
        "moving.blocked@example.com",
        waiting.email,
    ):
        await SendEmailVerification().run(email=email)  # what the resend route queues

    [mail] = await sent_mail.wait_for(1)
    assert mail["To"] == waiting.email


async def test_a_link_expires(client: httpx.AsyncClient, sent_mail: SentMail) -> None:
    await register(client, "ann")
    token = await link_in(sent_mail, "ann@example.com", count=2)
    hours = auth_config.EMAIL_VERIFICATION_EXPIRE_HOURS

    with freeze_time(utcnow() + timedelta(hours=hours, seconds=1)):
        late = await client.post(VERIFY, json={"token": token})

    assert late.status_code == 401


async def test_a_link_of_an_account_deleted_or_blocked_meanwhile_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, sent_mail: SentMail
) -> None:
    gone_id, blocked_id = await register(client, "dee"), await register(client, "eve")
    gone_token = await link_in(sent_mail, "dee@example.com", count=4)
    blocked_token = await link_in(sent_mail, "eve@example.com", count=4)
    await db.execute(update(User).where(User.id == gone_id).values(deleted_at=utcnow()))
    await db.execute(update(User).where(User.id == blocked_id).values(status=UserStatus.BLOCKED))
    await db.commit()

    answers = [await client.post(VERIFY, json={"token": t}) for t in (gone_token, blocked_token)]

    assert [a.status_code for a in answers] == [401, 401]


@pytest.mark.parametrize("token", ["", "x" * 513])
async def test_a_malformed_token_is_422(client: httpx.AsyncClient, token: str) -> None:
    assert (await client.post(VERIFY, json={"token": token})).status_code == 422


async def test_resend_answers_alike_and_mails_only_an_unverified_address(
    client: httpx.AsyncClient, db: AsyncSession, sent_mail: SentMail
) -> None:
    unverified = await UserFactory.create(email="un@example.com")
    await UserFactory.create(email="done@example.com", email_verified_at=utcnow())

    answers = [
        await client.post(RESEND, json={"email": email})
        for email in ("un@example.com", "done@example.com", "nobody@example.com")
    ]

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.text for answer in answers}) == 1
    token = await link_in(sent_mail, "un@example.com")
    assert [mail["To"] for mail in await sent_mail.wait_for(1)] == ["un@example.com"]
    assert (await client.post(VERIFY, json={"token": token})).status_code == 204
    await db.refresh(unverified)
    assert unverified.email_verified_at is not None


async def test_a_new_link_replaces_the_old_one(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    await UserFactory.create(email="un@example.com")
    await client.post(RESEND, json={"email": "un@example.com"})
    first = await link_in(sent_mail, "un@example.com")
    await client.post(RESEND, json={"email": "un@example.com"})
    mails = await sent_mail.wait_for(2)
    second = link_token(parts(mails[1])[0], "/verify-email")

    assert (await client.post(VERIFY, json={"token": first})).status_code == 401
    assert (await client.post(VERIFY, json={"token": second})).status_code == 204


async def test_resend_is_rate_limited_per_client(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    limit = auth_config.RESEND_VERIFICATION_RATE_LIMIT
    async with client_at(app, "203.0.113.91") as http:
        codes = [
            (await http.post(RESEND, json={"email": f"n{n}@example.com"})).status_code
            for n in range(limit + 1)
        ]

    assert codes == [202] * limit + [429]


async def test_resend_reaches_a_pending_address(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create(email_verified_at=utcnow())
    session = await login_user(client, user.email)
    await client.patch(
        PROFILE,
        json={"email": "moving@example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )
    await link_in(sent_mail, "moving@example.com")

    await client.post(RESEND, json={"email": "moving@example.com"})
    mails = await sent_mail.wait_for(2)
    token = link_token(parts(mails[1])[0], "/verify-email")

    assert mails[1]["To"] == "moving@example.com"
    assert (await client.post(VERIFY, json={"token": token})).status_code == 204
    await login_user(client, "moving@example.com")


async def test_a_pending_address_taken_meanwhile_is_409_and_changes_nothing(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    await client.patch(
        PROFILE,
        json={"email": "wanted@example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )
    token = await link_in(sent_mail, "wanted@example.com")
    await UserFactory.create(email="wanted@example.com")

    taken = await client.post(VERIFY, json={"token": token})

    assert taken.status_code == 409
    profile = (await client.get(PROFILE, headers=session.headers)).json()
    assert (profile["email"], profile["pending_email"]) == (user.email, "wanted@example.com")


async def test_asking_for_the_current_address_cancels_a_pending_change(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    await client.patch(
        PROFILE,
        json={"email": "second@example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )
    token = await link_in(sent_mail, "second@example.com")

    cancelled = await client.patch(
        PROFILE,
        json={"email": user.email, "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert cancelled.json()["pending_email"] is None
    assert (await client.post(VERIFY, json={"token": token})).status_code == 401
    await login_user(client, user.email)


async def test_verified_user_routes_refuse_unverified_accounts_when_required(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, sent_mail: SentMail
) -> None:
    unverified = await UserFactory.create(email="un@example.com")
    verified = await UserFactory.create(email_verified_at=utcnow())
    unverified_session = await login_user(client, unverified.email)  # signing in still works
    verified_session = await login_user(client, verified.email)
    assert (await client.get(VERIFIED_ONLY, headers=unverified_session.headers)).status_code == 200

    monkeypatch.setattr(auth_config, "AUTH_REQUIRE_VERIFIED_EMAIL", True)
    refused = await client.get(VERIFIED_ONLY, headers=unverified_session.headers)
    allowed = await client.get(VERIFIED_ONLY, headers=verified_session.headers)
    profile = await client.get(PROFILE, headers=unverified_session.headers)

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Verify your email address first: follow the link mailed to it"
    }
    assert allowed.status_code == 200
    assert profile.status_code == 200  # the auth module's own routes stay open
    await client.post(RESEND, json={"email": "un@example.com"})
    token = await link_in(sent_mail, "un@example.com")
    assert (await client.post(VERIFY, json={"token": token})).status_code == 204
    assert (await client.get(VERIFIED_ONLY, headers=unverified_session.headers)).status_code == 200
