"""``/health`` (the process answers) and ``/health/ready`` (its backing services answer)."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

HealthCheck = Callable[[], Awaitable[object]]
CHECK_TIMEOUT_SECONDS = 2.0

log = structlog.get_logger(logger_name="app.health")


class ReadinessChecks:
    """Named checks that ``/health/ready`` runs concurrently; the lifespan registers them."""

    def __init__(self) -> None:
        self._checks: dict[str, HealthCheck] = {}

    def register(self, name: str, check: HealthCheck) -> None:
        self._checks[name] = check

    def clear(self) -> None:
        self._checks.clear()

    async def run(self) -> dict[str, str]:
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
