"""Background work of the auth module."""

from datetime import timedelta
from typing import Any

from app.auth.config import auth_config
from app.auth.repositories import (
    EmailVerificationTokenRepository,
    PasswordResetTokenRepository,
    RecoveryCodeRepository,
    RefreshTokenRepository,
    UserSessionRepository,
)
from app.auth.services.auth import AuthService
from app.auth.services.verification import EmailVerificationService
from app.core.db import utcnow
from app.core.deps import logger, queued, scheduled, unit_of_work
from app.core.services.queue import BaseTask


@queued
class SendPasswordReset(BaseTask):
    """Look the email up and mail a reset link if an active account uses it.

    Done here rather than in the request, so that the answer to ``restore-password`` costs the
    same, and takes the same time, whether the account exists or not. Running twice mails a
    second link, which replaces the first.
    """

    __task_name__ = "auth.send_password_reset"

    async def run(self, **data: Any) -> None:
        async with unit_of_work() as uow:
            await AuthService(uow.db, uow.events, uow.mail).restore_password(str(data["email"]))


@queued
class SendEmailVerification(BaseTask):
    """A new verification link for an unverified account or a pending address; looked up
    here, like ``SendPasswordReset``, so that the answer is the same for every address."""

    __task_name__ = "auth.send_email_verification"

    async def run(self, **data: Any) -> None:
        async with unit_of_work() as uow:
            service = EmailVerificationService(uow.db, uow.events, uow.mail)
            await service.resend(str(data["email"]))


@queued
class PurgeUserTokens(BaseTask):
    """Remove every stored token of a deleted user (idempotent: a repeat deletes nothing)."""

    __task_name__ = "auth.purge_user_tokens"

    async def run(self, **data: Any) -> None:
        user_id = int(data["user_id"])
        async with unit_of_work() as uow:
            await RefreshTokenRepository().delete_for_user(uow.db, user_id)
            await PasswordResetTokenRepository().delete_for_user(uow.db, user_id)
            await EmailVerificationTokenRepository().delete_for_user(uow.db, user_id)
            await UserSessionRepository().delete_for_user(uow.db, user_id)
            await RecoveryCodeRepository().delete_for_user(uow.db, user_id)
            await uow.db.commit()


@scheduled(cron=auth_config.TOKEN_PURGE_SCHEDULE)
@queued
class PurgeStaleTokens(BaseTask):
    """Delete refresh, reset and verification tokens past ``TOKEN_RETENTION_DAYS`` (see
    ``AuthConfig``) and the sessions left without tokens, a batch per transaction (idempotent:
    a repeat finds less, or nothing)."""

    __task_name__ = "auth.purge_stale_tokens"

    async def run(self, **data: Any) -> None:
        now = utcnow()
        cutoff = now - timedelta(days=auth_config.TOKEN_RETENTION_DAYS)
        batch = auth_config.TOKEN_PURGE_BATCH
        refresh, reset = RefreshTokenRepository(), PasswordResetTokenRepository()
        verification, sessions = EmailVerificationTokenRepository(), UserSessionRepository()
        deleted = 0
        async with unit_of_work() as uow:
            while True:
                count = await refresh.delete_stale(uow.db, cutoff, now, batch)
                count += await reset.delete_stale(uow.db, cutoff, batch)
                count += await verification.delete_stale(uow.db, cutoff, batch)
                count += await sessions.delete_stale(uow.db, batch)
                await uow.db.commit()
                deleted += count
                if count == 0:
                    break
        await logger.a_info("stale tokens purged", deleted=deleted)
