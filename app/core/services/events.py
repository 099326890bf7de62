"""Events: modules announce what happened; listeners in other modules react after the response.

``events_service.dispatch(UserCreated(...))`` inside a transaction waits for it: listeners run
after the commit and never if it rolls back. Plain listeners run in the process that
dispatched, after the response (fastapi-events), or as background tasks outside a request; a
crash in between loses them. Durable listeners (``@listener(UserCreated, durable=True)``) get
the event through the outbox, written in the same transaction, and run in a queue worker: at
least once, so they must be idempotent.

A listener takes the typed event (``async def f(event: UserCreated)``) or a ``ListenedEvent``
(name and fields as a dict), as its annotation says.
"""

import asyncio
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_type_hints

import pydantic
from fastapi_events import event_store, in_req_res_cycle, middleware_identifier
from fastapi_events.dispatcher import dispatch as fastapi_events_dispatch
from fastapi_events.handlers.base import BaseEventHandler
from fastapi_events.middleware import EventHandlerASGIMiddleware
from fastapi_events.typing import Event
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from starlette.types import Receive, Scope, Send

from app.core.db.session import in_writable_transaction
from app.core.services.log import logger
from app.core.services.queue import BaseTask, outbox, queue_service, queued
from app.core.services.redis import end_request_budget

# A fixed id lets dispatch() find our handler from any request, whatever middleware instance.
EVENTS_MIDDLEWARE_ID = 0x5EED
_PENDING_KEY = "pending_events"
# Marks an event whose durable listeners were queued already: only plain ones remain.
_PLAIN_ONLY = "plain-only:"


class BaseEvent(pydantic.BaseModel):
    """Base of every event; subclasses set ``__event_name__`` and declare their fields."""

    __event_name__: ClassVar[str]


@dataclass(frozen=True, slots=True)
class ListenedEvent:
    """What a listener annotated with it receives: the event's name and its fields as a dict."""

    name: str
    data: Any


# A listener takes the event (its class, or ListenedEvent) and returns nothing.
Listener = Callable[[Any], Awaitable[None]]
ListenerT = TypeVar("ListenerT", bound=Listener)


@dataclass(frozen=True, slots=True)
class RegisteredListener:
    func: Listener
    durable: bool
    # The event class its first parameter is annotated with, else None (a ListenedEvent).
    typed_as: type[BaseEvent] | None

    @property
    def key(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def argument(self, name: str, data: Any) -> Any:
        if self.typed_as is not None:
            return self.typed_as.model_validate(data)
        return ListenedEvent(name=name, data=data)


def _event_parameter(func: Listener) -> type[BaseEvent] | None:
    hints = get_type_hints(func)
    hints.pop("return", None)
    wanted = next(iter(hints.values()), None)
    return wanted if isinstance(wanted, type) and issubclass(wanted, BaseEvent) else None


class ListenerRegistry:
    """Which listeners react to which event names."""

    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[RegisteredListener]] = defaultdict(list)

    def register(self, event_cls: type[BaseEvent], func: Listener, *, durable: bool) -> None:
        registered = self._listeners[event_cls.__event_name__]
        if all(item.func is not func for item in registered):
            registered.append(RegisteredListener(func, durable, _event_parameter(func)))

    def listeners_for(self, name: str, *, durable: bool) -> list[RegisteredListener]:
        return [item for item in self._listeners.get(name, ()) if item.durable is durable]

    def find(self, key: str) -> RegisteredListener | None:
        return next(
            (item for items in self._listeners.values() for item in items if item.key == key),
            None,
        )

    async def deliver(self, name: str, data: Any) -> None:
        """Run each plain listener in turn; one that fails is logged and the others still run.

        Listeners run after the response: the request's Redis budget no longer applies.
        """
        end_request_budget()
        for item in self.listeners_for(name, durable=False):
            try:
                await item.func(item.argument(name, data))
            except Exception:
                await logger.a_exception(
                    "event listener failed", event_name=name, listener=item.func.__qualname__
                )


listener_registry = ListenerRegistry()


def listener(
    event_cls: type[BaseEvent], *, durable: bool = False
) -> Callable[[ListenerT], ListenerT]:
    """Register the decorated coroutine function as a listener for ``event_cls``; a
    ``durable`` one runs in a queue worker, through the outbox."""

    def decorator(func: ListenerT) -> ListenerT:
        listener_registry.register(event_cls, func, durable=durable)
        return func

    return decorator


@queued
class DeliverEvent(BaseTask):
    """Runs one durable listener with one event; a failure is retried like any task."""

    __task_name__ = "core.events.deliver"

    async def run(self, **data: Any) -> None:
        registered = listener_registry.find(data["listener"])
        if registered is None:
            await logger.a_error("durable listener not found; event dropped", **data)
            return
        await registered.func(registered.argument(data["name"], data["data"]))


def _durable_deliveries(name: str, data: Any) -> list[dict[str, Any]]:
    return [
        {"listener": item.key, "name": name, "data": data}
        for item in listener_registry.listeners_for(name, durable=True)
    ]


class EventsMiddleware(EventHandlerASGIMiddleware):
    """fastapi-events' middleware, doing what its ``__call__`` does (a store of events for
    the request, handled after the response) without its per-request context managers and
    debug logging, and with no handling at all when nothing was dispatched."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" and scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        middleware_token = middleware_identifier.set(self._id)
        store_token = event_store.set(deque())
        try:
            cycle_token = in_req_res_cycle.set(True)
            try:
                await self.app(scope, receive, send)
            finally:
                in_req_res_cycle.reset(cycle_token)
                if event_store.get():
                    await self._process_events()
        finally:
            event_store.reset(store_token)
            middleware_identifier.reset(middleware_token)


class RegistryEventHandler(BaseEventHandler):
    """The fastapi-events handler that hands each event to our registry, one after another."""

    async def handle(self, event: Event) -> None:
        name, payload = str(event[0]), event[1]
        if name.startswith(_PLAIN_ONLY):
            await listener_registry.deliver(name.removeprefix(_PLAIN_ONLY), payload)
        else:
            await _deliver_now(name, payload)

    async def handle_many(self, events: Any) -> None:
        for item in list(events):
            await self.handle(item)


_background: set[asyncio.Task[None]] = set()


async def _deliver_now(name: str, data: Any) -> None:
    """Plain listeners here; durable ones queued, each in a transaction of its own."""
    for delivery in _durable_deliveries(name, data):
        try:
            await queue_service.push(DeliverEvent, delivery)
        except Exception:
            await logger.a_exception(
                "durable listener could not be queued", event_name=name, **delivery
            )
    await listener_registry.deliver(name, data)


def deliver(event: BaseEvent, *, durable_queued: bool = False) -> None:
    """Hand ``event`` to its listeners now: after the response inside a request, else a task.
    ``durable_queued``: its durable listeners already have their outbox rows."""
    name, data = event.__event_name__, event.model_dump(mode="json")
    if in_req_res_cycle.get():
        fastapi_events_dispatch(
            (_PLAIN_ONLY if durable_queued else "") + name,
            payload=data,
            middleware_id=EVENTS_MIDDLEWARE_ID,
            validate_payload=False,
        )
        return
    run = listener_registry.deliver(name, data) if durable_queued else _deliver_now(name, data)
    task = asyncio.get_running_loop().create_task(run)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def wait_for_background_listeners() -> None:
    """Wait for listeners started outside a request (shutdown, tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


@sa_event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    for pending in session.info.pop(_PENDING_KEY, []):
        deliver(pending, durable_queued=True)


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
        db = self._db
        if db is None or not in_writable_transaction(db):
            deliver(event)
            return
        data = event.model_dump(mode="json")
        for delivery in _durable_deliveries(event.__event_name__, data):
            outbox.add(db, DeliverEvent.__task_name__, delivery)
        db.sync_session.info.setdefault(_PENDING_KEY, []).append(event)


__all__ = [
    "BaseEvent",
    "EventsServiceInterface",
    "FastAPIEventsService",
    "ListenedEvent",
    "Listener",
    "RegisteredListener",
    "listener",
    "wait_for_background_listeners",
]
