"""``/health`` (the process answers) and ``/health/ready`` (its backing services answer)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from app.core.api.limiter import ConfigurableRateLimiter

HealthCheck = Callable[[], Awaitable[object]]
CHECK_TIMEOUT_SECONDS = 2.0
# Probes arriving within this many seconds share one round of checks.
RESULT_TTL_SECONDS = 1.0
# Per client: far above any probe's rate, far below a flood's.
READY_RATE_LIMIT = ConfigurableRateLimiter(times=120, minutes=1)

log = structlog.get_logger(logger_name="app.health")


class ReadinessChecks:
    """Named checks that ``/health/ready`` runs concurrently; the lifespan registers them."""

    def __init__(self) -> None:
        self._checks: dict[str, HealthCheck] = {}
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

    @staticmethod
    async def _run_one(check: HealthCheck) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                await check()
        except Exception as error:
            await log.awarning("readiness check failed", error=type(error).__name__)
            return "unavailable"
        return "ok"


readiness_checks = ReadinessChecks()

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database and Redis answer",
    dependencies=[Depends(READY_RATE_LIMIT)],
    responses={503: {"description": "A backing service is down; `checks` says which"}},
)
async def ready() -> JSONResponse:
    checks = await readiness_checks.run()
    down = sorted(name for name, result in checks.items() if result != "ok")
    if down:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"unavailable: {', '.join(down)}",
                "checks": checks,
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONResponse({"status": "ok", "checks": checks})
