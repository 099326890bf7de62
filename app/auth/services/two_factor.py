"""Two-factor sign-in with TOTP (RFC 6238, through pyotp): enrolment, codes, recovery codes.

Secrets are stored encrypted (Fernet, with a key derived by HKDF from ``TOTP_SECRET_KEY`` or
``SECRET_KEY``); recovery codes as SHA-256 hashes (they are random, so a fast hash is enough).
A code is accepted for the time step before, at or after now, and only for a step later than
the last accepted one: no code works twice.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.config import AuthConfig, auth_config
from app.auth.exceptions import (
    InvalidTwoFactorCode,
    TwoFactorAlreadyEnabled,
    TwoFactorNotEnabled,
    TwoFactorNotStarted,
    WrongCurrentPassword,
)
from app.auth.models import User
from app.auth.repositories import RecoveryCodeRepository, UserRepository
from app.auth.services.passwords import PasswordHasher, password_attempts, password_hasher
from app.core.configs import AppConfig, app_config
from app.core.db import utcnow
from app.core.services.ratelimit import AttemptLimiter

# Code checks per account and per client, whatever the route: six digits are guessable.
two_factor_attempts = AttemptLimiter(
    "two-factor",
    times=auth_config.TWO_FACTOR_ATTEMPT_LIMIT,
    seconds=auth_config.PASSWORD_ATTEMPT_WINDOW_SECONDS,
)


class SecretBox:
    """Encrypts TOTP secrets at rest."""

    def __init__(self, key_material: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"app.auth totp secrets"
        ).derive(key_material.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or ``None`` when the key changed since it was sealed."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (now, one before or one after) whose code ``code`` is, if later than
    ``after``; ``None`` otherwise."""
    totp = pyotp.TOTP(secret)
    if len(code) != totp.digits or not (code.isascii() and code.isdigit()):
        return None
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_code() -> str:
    """Ten characters of base32, grouped ``xxxxx-xxxxx`` (50 random bits)."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]
    return f"{raw[:5]}-{raw[5:]}"


def hash_recovery_code(code: str) -> str:
    """How a recovery code is stored and looked up: case, spaces and dashes do not matter."""
    normalised = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str


class TwoFactorService:
    def __init__(
        self,
        db: AsyncSession,
        *,
        config: AppConfig = app_config,
        settings: AuthConfig = auth_config,
        hasher: PasswordHasher = password_hasher,
    ) -> None:
        self._db = db
        self._config = config
        self._settings = settings
        self._hasher = hasher
        self._box = SecretBox(settings.TOTP_SECRET_KEY or config.SECRET_KEY)
        self._users = UserRepository()
        self._codes = RecoveryCodeRepository()

    async def start(self, user: User) -> Enrolment:
        """A new secret for the user's authenticator app; 2FA is on once a code confirms it."""
        if user.two_factor_enabled:
            raise TwoFactorAlreadyEnabled
        secret = pyotp.random_base32()
        await self._users.update(
            self._db, user, {"totp_secret": self._box.seal(secret), "totp_last_step": None}
        )
        await self._users.commit(self._db)
        issuer = self._settings.TOTP_ISSUER or self._config.PROJECT_NAME
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
        return Enrolment(secret=secret, otpauth_uri=uri)

    async def confirm(self, user: User, code: str, client: str) -> list[str]:
        """Turn 2FA on with a code from the app; the recovery codes, shown this once."""
        if user.two_factor_enabled:
            raise TwoFactorAlreadyEnabled
        secret = self._box.open(user.totp_secret) if user.totp_secret else None
        if secret is None:
            raise TwoFactorNotStarted
        async with two_factor_attempts.attempt(f"user:{user.id}", f"client:{client}"):
            step = matching_step(secret, code, utcnow(), None)
        if step is None:
            raise InvalidTwoFactorCode
        codes = [new_recovery_code() for _ in range(self._settings.RECOVERY_CODE_COUNT)]
        await self._users.update(
            self._db, user, {"totp_enabled_at": utcnow(), "totp_last_step": step}
        )
        await self._codes.replace_for_user(
            self._db, user.id, [hash_recovery_code(c) for c in codes]
        )
        await self._users.commit(self._db)
        return codes

    async def disable(
        self, user: User, *, current_password: str | None, code: str | None, client: str
    ) -> None:
        """Turn 2FA off, proven by the password or a current code."""
        if not user.two_factor_enabled:
            raise TwoFactorNotEnabled
        if current_password is not None:
            async with password_attempts.attempt(f"user:{user.id}"):
                valid, _ = await self._hasher.verify(current_password, user.password_hash)
            if not valid:
                raise WrongCurrentPassword("Turning two-factor sign-in off needs the password")
        elif code is None or not await self.accept_code(user, code, None, client):
            raise InvalidTwoFactorCode
        await self._users.update(
            self._db,
            user,
            {"totp_secret": None, "totp_enabled_at": None, "totp_last_step": None},
        )
        await self._codes.delete_for_user(self._db, user.id)
        await self._users.commit(self._db)

    async def accept_code(
        self, user: User, code: str | None, recovery_code: str | None, client: str
    ) -> bool:
        """Spend a current code or a recovery code of the user (not committed); counted
        against the user's and the client's budgets."""
        async with two_factor_attempts.attempt(f"user:{user.id}", f"client:{client}"):
            now = utcnow()
            if recovery_code is not None:
                return await self._codes.consume(
                    self._db, user.id, hash_recovery_code(recovery_code), now
                )
            secret = self._box.open(user.totp_secret) if user.totp_secret else None
            if secret is None or code is None:
                return False
            step = matching_step(secret, code, now, user.totp_last_step)
            return step is not None and await self._spend_step(user, step)

    async def _spend_step(self, user: User, step: int) -> bool:
        """Record ``step`` as used, unless a concurrent sign-in used it (or a later one)."""
        stmt = (
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .returning(User.id)
            .execution_options(synchronize_session=False)
        )
        if (await self._db.execute(stmt)).first() is None:
            return False
        set_committed_value(user, "totp_last_step", step)
        return True
