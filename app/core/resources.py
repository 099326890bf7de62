"""Connections shared by the API process and queue workers, opened and closed in one place."""

from app.core.api.health import readiness_checks
from app.core.configs import app_config
from app.core.configs.structlog import configure_logging
from app.core.db import DatabaseRole, database
from app.core.services.cache import build_cache, cache_service
from app.core.services.redis import optional_redis, redis_connection


class _State:
    opened = False


async def open_resources(role: DatabaseRole = DatabaseRole.API) -> None:
    """Connect the database and Redis and register their readiness checks; ``role`` picks the
    database's time limits (queue workers allow longer statements than the API).

    Idempotent: the in-process broker runs the worker start-up hook inside the API process too.
    """
    if _State.opened:
        return
    configure_logging(app_config)
    database.connect(role)
    readiness_checks.register("database", database.ping)
    if redis_connection.enabled:
        redis_connection.connect()
        readiness_checks.register("redis", redis_connection.ping)
    await cache_service.close()  # the one built at import, before Redis was connected
    cache_service.use(
        build_cache(app_config, redis_connection.client if redis_connection.enabled else None)
    )
    _State.opened = True


async def close_resources() -> None:
    if not _State.opened:
        return
    _State.opened = False
    readiness_checks.clear()
    await cache_service.close()
    await optional_redis.close()
    await redis_connection.disconnect()
    await database.disconnect()
