from datetime import datetime

from sqlalchemy import Select, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RefreshToken, User
from app.auth.models.user import username_key
from app.core.db import BaseRepository
from app.core.types import normalise_text


def _in_live_session() -> Select[User]:
    live_session = exists().where(
        RefreshToken.family_id == bindparam("session_id"),
        RefreshToken.user_id == User.id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > bindparam("now"),
    )
    return select(User).where(
        User.id == bindparam("user_id"), User.deleted_at.is_(None), live_session
    )


class UserRepository(BaseRepository[User]):
    model = User
    # Built once: building a statement costs more than running it.
    _IN_LIVE_SESSION = _in_live_session()

    async def get_in_session(
        self, db: AsyncSession, user_id: int, session_id: str, now: datetime
    ) -> User | None:
        """The live user, only while the session (refresh token family) ``session_id`` is:
        not logged out, revoked, reset or expired. One query."""
        params = {"user_id": user_id, "session_id": session_id, "now": now}
        return (await db.execute(self._IN_LIVE_SESSION, params)).scalar_one_or_none()

    async def get_by_email(self, db: AsyncSession, email: str) -> User | None:
        return await self.get_by(db, email=normalise_text(email).lower())

    async def get_by_pending_email(self, db: AsyncSession, email: str) -> User | None:
        """The live user moving to ``email`` (the most recent one to ask for it)."""
        stmt = (
            self.select()
            .where(User.pending_email == normalise_text(email).lower())
            .order_by(User.updated_at.desc())
        )
        return (await db.execute(stmt.limit(1))).scalar_one_or_none()

    async def get_by_login(self, db: AsyncSession, login: str) -> User | None:
        """The live user whose email or username is ``login``, whatever its letter case or
        Unicode form."""
        key = username_key(login)
        stmt = self.select().where(or_(User.email == key, User.username_key == key))
        return (await db.execute(stmt.limit(1))).scalar_one_or_none()

    async def taken_fields(
        self,
        db: AsyncSession,
        *,
        email: str | None,
        username: str | None,
        exclude_id: int | None = None,
    ) -> set[str]:
        """Which of ``email`` and ``username`` a live user other than ``exclude_id`` holds."""
        email = normalise_text(email).lower() if email is not None else None
        key = username_key(username) if username is not None else None
        conditions = []
        if email is not None:
            conditions.append(User.email == email)
        if key is not None:
            conditions.append(User.username_key == key)
        if not conditions:
            return set()
        stmt = select(User.email, User.username_key).where(
            User.deleted_at.is_(None), or_(*conditions)
        )
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        taken: set[str] = set()
        for row_email, row_key in (await db.execute(stmt)).all():
            if email is not None and row_email == email:
                taken.add("email")
            if key is not None and row_key == key:
                taken.add("username")
        return taken
