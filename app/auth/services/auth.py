"""Registration, login, token refresh and logout, password recovery."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.emails.templates import ResetPasswordEmail
from app.auth.exceptions import (
    InvalidCredentials,
    InvalidResetToken,
    InvalidToken,
    TwoFactorFailed,
    WeakPassword,
)
from app.auth.models import User
from app.auth.models.user import username_key
from app.auth.repositories import (
    PasswordResetTokenRepository,
    RefreshTokenRepository,
    UserRepository,
    UserSessionRepository,
)
from app.auth.schemas.user import UserCreate
from app.auth.services.passwords import (
    PasswordHasher,
    password_attempts,
    password_hasher,
    password_policy,
)
from app.auth.services.sessions import ClientInfo
from app.auth.services.tokens import (
    AccessTokens,
    ChallengeTokens,
    access_tokens,
    challenge_tokens,
    hash_token,
    new_family_id,
    new_opaque_token,
)
from app.auth.services.two_factor import TwoFactorService
from app.auth.services.user import UserService
from app.core.configs import AppConfig, app_config
from app.core.db import utcnow
from app.core.services.events import EventsServiceInterface
from app.core.services.mail import EmailData, MailServiceInterface


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TwoFactorChallenge:
    """A password was right, a second factor is due: ``POST /auth/login/2fa``."""

    challenge: str
    expires_in: int


NO_CLIENT = ClientInfo(address=None, user_agent=None)


class AuthService:
    def __init__(
        self,
        db: AsyncSession,
        events: EventsServiceInterface,
        mail: MailServiceInterface,
        *,
        config: AppConfig = app_config,
        hasher: PasswordHasher = password_hasher,
        tokens: AccessTokens = access_tokens,
        challenges: ChallengeTokens = challenge_tokens,
    ) -> None:
        self._db = db
        self._mail = mail
        self._config = config
        self._hasher = hasher
        self._tokens = tokens
        self._challenges = challenges
        self._users = UserRepository()
        self._sessions = UserSessionRepository()
        self._refresh_tokens = RefreshTokenRepository()
        self._reset_tokens = PasswordResetTokenRepository()
        self._user_service = UserService(db, events, hasher)

    async def register(self, data: UserCreate) -> User:
        """A new account; the welcome mail and a verification link follow."""
        return await self._user_service.create(
            email=data.email, username=data.username, password=data.password
        )

    async def login(
        self, login: str, password: str, client: ClientInfo = NO_CLIENT
    ) -> TokenPair | TwoFactorChallenge:
        """Tokens for a valid login (a challenge instead when the account has two-factor
        sign-in); one error, and the same hashing work, for every failure."""
        user = await self._users.get_by_login(self._db, login)
        # End the read before hashing: no lock or connection is held while it runs.
        await self._db.commit()
        account = f"user:{user.id}" if user is not None else f"login:{username_key(login)}"
        async with password_attempts.attempt(account):
            if user is None:
                await self._hasher.burn(password)
                raise InvalidCredentials
            valid, new_hash = await self._hasher.verify(password, user.password_hash)
        if not valid or not user.is_active:
            raise InvalidCredentials
        if new_hash is not None:  # an old bcrypt hash, or weaker Argon2 settings
            await self._users.update(self._db, user, {"password_hash": new_hash})
        now = utcnow()
        if user.two_factor_enabled:
            await self._users.commit(self._db)
            return TwoFactorChallenge(
                challenge=self._challenges.issue(user.id, now),
                expires_in=int(self._challenges.lifetime.total_seconds()),
            )
        pair = await self._start_session(user, new_family_id(), now, client)
        await self._users.commit(self._db)
        return pair

    async def complete_two_factor(
        self,
        challenge: str,
        *,
        code: str | None,
        recovery_code: str | None,
        client: ClientInfo = NO_CLIENT,
    ) -> TokenPair:
        """The session a login challenge was for, with a current code or a recovery code."""
        try:
            user_id = self._challenges.decode(challenge)
        except InvalidToken:
            raise TwoFactorFailed from None
        user = await self._users.get(self._db, user_id)
        if user is None or not user.is_active or not user.two_factor_enabled:
            raise TwoFactorFailed
        two_factor = TwoFactorService(self._db, config=self._config, hasher=self._hasher)
        if not await two_factor.accept_code(user, code, recovery_code, client.address or ""):
            await self._db.rollback()
            raise TwoFactorFailed
        pair = await self._start_session(user, new_family_id(), utcnow(), client)
        await self._users.commit(self._db)
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent; presenting a spent one ends its session."""
        now = utcnow()
        token = await self._refresh_tokens.get_by_hash(self._db, hash_token(refresh_token))
        if token is None or token.expires_at <= now:
            raise InvalidToken
        if not await self._refresh_tokens.claim(self._db, token.id, now):
            if await self._reused_in_grace(token.revoked_at or now, token.family_id, now):
                # Two clients of one session refreshed at once: both keep the session.
                user = await self._users.get(self._db, token.user_id)
                if user is not None and user.is_active:
                    pair = await self._start_session(user, token.family_id, now, None)
                    await self._refresh_tokens.commit(self._db)
                    return pair
            # Already rotated or revoked: someone replays it. End the whole session.
            await self._refresh_tokens.revoke_family(self._db, token.family_id, now)
            await self._refresh_tokens.commit(self._db)
            raise InvalidToken
        user = await self._users.get(self._db, token.user_id)
        if user is None or not user.is_active:
            await self._refresh_tokens.commit(self._db)
            raise InvalidToken
        pair = await self._start_session(user, token.family_id, now, None)
        await self._refresh_tokens.commit(self._db)
        return pair

    async def _reused_in_grace(self, rotated_at: datetime, family_id: str, now: datetime) -> bool:
        """A token rotated moments ago, in a session that is still live (not logged out)."""
        grace = timedelta(seconds=self._config.REFRESH_TOKEN_REUSE_GRACE_SECONDS)
        if not grace or now - rotated_at > grace:
            return False
        return await self._refresh_tokens.family_is_live(self._db, family_id, now)

    async def logout(self, refresh_token: str) -> None:
        """End the session the token belongs to; unknown tokens are ignored."""
        token = await self._refresh_tokens.get_by_hash(self._db, hash_token(refresh_token))
        if token is not None:
            await self._refresh_tokens.revoke_family(self._db, token.family_id, utcnow())
            await self._refresh_tokens.commit(self._db)

    async def restore_password(self, email: str) -> None:
        """Mail a reset link to an active user; do nothing, visibly the same, otherwise."""
        user = await self._users.get_by_email(self._db, email)
        if user is None or not user.is_active:
            return
        now = utcnow()
        token, token_hash = new_opaque_token()
        lifetime = self._config.RESET_TOKEN_EXPIRE_MINUTES
        await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        await self._reset_tokens.create(
            self._db,
            {
                "user_id": user.id,
                "token_hash": token_hash,
                "expires_at": now + timedelta(minutes=lifetime),
            },
        )
        reset_url = (
            f"{self._config.APP_URL.rstrip('/')}/reset-password?{urlencode({'token': token})}"
        )
        # Queued in the token's transaction: the mail leaves only with a token that exists.
        await self._mail.queue(
            ResetPasswordEmail(
                username=user.username,
                project_name=self._config.PROJECT_NAME,
                reset_url=reset_url,
                expires_minutes=lifetime,
            ),
            EmailData(subject="Reset your password", recipient=user.email),
        )
        await self._reset_tokens.commit(self._db)

    async def reset_password(self, token: str, password: str) -> None:
        """Set a new password with a reset token (once); every session of the user ends."""
        # Hashed before the transaction begins: no lock or connection is held meanwhile.
        password_hash = await self._hasher.hash(password)
        now = utcnow()
        user_id = await self._reset_tokens.consume(self._db, hash_token(token), now)
        user = await self._users.get(self._db, user_id) if user_id is not None else None
        if user is None or not user.is_active:
            await self._db.rollback()
            raise InvalidResetToken
        try:
            await password_policy.check(password, user_inputs=[user.email, user.username])
        except WeakPassword:
            await self._db.rollback()  # the token stays usable for a better password
            raise
        await self._users.update(self._db, user, {"password_hash": password_hash})
        await self._refresh_tokens.revoke_for_user(self._db, user.id, now)
        await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        await self._users.commit(self._db)

    async def _start_session(
        self, user: User, family_id: str, now: datetime, new_session: ClientInfo | None
    ) -> TokenPair:
        """The next token pair of session ``family_id``: a new session signed in from
        ``new_session``, or (``None``) the next step of a live one."""
        if new_session is not None:
            await self._sessions.create(
                self._db,
                {
                    "family_id": family_id,
                    "user_id": user.id,
                    "created_at": now,
                    "last_used_at": now,
                    "ip_address": new_session.address,
                    "user_agent": new_session.user_agent,
                },
            )
        else:
            await self._sessions.touch(self._db, family_id, now)
        refresh_token, refresh_hash = new_opaque_token()
        await self._refresh_tokens.create(
            self._db,
            {
                "user_id": user.id,
                "token_hash": refresh_hash,
                "family_id": family_id,
                "expires_at": now + timedelta(days=self._config.REFRESH_TOKEN_EXPIRE_DAYS),
            },
        )
        return TokenPair(
            access_token=self._tokens.issue(user.id, family_id, now),
            refresh_token=refresh_token,
            expires_in=int(self._tokens.lifetime.total_seconds()),
        )
