"""Settings shared by the whole application."""

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator
from pydantic_settings import NoDecode

from app.core.configs.base import BaseConfig

# Used outside production when SECRET_KEY is not set; production refuses to start with it.
# A browser origin: scheme, host and optional port, nothing after.
ORIGIN = re.compile(r"https?://[^/\s:]+(:\d{1,5})?/?")
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789"  # noqa: S105
PLACEHOLDER_SECRET_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "your-secret-key",
        "please-change-this-secret-key-to-a-long-random-string",
    }
)
MIN_SECRET_KEY_LENGTH = 32
# Distinct characters a secret key needs: "aaaa...a" or "abab...ab" is long but guessable; a
# random hex key has 16, a random URL-safe one about 25.
MIN_SECRET_KEY_DISTINCT = 10


class AppEnv(StrEnum):
    LOCAL = "local"
    TESTING = "testing"
    PRODUCTION = "production"


class ConfigurationError(SystemExit):
    """A setting makes the application unsafe to start; the message is printed as one line."""


class AppConfig(BaseConfig):
    PROJECT_NAME: str = "FastAPI Modular Monolith"
    APP_ENV: AppEnv = AppEnv.LOCAL
    APP_URL: str = "http://127.0.0.1:8000"
    SECRET_KEY: str = ""

    DATABASE_URL: str = "sqlite+aiosqlite:///./var/app.db"
    DATABASE_POOL_SIZE: int = Field(default=10, ge=1)
    DATABASE_MAX_OVERFLOW: int = Field(default=10, ge=0)
    DATABASE_CONNECT_TIMEOUT: float = Field(default=5.0, gt=0)
    # Seconds a request may wait for a free pooled connection when all are busy (overload).
    DATABASE_POOL_TIMEOUT: float = Field(default=10.0, gt=0)
    # PostgreSQL ends a statement running longer than this, and a session left idle inside a
    # transaction this long; the client gives up on a server silent for the statement timeout
    # plus DATABASE_ANSWER_MARGIN and closes the connection. API processes, queue workers and
    # migrations each have their own.
    DATABASE_STATEMENT_TIMEOUT: float = Field(default=5.0, gt=0)
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: float = Field(default=10.0, gt=0)
    DATABASE_WORKER_STATEMENT_TIMEOUT: float = Field(default=60.0, gt=0)
    DATABASE_WORKER_IDLE_IN_TRANSACTION_TIMEOUT: float = Field(default=120.0, gt=0)
    DATABASE_MIGRATION_STATEMENT_TIMEOUT: float = Field(default=900.0, gt=0)
    DATABASE_ANSWER_MARGIN: float = Field(default=2.0, gt=0)
    # A connection whose peer stops acknowledging (network fault, host gone) is dropped after
    # about this many seconds (TCP keepalives and TCP_USER_TIMEOUT).
    DATABASE_TCP_TIMEOUT: float = Field(default=15.0, ge=3)
    # Test each pooled connection with a round trip before use. Off: a connection the server
    # dropped fails one query, after which the whole pool is replaced. On: for networks that
    # silently drop idle connections (some proxies and firewalls).
    DATABASE_POOL_PRE_PING: bool = False
    # psycopg prepares a statement on the server once it ran this many times on a connection
    # (faster repeats). 0: never, for PgBouncer before 1.21 in transaction mode, where the next
    # transaction may run on another server connection that does not know the statement.
    DATABASE_PREPARE_THRESHOLD: int = Field(default=5, ge=0)
    # List pages count their total once per change of the table (0: on every request).
    LIST_COUNT_CACHE_SECONDS: int = Field(default=300, ge=0)
    DATABASE_ECHO: bool = False

    REDIS_URL: str = ""
    # Longest wait for one Redis call (connect, command, reply).
    REDIS_TIMEOUT: float = Field(default=2.0, gt=0)
    # Total a request may spend on Redis where it is an optimisation (cache, list totals, the
    # rate limiter); past it, the request carries on without Redis.
    REDIS_REQUEST_BUDGET: float = Field(default=0.25, gt=0)

    CACHE_NAMESPACE: str = "cache"
    QUEUE_NAME: str = "tasks"
    QUEUE_WORKERS: int = Field(default=2, ge=1)
    # A task not acknowledged this long (its worker died) is handed to another worker; each
    # delivery is kept shorter (timeouts cut to fit, long retries queued again).
    QUEUE_RECLAIM_AFTER_SECONDS: int = Field(default=300, ge=1)
    # Tasks wait in the outbox table until the broker takes them: sent right after the commit,
    # or by a sweeper (in workers; in the API process when embedded) every OUTBOX_SWEEP_SECONDS
    # (0: no sweeper) for rows older than OUTBOX_RELAY_AFTER_SECONDS. /health/ready warns
    # while the oldest waits longer than OUTBOX_WARN_AFTER_SECONDS.
    OUTBOX_SWEEP_SECONDS: float = Field(default=1.0, ge=0)
    OUTBOX_RELAY_AFTER_SECONDS: float = Field(default=5.0, gt=0)
    OUTBOX_WARN_AFTER_SECONDS: float = Field(default=60.0, gt=0)
    # How often a scheduler looks for due jobs: `python -m app scheduler`, or the API process
    # in embedded mode (0: not there).
    SCHEDULER_POLL_SECONDS: float = Field(default=1.0, ge=0)

    SMTP_HOST: str = ""
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False
    SMTP_SSL: bool = False
    SMTP_TIMEOUT: float = Field(default=10.0, gt=0)
    MAIL_FROM: str = "no-reply@example.com"

    # Longest request body accepted (413 beyond); a route may set its own (max_body_bytes).
    MAX_REQUEST_BODY_BYTES: int = Field(default=1_048_576, ge=0)

    RATE_LIMITER_ENABLED: bool = True
    TRUSTED_PROXIES: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)

    # Browser origins (scheme://host[:port], comma-separated) allowed to call the API; empty: none.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Let those origins send cookies and HTTP authentication (bearer tokens need no credentials).
    CORS_ALLOW_CREDENTIALS: bool = False
    # Host names the API answers to (``*.example.com`` for subdomains); empty: any. Loopback
    # names are always allowed, for the container's health check.
    ALLOWED_HOSTS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # /docs, /redoc and /openapi.json; unset: on, except in production.
    DOCS_ENABLED: bool | None = None

    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=30, ge=1)
    RESET_TOKEN_EXPIRE_MINUTES: int = Field(default=60, ge=1)
    # A refresh token presented again within this many seconds of its rotation (two tabs
    # refreshing at once) gets a fresh pair in the same session; later, it ends the session.
    REFRESH_TOKEN_REUSE_GRACE_SECONDS: int = Field(default=5, ge=0)

    # Each check of /health/ready answers within this many seconds or counts as down.
    HEALTH_CHECK_TIMEOUT: float = Field(default=2.0, gt=0)

    LOG_LEVEL: str = "INFO"
    LOG_JSON: bool | None = None

    # Prometheus metrics at /metrics on the API port, and on METRICS_WORKER_PORT in queue
    # workers (one endpoint for all of a host's worker processes).
    METRICS_ENABLED: bool = False
    METRICS_WORKER_PORT: int = Field(default=9100, ge=1, le=65535)
    METRICS_WORKER_HOST: str = "127.0.0.1"

    # OpenTelemetry traces over OTLP/HTTP, on when an endpoint is set. The SDK's other OTEL_*
    # variables (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, ...) are read from the
    # process environment.
    OTEL_EXPORTER_OTLP_ENDPOINT: str = ""
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: str = ""
    OTEL_SERVICE_NAME: str = "app"
    OTEL_SDK_DISABLED: bool = False

    # Errors reported to Sentry when a DSN is set; the release defaults to the app's version.
    SENTRY_DSN: str = ""
    SENTRY_RELEASE: str = ""

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: dict[str, object]) -> dict[str, object]:
        for key in ("TRUSTED_PROXIES", "CORS_ORIGINS", "ALLOWED_HOSTS"):
            raw = data.get(key) if isinstance(data, dict) else None
            if isinstance(raw, str):
                data[key] = [item.strip() for item in raw.split(",") if item.strip()]
        return data

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], no path"
                )
        return [origin.rstrip("/") for origin in origins]

    @model_validator(mode="after")
    def _no_credentials_for_every_origin(self) -> Self:
        if self.CORS_ALLOW_CREDENTIALS and "*" in self.CORS_ORIGINS:
            raise ValueError("CORS_ALLOW_CREDENTIALS needs the origins listed, not '*'")
        return self

    @model_validator(mode="after")
    def _default_secret_key(self) -> Self:
        if not self.SECRET_KEY and self.APP_ENV is not AppEnv.PRODUCTION:
            self.SECRET_KEY = DEV_SECRET_KEY
        return self

    @property
    def is_production(self) -> bool:
        return self.APP_ENV is AppEnv.PRODUCTION

    @property
    def docs_enabled(self) -> bool:
        return not self.is_production if self.DOCS_ENABLED is None else self.DOCS_ENABLED

    @property
    def uses_dev_secret_key(self) -> bool:
        return self.SECRET_KEY == DEV_SECRET_KEY

    @property
    def traces_endpoint(self) -> str:
        """Where spans are sent; empty when tracing is off."""
        if self.OTEL_SDK_DISABLED:
            return ""
        if self.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:
            return self.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        if self.OTEL_EXPORTER_OTLP_ENDPOINT:
            return self.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
        return ""

    @property
    def log_json(self) -> bool:
        return self.is_production if self.LOG_JSON is None else self.LOG_JSON

    def check_startup(self) -> None:
        """Refuse to start in production with a secret key anyone could guess."""
        if not self.is_production:
            return
        key = self.SECRET_KEY
        if not key:
            problem = "is not set"
        elif key.lower() in PLACEHOLDER_SECRET_KEYS:
            problem = "is a known placeholder"
        elif len(key) < MIN_SECRET_KEY_LENGTH:
            problem = f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
        elif len(set(key)) < MIN_SECRET_KEY_DISTINCT:
            problem = f"has fewer than {MIN_SECRET_KEY_DISTINCT} different characters"
        else:
            return
        hint = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        raise ConfigurationError(
            f"Refusing to start in production: SECRET_KEY {problem}; set a random one, e.g. {hint}"
        )
