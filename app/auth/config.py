"""Settings of the auth module."""

from pydantic import Field

from app.core.configs import BaseConfig

# Longer passwords are refused: hashing megabytes of input is a denial-of-service lever.
MAX_PASSWORD_LENGTH = 128


class AuthConfig(BaseConfig):
    # Argon2id cost; the defaults follow OWASP's guidance. Tests lower them.
    PASSWORD_HASH_TIME_COST: int = Field(default=3, ge=1)
    PASSWORD_HASH_MEMORY_COST: int = Field(default=65536, ge=8)
    PASSWORD_HASH_PARALLELISM: int = Field(default=4, ge=1)
    # Hashes computed at once per process; each already uses PARALLELISM lanes.
    PASSWORD_HASH_THREADS: int = Field(default=2, ge=1)

    # Lowest zxcvbn score (0-4) a new password may have: 3 refuses common passwords, keyboard
    # walks, repeats and variations of the user's own name or email.
    PASSWORD_MIN_SCORE: int = Field(default=3, ge=0, le=4)

    # Requests per client per route in RATE_LIMIT_WINDOW_SECONDS.
    RATE_LIMIT_WINDOW_SECONDS: int = Field(default=60, ge=1)
    LOGIN_RATE_LIMIT: int = Field(default=10, ge=1)
    REGISTER_RATE_LIMIT: int = Field(default=5, ge=1)
    REFRESH_RATE_LIMIT: int = Field(default=30, ge=1)
    RESTORE_PASSWORD_RATE_LIMIT: int = Field(default=3, ge=1)
    RESET_PASSWORD_RATE_LIMIT: int = Field(default=10, ge=1)
    # Password checks (login, profile changes) per account in PASSWORD_ATTEMPT_WINDOW_SECONDS,
    # whoever makes them; past it, 429 for that account until the budget refills.
    PASSWORD_ATTEMPT_LIMIT: int = Field(default=10, ge=1)
    PASSWORD_ATTEMPT_WINDOW_SECONDS: int = Field(default=900, ge=1)

    # Email verification: links work once, for EMAIL_VERIFICATION_EXPIRE_HOURS. With
    # AUTH_REQUIRE_VERIFIED_EMAIL, routes behind ``VerifiedUser`` answer 403 to unverified
    # accounts (they can still sign in, and verify).
    AUTH_REQUIRE_VERIFIED_EMAIL: bool = False
    EMAIL_VERIFICATION_EXPIRE_HOURS: int = Field(default=48, ge=1)
    VERIFY_EMAIL_RATE_LIMIT: int = Field(default=10, ge=1)
    RESEND_VERIFICATION_RATE_LIMIT: int = Field(default=3, ge=1)

    # Two-factor sign-in (TOTP, RFC 6238). Secrets are encrypted at rest with TOTP_SECRET_KEY,
    # or with a key derived from SECRET_KEY when it is empty (changing either makes enrolled
    # secrets unreadable: users then sign in with a recovery code). TOTP_ISSUER names the
    # account in authenticator apps (PROJECT_NAME when empty).
    TOTP_SECRET_KEY: str = ""
    TOTP_ISSUER: str = ""
    TWO_FACTOR_CHALLENGE_SECONDS: int = Field(default=300, ge=30)
    TWO_FACTOR_RATE_LIMIT: int = Field(default=10, ge=1)
    # Code checks per account (and per client) in PASSWORD_ATTEMPT_WINDOW_SECONDS.
    TWO_FACTOR_ATTEMPT_LIMIT: int = Field(default=5, ge=1)
    RECOVERY_CODE_COUNT: int = Field(default=10, ge=1, le=50)

    # Stale tokens are deleted on this cron schedule (UTC): refresh tokens expired for
    # TOKEN_RETENTION_DAYS, or revoked that long in a session that has ended; reset tokens
    # used or expired that long. TOKEN_PURGE_BATCH rows per transaction.
    TOKEN_PURGE_SCHEDULE: str = "17 3 * * *"  # noqa: S105 - a cron expression
    TOKEN_RETENTION_DAYS: int = Field(default=7, ge=0)
    TOKEN_PURGE_BATCH: int = Field(default=1000, ge=1)


auth_config = AuthConfig()
