from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RefreshToken
from app.auth.repositories import PasswordResetTokenRepository, RefreshTokenRepository
from app.core.db import utcnow
from tests.auth.factories.user import PasswordResetTokenFactory, RefreshTokenFactory, UserFactory

refresh_tokens = RefreshTokenRepository()
reset_tokens = PasswordResetTokenRepository()


async def test_claim_succeeds_once(db: AsyncSession) -> None:
    token = await RefreshTokenFactory.create()

    assert await refresh_tokens.claim(db, token.id, utcnow()) is True
    assert await refresh_tokens.claim(db, token.id, utcnow()) is False


async def test_revoke_family_leaves_other_families_alone(db: AsyncSession) -> None:
    user = await UserFactory.create()
    first = await RefreshTokenFactory.create(user=user, family_id="a" * 32)
    sibling = await RefreshTokenFactory.create(user=user, family_id="a" * 32)
    other = await RefreshTokenFactory.create(user=user, family_id="b" * 32)

    await refresh_tokens.revoke_family(db, "a" * 32, utcnow())

    revoked = dict(
        (await db.execute(select(RefreshToken.id, RefreshToken.revoked_at.is_not(None)))).all()
    )
    assert revoked == {first.id: True, sibling.id: True, other.id: False}


async def test_revoke_for_user_can_keep_one_family(db: AsyncSession) -> None:
    user = await UserFactory.create()
    kept = await RefreshTokenFactory.create(user=user, family_id="k" * 32)
    dropped = await RefreshTokenFactory.create(user=user)
    stranger = await RefreshTokenFactory.create()

    await refresh_tokens.revoke_for_user(db, user.id, utcnow(), keep_family="k" * 32)

    rows = dict((await db.execute(select(RefreshToken.id, RefreshToken.revoked_at))).all())
    assert rows[kept.id] is None
    assert rows[dropped.id] is not None
    assert rows[stranger.id] is None


async def test_consume_reset_token_once_and_only_before_expiry(db: AsyncSession) -> None:
    fresh = await PasswordResetTokenFactory.create()
    stale = await PasswordResetTokenFactory.create(expires_at=utcnow() - timedelta(seconds=1))

    assert await reset_tokens.consume(db, fresh.token_hash, utcnow()) == fresh.user_id
    assert await reset_tokens.consume(db, fresh.token_hash, utcnow()) is None
    assert await reset_tokens.consume(db, stale.token_hash, utcnow()) is None
    assert await reset_tokens.consume(db, "0" * 64, utcnow()) is None
