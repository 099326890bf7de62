"""Access tokens (short-lived HS256 JWTs) and opaque random tokens stored as hashes."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from app.auth.config import auth_config
from app.auth.exceptions import InvalidToken
from app.core.configs import AppConfig, app_config

ALGORITHM = "HS256"
ACCESS = "access"
TWO_FACTOR = "2fa"
# Ids live in an INTEGER column: a larger subject names nobody (and must not reach the query).
MAX_USER_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: str | None


def new_opaque_token() -> tuple[str, str]:
    """A random token for the client and the SHA-256 hex digest to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_family_id() -> str:
    return uuid.uuid4().hex


class AccessTokens:
    def __init__(self, config: AppConfig) -> None:
        self._config = config

    @property
    def lifetime(self) -> timedelta:
        return timedelta(minutes=self._config.ACCESS_TOKEN_EXPIRE_MINUTES)

    def issue(self, user_id: int, session_id: str, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "type": ACCESS,
            "sid": session_id,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._config.SECRET_KEY, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        """Validate signature, algorithm, expiry and type; raise ``InvalidToken`` otherwise."""
        claims = _decode(token, self._config.SECRET_KEY, ACCESS)
        session = claims.get("sid")
        return AccessClaims(
            user_id=_user_id(claims), session_id=session if isinstance(session, str) else None
        )


class ChallengeTokens:
    """The short-lived token ``POST /auth/login`` answers with when the account has two-factor
    sign-in: good only for ``POST /auth/login/2fa`` (its own ``type``), never as an access
    token."""

    def __init__(self, config: AppConfig, lifetime_seconds: int) -> None:
        self._config = config
        self.lifetime = timedelta(seconds=lifetime_seconds)

    def issue(self, user_id: int, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "type": TWO_FACTOR,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._config.SECRET_KEY, algorithm=ALGORITHM)

    def decode(self, token: str) -> int:
        """The user id of a valid challenge; ``InvalidToken`` otherwise."""
        return _user_id(_decode(token, self._config.SECRET_KEY, TWO_FACTOR))


def _decode(token: str, key: str, token_type: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "type"]},
        )
    except jwt.PyJWTError:
        raise InvalidToken from None
    if claims.get("type") != token_type:
        raise InvalidToken
    return claims


def _user_id(claims: dict[str, object]) -> int:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):
        raise InvalidToken
    user_id = int(subject)
    if not 0 < user_id <= MAX_USER_ID:
        raise InvalidToken
    return user_id


access_tokens = AccessTokens(app_config)
challenge_tokens = ChallengeTokens(app_config, auth_config.TWO_FACTOR_CHALLENGE_SECONDS)
