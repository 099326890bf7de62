"""Background work of the auth module."""

from typing import Any

from app.auth.repositories import PasswordResetTokenRepository, RefreshTokenRepository
from app.core.db import database
from app.core.deps import queued
from app.core.services.queue import BaseTask


@queued
class PurgeUserTokens(BaseTask):
    """Remove every stored token of a deleted user (idempotent: a repeat deletes nothing)."""

    __task_name__ = "auth.purge_user_tokens"

    async def run(self, **data: Any) -> None:
        user_id = int(data["user_id"])
        async with database.session() as db:
            await RefreshTokenRepository().delete_for_user(db, user_id)
            await PasswordResetTokenRepository().delete_for_user(db, user_id)
            await db.commit()
