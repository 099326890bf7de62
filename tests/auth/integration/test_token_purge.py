"""The scheduled purge of stale tokens deletes exactly what it should, in batches."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.config import auth_config
from app.auth.models import EmailVerificationToken, PasswordResetToken, RefreshToken, UserSession
from app.auth.tasks import PurgeStaleTokens
from app.core.db import utcnow
from app.core.services.scheduler import schedule
from tests.auth.factories.user import PasswordResetTokenFactory, RefreshTokenFactory, UserFactory


async def test_stale_tokens_go_and_the_rest_stay(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_config, "TOKEN_RETENTION_DAYS", 7)
    monkeypatch.setattr(auth_config, "TOKEN_PURGE_BATCH", 2)  # several batches
    now = utcnow()
    long_ago, lately, ahead = (
        now - timedelta(days=8),
        now - timedelta(days=1),
        now + timedelta(days=9),
    )
    user = await UserFactory.create()

    def refresh(family: str, **fields: object) -> Any:
        return RefreshTokenFactory.create(user=user, family_id=family * 32, **fields)

    expired_long_ago = await refresh("a", expires_at=long_ago)
    expired_lately = await refresh("b", expires_at=lately)
    rotated_in_live_session = await refresh("c", expires_at=ahead, revoked_at=long_ago)
    live = await refresh("c", expires_at=ahead)
    ended_session_long_ago = await refresh("d", expires_at=ahead, revoked_at=long_ago)
    ended_session_lately = await refresh("d", expires_at=ahead, revoked_at=lately)
    extra_expired = [await refresh("e", expires_at=long_ago) for _ in range(3)]

    def reset(**fields: object) -> Any:
        return PasswordResetTokenFactory.create(user=user, **fields)

    used_long_ago = await reset(expires_at=ahead, used_at=long_ago)
    reset_expired_long_ago = await reset(expires_at=long_ago)
    used_lately = await reset(expires_at=ahead, used_at=lately)
    unused = await reset(expires_at=ahead)

    await PurgeStaleTokens().run()

    refresh_left = set((await db.scalars(select(RefreshToken.id))).all())
    reset_left = set((await db.scalars(select(PasswordResetToken.id))).all())
    assert refresh_left == {
        token.id for token in (expired_lately, rotated_in_live_session, live, ended_session_lately)
    }
    assert reset_left == {token.id for token in (used_lately, unused)}
    gone = [expired_long_ago, ended_session_long_ago, *extra_expired]
    assert not refresh_left & {token.id for token in gone}
    assert not reset_left & {used_long_ago.id, reset_expired_long_ago.id}


async def test_stale_verification_links_and_ended_sessions_go(db: AsyncSession) -> None:
    now = utcnow()
    user = await UserFactory.create()
    old = now - timedelta(days=auth_config.TOKEN_RETENTION_DAYS + 1)

    async def link(**fields: object) -> EmailVerificationToken:
        token = EmailVerificationToken(
            user_id=user.id, token_hash=uuid.uuid4().hex, email=user.email, **fields
        )
        db.add(token)
        await db.flush()
        return token

    expired = await link(expires_at=old)
    used = await link(expires_at=now + timedelta(days=1), used_at=old)
    fresh = await link(expires_at=now + timedelta(days=1))
    purged_family = await RefreshTokenFactory.create(user=user, expires_at=old)
    live_family = await RefreshTokenFactory.create(user=user)
    for family in (purged_family.family_id, live_family.family_id):
        db.add(UserSession(family_id=family, user_id=user.id, last_used_at=now))
    await db.flush()

    await PurgeStaleTokens().run()

    links_left = set((await db.scalars(select(EmailVerificationToken.id))).all())
    sessions_left = set((await db.scalars(select(UserSession.family_id))).all())
    assert links_left == {fresh.id}
    assert not links_left & {expired.id, used.id}
    assert sessions_left == {live_family.family_id}


def test_the_purge_is_on_the_schedule() -> None:
    job = schedule[PurgeStaleTokens.__task_name__]

    assert job.cron == auth_config.TOKEN_PURGE_SCHEDULE
