from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import (
    EmailVerificationToken,
    PasswordResetToken,
    RecoveryCode,
    RefreshToken,
    UserSession,
)
from app.core.db import BaseModel, BaseRepository


def _live_family(family_id: Any, now: datetime) -> Exists:
    """The session ``family_id`` still has an unrevoked, unexpired refresh token."""
    return exists().where(
        RefreshToken.family_id == family_id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )


class RefreshTokenRepository(BaseRepository[RefreshToken]):
    model = RefreshToken

    async def get_by_hash(self, db: AsyncSession, token_hash: str) -> RefreshToken | None:
        return await self.get_by(db, token_hash=token_hash)

    async def claim(self, db: AsyncSession, token_id: int, now: datetime) -> bool:
        """Revoke the token if nobody else has; ``False`` means it was already used."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(RefreshToken.id)
            .execution_options(synchronize_session=False)
        )
        return (await db.execute(stmt)).first() is not None

    async def family_is_live(self, db: AsyncSession, family_id: str, now: datetime) -> bool:
        """Whether the session still has an unrevoked, unexpired token."""
        return bool((await db.execute(select(_live_family(family_id, now)))).scalar())

    async def revoke_family(self, db: AsyncSession, family_id: str, now: datetime) -> None:
        await self._revoke(db, now, RefreshToken.family_id == family_id)

    async def revoke_for_user(
        self, db: AsyncSession, user_id: int, now: datetime, *, keep_family: str | None = None
    ) -> None:
        """Revoke every live session of the user, except the family ``keep_family``."""
        conditions = [RefreshToken.user_id == user_id]
        if keep_family is not None:
            conditions.append(RefreshToken.family_id != keep_family)
        await self._revoke(db, now, *conditions)

    async def _revoke(self, db: AsyncSession, now: datetime, *conditions: object) -> None:
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        await db.execute(stmt)

    async def delete_for_user(self, db: AsyncSession, user_id: int) -> None:
        await db.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))

    async def delete_stale(
        self, db: AsyncSession, cutoff: datetime, now: datetime, limit: int
    ) -> int:
        """Delete up to ``limit`` tokens expired before ``cutoff``, or revoked before it in a
        session with no live token left (a rotated token of a live session stays until it
        expires: presented again, it still ends its session); how many went."""
        live = aliased(RefreshToken)
        session_ended = ~(
            select(live.id)
            .where(
                live.family_id == RefreshToken.family_id,
                live.revoked_at.is_(None),
                live.expires_at > now,
            )
            .exists()
        )
        stale = or_(
            RefreshToken.expires_at < cutoff,
            and_(RefreshToken.revoked_at < cutoff, session_ended),
        )
        return await _delete_batch(db, RefreshToken, stale, limit)


class PasswordResetTokenRepository(BaseRepository[PasswordResetToken]):
    model = PasswordResetToken

    async def delete_for_user(self, db: AsyncSession, user_id: int) -> None:
        await db.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user_id))

    async def delete_stale(self, db: AsyncSession, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` tokens used or expired before ``cutoff``; how many went."""
        stale = or_(PasswordResetToken.expires_at < cutoff, PasswordResetToken.used_at < cutoff)
        return await _delete_batch(db, PasswordResetToken, stale, limit)

    async def consume(self, db: AsyncSession, token_hash: str, now: datetime) -> int | None:
        """Mark an unused, unexpired token used; the user id it was for, or ``None``."""
        stmt = (
            update(PasswordResetToken)
            .where(
                PasswordResetToken.token_hash == token_hash,
                PasswordResetToken.used_at.is_(None),
                PasswordResetToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(PasswordResetToken.user_id)
            .execution_options(synchronize_session=False)
        )
        return (await db.execute(stmt)).scalar_one_or_none()

    async def invalidate_for_user(self, db: AsyncSession, user_id: int, now: datetime) -> None:
        stmt = (
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        await db.execute(stmt)


class EmailVerificationTokenRepository(BaseRepository[EmailVerificationToken]):
    model = EmailVerificationToken

    async def consume(
        self, db: AsyncSession, token_hash: str, now: datetime
    ) -> tuple[int, str] | None:
        """Mark an unused, unexpired token used; the user id and address it was for."""
        stmt = (
            update(EmailVerificationToken)
            .where(
                EmailVerificationToken.token_hash == token_hash,
                EmailVerificationToken.used_at.is_(None),
                EmailVerificationToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(EmailVerificationToken.user_id, EmailVerificationToken.email)
            .execution_options(synchronize_session=False)
        )
        row = (await db.execute(stmt)).first()
        return (row[0], row[1]) if row is not None else None

    async def invalidate_for_user(self, db: AsyncSession, user_id: int, now: datetime) -> None:
        stmt = (
            update(EmailVerificationToken)
            .where(
                EmailVerificationToken.user_id == user_id,
                EmailVerificationToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        await db.execute(stmt)

    async def delete_for_user(self, db: AsyncSession, user_id: int) -> None:
        await db.execute(
            delete(EmailVerificationToken).where(EmailVerificationToken.user_id == user_id)
        )

    async def delete_stale(self, db: AsyncSession, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` links used or expired before ``cutoff``; how many went."""
        stale = or_(
            EmailVerificationToken.expires_at < cutoff, EmailVerificationToken.used_at < cutoff
        )
        return await _delete_batch(db, EmailVerificationToken, stale, limit)


class UserSessionRepository(BaseRepository[UserSession]):
    model = UserSession

    async def touch(self, db: AsyncSession, family_id: str, now: datetime) -> None:
        stmt = (
            update(UserSession)
            .where(UserSession.family_id == family_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        await db.execute(stmt)

    async def live_for_user(
        self, db: AsyncSession, user_id: int, now: datetime, limit: int
    ) -> list[UserSession]:
        """The user's live sessions, the most recently used first."""
        stmt = (
            select(UserSession)
            .where(UserSession.user_id == user_id, _live_family(UserSession.family_id, now))
            .order_by(UserSession.last_used_at.desc(), UserSession.id.desc())
            .limit(limit)
        )
        return list((await db.scalars(stmt)).all())

    async def is_live(self, db: AsyncSession, user_id: int, family_id: str, now: datetime) -> bool:
        """Whether ``family_id`` is a live session of this user."""
        live = _live_family(family_id, now).where(RefreshToken.user_id == user_id)
        return bool((await db.execute(select(live))).scalar())

    async def delete_for_user(self, db: AsyncSession, user_id: int) -> None:
        await db.execute(delete(UserSession).where(UserSession.user_id == user_id))

    async def delete_stale(self, db: AsyncSession, limit: int) -> int:
        """Delete up to ``limit`` sessions with no refresh token left (they were purged);
        how many went."""
        orphaned = ~exists().where(RefreshToken.family_id == UserSession.family_id)
        return await _delete_batch(db, UserSession, orphaned, limit)


class RecoveryCodeRepository(BaseRepository[RecoveryCode]):
    model = RecoveryCode

    async def replace_for_user(self, db: AsyncSession, user_id: int, hashes: list[str]) -> None:
        await self.delete_for_user(db, user_id)
        db.add_all(RecoveryCode(user_id=user_id, code_hash=code_hash) for code_hash in hashes)
        await db.flush()

    async def consume(self, db: AsyncSession, user_id: int, code_hash: str, now: datetime) -> bool:
        """Spend an unused code of this user; ``False`` when there is none."""
        stmt = (
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(RecoveryCode.id)
            .execution_options(synchronize_session=False)
        )
        return (await db.execute(stmt)).first() is not None

    async def delete_for_user(self, db: AsyncSession, user_id: int) -> None:
        await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


async def _delete_batch(
    db: AsyncSession,
    model: type[BaseModel],
    condition: ColumnElement[bool],
    limit: int,
) -> int:
    ids = list((await db.scalars(select(model.id).where(condition).limit(limit))).all())
    if ids:
        await db.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)
