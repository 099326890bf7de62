"""The sessions a user can see and end: one per sign-in (a refresh token family)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.exceptions import SessionNotFound
from app.auth.models import User, UserSession
from app.auth.repositories import RefreshTokenRepository, UserSessionRepository
from app.core.db import utcnow

# A user with more live sessions than this sees the most recently used ones.
MAX_LISTED_SESSIONS = 100


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a sign-in came from, as the session list shows it."""

    address: str | None
    user_agent: str | None


class SessionService:
    def __init__(self, db: AsyncSession) -> None:
        self._db = db
        self._sessions = UserSessionRepository()
        self._refresh_tokens = RefreshTokenRepository()

    async def list(self, user: User) -> list[UserSession]:
        return await self._sessions.live_for_user(self._db, user.id, utcnow(), MAX_LISTED_SESSIONS)

    async def end(self, user: User, session_id: str) -> None:
        """End one live session of the user: its refresh and access tokens stop working."""
        now = utcnow()
        if not await self._sessions.is_live(self._db, user.id, session_id, now):
            raise SessionNotFound
        await self._refresh_tokens.revoke_family(self._db, session_id, now)
        await self._db.commit()

    async def end_others(self, user: User, current_session_id: str | None) -> None:
        """End every session of the user but the current one."""
        await self._refresh_tokens.revoke_for_user(
            self._db, user.id, utcnow(), keep_family=current_session_id
        )
        await self._db.commit()
