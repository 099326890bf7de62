"""What modules import from the kernel: ``Annotated`` dependencies, decorators and ``logger``.

Dependencies are ``async def`` even when they do not await: FastAPI runs plain ``def``
dependencies in its thread pool, a hop per dependency per request.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.session import database, get_db_session, request_session
from app.core.services.cache import CacheServiceInterface, cache_service, cached
from app.core.services.events import (
    EventsServiceInterface,
    FastAPIEventsService,
    listener,
)
from app.core.services.log import logger
from app.core.services.mail import MailServiceInterface, mail_service
from app.core.services.queue import QueueServiceInterface, queue_service, queued
from app.core.services.scheduler import scheduled

DBSession = Annotated[AsyncSession, Depends(get_db_session)]


async def get_events_service(db: DBSession) -> EventsServiceInterface:
    """Events tied to the request's session: delivered after it commits."""
    return FastAPIEventsService(db)


async def get_cache_service() -> CacheServiceInterface:
    return cache_service


async def get_queue_service(request: Request) -> QueueServiceInterface:
    """Tasks queued in the request's transaction: sent after it commits, dropped on rollback.
    A request that opened no session (or no transaction) sends them at once."""
    return queue_service.bound_later(lambda: request_session(request))


QueueService = Annotated[QueueServiceInterface, Depends(get_queue_service)]


async def get_mail_service(queue: QueueService) -> MailServiceInterface:
    """Mail queued in the request's transaction, like tasks."""
    return mail_service.bound(queue)


@dataclass(frozen=True)
class UnitOfWork:
    """A session and the services bound to it, for work outside a request."""

    db: AsyncSession
    events: EventsServiceInterface
    cache: CacheServiceInterface
    queue: QueueServiceInterface
    mail: MailServiceInterface


@asynccontextmanager
async def unit_of_work(*, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
    """What a request's dependencies give a route, for a queue task, a listener or a command.

    ``await uow.db.commit()`` commits; whatever is not committed when the block ends is rolled
    back. Events dispatched through ``uow.events``, tasks pushed through ``uow.queue`` and mail
    queued through ``uow.mail`` leave after the commit, as in a request, and never if it rolls
    back. ``read_only`` sessions never wait for writers on SQLite.

        async with unit_of_work() as uow:
            await PostService(uow.db, uow.events).publish(post_id)
    """
    async with database.session(read_only=read_only) as db:
        queue = queue_service.bound(db)
        yield UnitOfWork(
            db, FastAPIEventsService(db), cache_service, queue, mail_service.bound(queue)
        )


EventsService = Annotated[EventsServiceInterface, Depends(get_events_service)]
CacheService = Annotated[CacheServiceInterface, Depends(get_cache_service)]
MailService = Annotated[MailServiceInterface, Depends(get_mail_service)]

__all__ = [
    "CacheService",
    "DBSession",
    "EventsService",
    "MailService",
    "QueueService",
    "UnitOfWork",
    "cached",
    "listener",
    "logger",
    "queued",
    "scheduled",
    "unit_of_work",
]
