"""Start-up and shutdown: connections are opened here, never at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.api.health import readiness_checks
from app.core.configs import app_config
from app.core.db import database
from app.core.services.log import logger


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if app_config.uses_dev_secret_key:
        await logger.a_warning("SECRET_KEY is not set: using the built-in development key")
    database.connect()
    readiness_checks.register("database", database.ping)
    try:
        yield
    finally:
        readiness_checks.clear()
        await database.disconnect()
