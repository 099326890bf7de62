"""Email verification: links mailed to an address, and the pending change of an address."""

from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.config import AuthConfig, auth_config
from app.auth.emails.templates import VerifyEmailEmail
from app.auth.events import UserEmailChanged
from app.auth.exceptions import EmailAlreadyTaken, InvalidVerificationToken, raise_if_taken
from app.auth.models import User
from app.auth.repositories import (
    EmailVerificationTokenRepository,
    PasswordResetTokenRepository,
    UserRepository,
)
from app.auth.services.tokens import hash_token, new_opaque_token
from app.core.configs import AppConfig, app_config
from app.core.db import utcnow
from app.core.services.events import EventsServiceInterface
from app.core.services.mail import EmailData, MailServiceInterface


class EmailVerificationService:
    def __init__(
        self,
        db: AsyncSession,
        events: EventsServiceInterface,
        mail: MailServiceInterface,
        *,
        config: AppConfig = app_config,
        settings: AuthConfig = auth_config,
    ) -> None:
        self._db = db
        self._events = events
        self._mail = mail
        self._config = config
        self._settings = settings
        self._users = UserRepository()
        self._tokens = EmailVerificationTokenRepository()
        self._reset_tokens = PasswordResetTokenRepository()

    async def send_link(self, user: User, email: str) -> None:
        """Mail a link verifying ``email`` for ``user``; earlier links stop working. Not
        committed: the mail leaves with the caller's transaction."""
        now = utcnow()
        token, token_hash = new_opaque_token()
        hours = self._settings.EMAIL_VERIFICATION_EXPIRE_HOURS
        await self._tokens.invalidate_for_user(self._db, user.id, now)
        await self._tokens.create(
            self._db,
            {
                "user_id": user.id,
                "token_hash": token_hash,
                "email": email,
                "expires_at": now + timedelta(hours=hours),
            },
        )
        url = f"{self._config.APP_URL.rstrip('/')}/verify-email?{urlencode({'token': token})}"
        await self._mail.queue(
            VerifyEmailEmail(
                username=user.username,
                project_name=self._config.PROJECT_NAME,
                email=email,
                verify_url=url,
                expires_hours=hours,
                change=email != user.email,
            ),
            EmailData(subject="Confirm your email address", recipient=email),
        )

    async def send_first_link(self, user_id: int) -> None:
        """The link for a new account (after ``UserCreated``), unless already verified."""
        user = await self._users.get(self._db, user_id)
        if user is None or user.email_verified or not user.is_active:
            return
        await self.send_link(user, user.email)
        await self._db.commit()

    async def resend(self, email: str) -> None:
        """A new link for an unverified account, or for an address an account is moving to;
        nothing, visibly the same, for any other address."""
        user = await self._users.get_by_email(self._db, email)
        if user is not None and user.is_active and not user.email_verified:
            await self.send_link(user, user.email)
        else:
            pending = await self._users.get_by_pending_email(self._db, email)
            if pending is None or not pending.is_active or pending.pending_email is None:
                return
            await self.send_link(pending, pending.pending_email)
        await self._db.commit()

    async def request_change(self, user: User, new_email: str) -> None:
        """Keep ``new_email`` as pending and mail it a link; the address changes when the link
        is followed. Not committed."""
        await self._users.update(self._db, user, {"pending_email": new_email})
        await self.send_link(user, new_email)

    async def verify(self, token: str) -> User:
        """Follow a link: the account's address is verified, or the pending one replaces it
        (then reset links mailed to the old address stop working). Once per link."""
        now = utcnow()
        found = await self._tokens.consume(self._db, hash_token(token), now)
        user = await self._users.get(self._db, found[0]) if found is not None else None
        if found is None or user is None or not user.is_active:
            await self._db.rollback()
            raise InvalidVerificationToken
        email = found[1]
        if email == user.email:
            if user.email_verified_at is None:
                await self._users.update(self._db, user, {"email_verified_at": now})
        elif email == user.pending_email:
            await self._move(user, email)
        else:  # a link for an address the account has since given up
            await self._db.rollback()
            raise InvalidVerificationToken
        try:
            await self._users.commit(self._db)
        except IntegrityError:  # the address was registered meanwhile
            await self._db.rollback()
            raise EmailAlreadyTaken from None
        return user

    async def _move(self, user: User, email: str) -> None:
        try:
            raise_if_taken(
                await self._users.taken_fields(
                    self._db, email=email, username=None, exclude_id=user.id
                )
            )
        except EmailAlreadyTaken:
            await self._db.rollback()
            raise
        old_email = user.email
        now = utcnow()
        await self._users.update(
            self._db,
            user,
            {"email": email, "pending_email": None, "email_verified_at": now},
        )
        await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        await self._tokens.invalidate_for_user(self._db, user.id, now)
        self._events.dispatch(
            UserEmailChanged(
                id=user.id, username=user.username, old_email=old_email, new_email=email
            )
        )
