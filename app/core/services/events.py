"""Events: modules announce what happened; listeners in other modules react after the response.

``events_service.dispatch(UserCreated(...))`` inside a request queues the event on the request's
database session: it is delivered after that session commits and dropped if it rolls back.
Delivery goes through fastapi-events, which runs listeners after the response is sent. Outside a
request (a queue worker, a CLI command) listeners run as background tasks.
"""

import asyncio
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pydantic
from fastapi_events import event_store, in_req_res_cycle
from fastapi_events.dispatcher import dispatch as fastapi_events_dispatch
from fastapi_events.handlers.base import BaseEventHandler
from fastapi_events.middleware import EventHandlerASGIMiddleware
from fastapi_events.typing import Event
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core.services.log import logger
from app.core.services.redis import end_request_budget

# A fixed id lets dispatch() find our handler from any request, whatever middleware instance.
EVENTS_MIDDLEWARE_ID = 0x5EED
_PENDING_KEY = "pending_events"


class BaseEvent(pydantic.BaseModel):
    """Base of every event; subclasses set ``__event_name__`` and declare their fields."""

    __event_name__: ClassVar[str]


@dataclass(frozen=True, slots=True)
class ListenedEvent:
    """What a listener receives: the event's name and its fields as a dict."""

    name: str
    data: Any


Listener = Callable[[ListenedEvent], Awaitable[None]]


class ListenerRegistry:
    """Which listeners react to which event names."""

    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)

    def register(self, event_cls: type[BaseEvent], func: Listener) -> None:
        if func not in self._listeners[event_cls.__event_name__]:
            self._listeners[event_cls.__event_name__].append(func)

    def listeners_for(self, name: str) -> list[Listener]:
        return list(self._listeners.get(name, ()))

    async def deliver(self, name: str, data: Any) -> None:
        """Run each listener in turn; one that fails is logged and the others still run.

        Listeners run after the response: the request's Redis budget no longer applies.
        """
        end_request_budget()
        for func in self.listeners_for(name):
            try:
                await func(ListenedEvent(name=name, data=data))
            except Exception:
                await logger.a_exception(
                    "event listener failed", event_name=name, listener=func.__qualname__
                )


listener_registry = ListenerRegistry()


def listener(event_cls: type[BaseEvent]) -> Callable[[Listener], Listener]:
    """Register the decorated coroutine function as a listener for ``event_cls``."""

    def decorator(func: Listener) -> Listener:
        listener_registry.register(event_cls, func)
        return func

    return decorator


class EventsMiddleware(EventHandlerASGIMiddleware):
    """fastapi-events' middleware, minus its per-request task when nothing was dispatched."""

    async def _process_events(self) -> None:
        if event_store.get():
            await super()._process_events()


class RegistryEventHandler(BaseEventHandler):
    """The fastapi-events handler that hands each event to our registry, one after another."""

    async def handle(self, event: Event) -> None:
        name, payload = event
        await listener_registry.deliver(str(name), payload)

    async def handle_many(self, events: Any) -> None:
        for item in list(events):
            await self.handle(item)


_background: set[asyncio.Task[None]] = set()


def deliver(event: BaseEvent) -> None:
    """Hand ``event`` to its listeners now: after the response inside a request, else a task."""
    name, data = event.__event_name__, event.model_dump(mode="json")
    if in_req_res_cycle.get():
        fastapi_events_dispatch(
            name, payload=data, middleware_id=EVENTS_MIDDLEWARE_ID, validate_payload=False
        )
        return
    task = asyncio.get_running_loop().create_task(listener_registry.deliver(name, data))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def wait_for_background_listeners() -> None:
    """Wait for listeners started outside a request (shutdown, tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


@sa_event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    for pending in session.info.pop(_PENDING_KEY, []):
        deliver(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_PENDING_KEY, None)


class EventsServiceInterface(ABC):
    @abstractmethod
    def dispatch(self, event: BaseEvent) -> None:
        """Announce ``event``; listeners run once the surrounding transaction commits."""


class FastAPIEventsService(EventsServiceInterface):
    """Events through fastapi-events, tied to the request's database transaction."""

    def __init__(self, db: AsyncSession | None = None) -> None:
        self._db = db

    def dispatch(self, event: BaseEvent) -> None:
        if self._db is not None and self._db.in_transaction():
            self._db.sync_session.info.setdefault(_PENDING_KEY, []).append(event)
        else:
            deliver(event)


__all__ = [
    "BaseEvent",
    "EventsServiceInterface",
    "FastAPIEventsService",
    "ListenedEvent",
    "Listener",
    "listener",
    "wait_for_background_listeners",
]
