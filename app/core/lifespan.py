"""Start-up and shutdown: connections are opened here, never at import time."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from taskiq import InMemoryBroker

from app.core.api.health import readiness_checks
from app.core.configs import app_config
from app.core.resources import close_resources, open_resources
from app.core.services.events import wait_for_background_listeners
from app.core.services.log import logger
from app.core.services.queue import outbox_check
from app.core.services.scheduler import start_scheduler, stop_scheduler
from app.core.services.tracing import flush as flush_traces
from app.core.tasks import broker


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await open_resources()
    readiness_checks.register("outbox", outbox_check)
    if app_config.uses_dev_secret_key:
        await logger.a_warning("SECRET_KEY is not set: using the built-in development key")
    await broker.startup()
    if isinstance(broker, InMemoryBroker) and app_config.SCHEDULER_POLL_SECONDS > 0:
        start_scheduler(app_config.SCHEDULER_POLL_SECONDS)  # no scheduler process without Redis
    try:
        yield
    finally:
        await stop_scheduler()
        await wait_for_background_listeners()
        await broker.shutdown()
        await close_resources()
        await asyncio.to_thread(flush_traces)
