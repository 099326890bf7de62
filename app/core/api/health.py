"""``/health`` (the process answers) and ``/health/ready`` (its backing services answer)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import pydantic
import structlog
from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from app.core.api.limiter import ConfigurableRateLimiter
from app.core.api.responses import ErrorResponse
from app.core.configs import app_config

HealthCheck = Callable[[], Awaitable[object]]


class HealthWarning(str):
    """What a check returns when its service answers but needs attention (not a failure)."""


# Probes arriving within this many seconds share one round of checks.
RESULT_TTL_SECONDS = 1.0
# Per client: far above any probe's rate, far below a flood's.
READY_RATE_LIMIT = ConfigurableRateLimiter(times=120, minutes=1)

log = structlog.get_logger(logger_name="app.health")


class ReadinessChecks:
    """Named checks that ``/health/ready`` runs concurrently; the lifespan registers them.

    Each answers within ``timeout`` seconds (``HEALTH_CHECK_TIMEOUT``) or counts as down: a
    check still running then is cancelled without waiting for it to finish cancelling.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._checks: dict[str, HealthCheck] = {}
        self._abandoned: set[asyncio.Future[object]] = set()
        self._round: asyncio.Future[dict[str, str]] | None = None
        self._round_started = 0.0

    def register(self, name: str, check: HealthCheck) -> None:
        self._checks[name] = check
        self._round = None

    def unregister(self, name: str) -> None:
        self._checks.pop(name, None)
        self._round = None

    def clear(self) -> None:
        self._checks.clear()
        self._round = None

    async def run(self) -> dict[str, str]:
        """Each check's result; callers within ``RESULT_TTL_SECONDS`` share one round."""
        now = time.monotonic()
        if self._round is None or now - self._round_started >= RESULT_TTL_SECONDS:
            self._round = asyncio.ensure_future(self._run_all())
            self._round_started = now
        return await asyncio.shield(self._round)

    async def _run_all(self) -> dict[str, str]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(self._checks[name]) for name in names))
        return dict(zip(names, results, strict=True))

    async def _run_one(self, check: HealthCheck) -> str:
        running = asyncio.ensure_future(check())
        done, _ = await asyncio.wait({running}, timeout=self.timeout)
        if not done:
            running.cancel()
            self._abandoned.add(running)
            running.add_done_callback(self._forget)
            await log.awarning("readiness check timed out", timeout=self.timeout)
            return "unavailable"
        error = asyncio.CancelledError() if running.cancelled() else running.exception()
        if error is not None:
            await log.awarning("readiness check failed", error=type(error).__name__)
            return "unavailable"
        result = running.result()
        return f"warning: {result}" if isinstance(result, HealthWarning) else "ok"

    def _forget(self, running: "asyncio.Future[object]") -> None:
        self._abandoned.discard(running)
        if not running.cancelled():
            running.exception()  # retrieved: a late failure is not worth a warning


readiness_checks = ReadinessChecks(app_config.HEALTH_CHECK_TIMEOUT)

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(pydantic.BaseModel):
    """The process answers."""

    status: Literal["ok"]


# Documented, not validated: the answer is a constant and this route is the cheapest there is.
@router.get(
    "",
    summary="Liveness: the process answers",
    response_model=None,
    responses={200: {"model": Liveness, "description": "The process answers"}},
)
async def live() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(pydantic.BaseModel):
    """``status`` ``ok``, ``warning`` (answering, something to look at) or ``unavailable``;
    ``checks``: each check's result."""

    status: Literal["ok", "warning", "unavailable"]
    checks: dict[str, str]
    detail: str | None = None


@router.get(
    "/ready",
    summary="Readiness: the database and Redis answer",
    dependencies=[Depends(READY_RATE_LIMIT)],
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "A backing service is down; `checks` says which"},
        429: {"model": ErrorResponse, "description": "Asked too often; try again later"},
    },
)
async def ready() -> JSONResponse:
    checks = await readiness_checks.run()
    down = sorted(name for name, result in checks.items() if result == "unavailable")
    if down:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"unavailable: {', '.join(down)}",
                "checks": checks,
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    warned = any(result != "ok" for result in checks.values())
    return JSONResponse({"status": "warning" if warned else "ok", "checks": checks})
