"""Queue: ``@queued`` task classes run by taskiq workers; ``QueueService.push`` queues them.

``push`` writes the task to the outbox table (``app.core.services.outbox``) in the caller's
transaction; it reaches the broker after that transaction commits, never on rollback, and a
task the broker could not take yet (Redis down, the process killed) waits in the database until
a sweeper relays it. Embedded mode (no ``REDIS_URL``) runs tasks inside the API process. With
Redis, tasks go to a Redis stream read by ``python -m app worker`` processes: a task is
acknowledged only after it finished, and one whose worker died is handed to another worker after
``QUEUE_RECLAIM_AFTER_SECONDS``. Delivery is at least once, so tasks must be idempotent.
"""

import asyncio
import contextvars
import json
import random
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import pydantic
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import (
    AckableMessage,
    AsyncBroker,
    Context,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqState,
)
from taskiq.exceptions import SendTaskError
from taskiq_redis import RedisStreamBroker

from app import __version__
from app.core.api.health import HealthWarning
from app.core.configs import AppConfig, app_config
from app.core.db import DatabaseRole, database
from app.core.db.counts import AppSession
from app.core.db.session import in_writable_transaction
from app.core.resources import close_resources, open_resources
from app.core.services import metrics
from app.core.services.error_reporting import configure_error_reporting, report_error
from app.core.services.heartbeat import Heartbeat, heartbeat_dir
from app.core.services.log import logger
from app.core.services.metrics import configure_metrics, start_worker_endpoint
from app.core.services.outbox import Envelope, Outbox, Sender, sweep_forever
from app.core.services.redis import (
    REDIS_CALL_ERRORS,
    client_options,
    redis_connection,
    redis_unavailable,
)
from app.core.services.tracing import configure_tracing, task_span
from app.core.services.tracing import flush as flush_traces

# Retries that wait longer than this go back to the queue (through the outbox) instead of
# keeping a worker slot and the delivery busy while they wait.
INLINE_RETRY_MAX_SECONDS = 5.0
# Share of QUEUE_RECLAIM_AFTER_SECONDS one delivery may use; the rest covers acknowledging it.
DELIVERY_SHARE = 0.8


TaskOutcome = Literal["done", "requeued"]


def delivery_budget() -> float:
    """Seconds one delivery may run before another worker could reclaim it and run it again."""
    return app_config.QUEUE_RECLAIM_AFTER_SECONDS * DELIVERY_SHARE


class BaseTask(ABC):
    """A unit of background work. Subclasses set ``__task_name__`` and implement ``run``.

    Each attempt may run ``timeout`` seconds. A failing attempt is retried with exponential
    back-off (``retry_delay`` seconds, doubling up to ``max_retry_delay``, ``max_retries``
    times): a short wait within the same delivery, a longer one as a new delivery queued for
    later. No delivery outlives ``QUEUE_RECLAIM_AFTER_SECONDS`` (after which another worker would
    start the task again): attempts are cut to fit it, and a retry that would not fit is queued.
    """

    __task_name__: ClassVar[str]
    max_retries: ClassVar[int] = 5
    retry_delay: ClassVar[float] = 1.0
    max_retry_delay: ClassVar[float] = 60.0
    timeout: ClassVar[float] = 60.0

    @abstractmethod
    async def run(self, **data: Any) -> None:
        """Do the work; ``data`` is what was pushed, as JSON types."""

    @classmethod
    def attempt_timeout(cls) -> float:
        return min(cls.timeout, delivery_budget())

    async def execute(self, data: Mapping[str, Any], attempt: int = 0) -> TaskOutcome:
        """Run from attempt ``attempt`` on: ``"done"``, or ``"requeued"`` when a retry was
        queued for later; raise the last error when every attempt failed."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            try:
                async with asyncio.timeout(self.attempt_timeout()):
                    await self.run(**data)
                return "done"
            except Exception as error:
                if attempt >= self.max_retries:
                    await logger.a_exception(
                        "task failed for good", task=self.__task_name__, attempts=attempt + 1
                    )
                    raise
                delay = min(self.retry_delay * 2**attempt, self.max_retry_delay)
                delay *= 1 + random.random() / 4  # noqa: S311 - jitter, not security
                attempt += 1
                await logger.a_warning(
                    "task failed, retrying",
                    task=self.__task_name__,
                    attempt=attempt,
                    retry_in=round(delay, 2),
                    error=type(error).__name__,
                )
                elapsed = loop.time() - started
                fits = elapsed + delay + self.attempt_timeout() < delivery_budget()
                if delay > INLINE_RETRY_MAX_SECONDS or not fits:
                    await queue_service.push(self.__task_name__, data, delay=delay, attempt=attempt)
                    return "requeued"
                await asyncio.sleep(delay)


OUTAGE_MAX_WAIT_SECONDS = 5.0
# How long a worker's read waits for new tasks before it looks for abandoned ones.
READ_BLOCK_MS = 1000


class ReclaimingRedisStreamBroker(RedisStreamBroker):
    """A stream broker that reclaims abandoned tasks and rides out Redis outages.

    taskiq-redis only looks for unacknowledged messages after reading new ones, so a task whose
    worker died would wait for fresh traffic: this reclaims after every read, empty or not. When
    Redis is unreachable or silent (every call has a socket timeout), start-up, reads and
    acknowledgements wait and retry on a new connection instead of ending or blocking the
    worker, and a consumer group lost with Redis's data is declared again.
    """

    async def startup(self) -> None:
        """Declare the consumer group: workers wait for Redis, the API starts without it."""
        if self.is_worker_process:
            await self._until_redis_answers(self._declare_consumer_group)
        else:
            try:
                await self._declare_consumer_group()
            except REDIS_CALL_ERRORS as error:
                if not redis_unavailable(error):
                    raise
                await logger.a_warning("Redis unavailable at start-up", error=type(error).__name__)
        await AsyncBroker.startup(self)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                try:
                    fetched, reclaimed = await self._fetch(redis)
                except ResponseError as error:
                    if "NOGROUP" not in str(error):
                        raise
                    await logger.a_warning("task queue was lost; declaring its group again")
                    await self._until_redis_answers(self._declare_consumer_group)
                    continue
                except REDIS_CALL_ERRORS as error:
                    if not redis_unavailable(error):
                        raise
                    await logger.a_warning(
                        "Redis unavailable; reconnecting", error=type(error).__name__
                    )
                    await self._until_redis_answers(redis.ping)
                    await logger.a_info("Redis answering again; reading tasks")
                    continue
                for stream, messages in fetched or []:
                    for message_id, message in messages:
                        yield self._ackable(
                            redis_stream=stream, message_id=message_id, body=message
                        )
                for message_id, message in reclaimed[1]:
                    if not message:  # deleted from the stream meanwhile
                        continue
                    await logger.a_warning(
                        "reclaimed an abandoned task", message_id=str(message_id)
                    )
                    yield self._ackable(
                        redis_stream=self.queue_name, message_id=message_id, body=message
                    )

    async def _fetch(self, redis: Redis) -> tuple[Any, Any]:
        fetched = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            block=self.block,
            noack=False,
            count=self.count,
        )
        reclaimed = await redis.xautoclaim(
            name=self.queue_name,
            groupname=self.consumer_group_name,
            consumername=self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        return fetched, reclaimed

    @staticmethod
    async def _until_redis_answers(call: Callable[[], Awaitable[Any]]) -> None:
        delay = 0.1
        while True:
            try:
                await call()
                return
            except REDIS_CALL_ERRORS as error:
                if not redis_unavailable(error):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, OUTAGE_MAX_WAIT_SECONDS)

    def _ackable(self, redis_stream: Any, message_id: Any, body: Any) -> AckableMessage:
        return AckableMessage(data=body[b"data"], ack=self._safe_ack(message_id, redis_stream))

    def _safe_ack(self, message_id: Any, stream: Any) -> Callable[[], Awaitable[None]]:
        """An unacknowledged task is handed out again later, which idempotent tasks allow:
        a failed acknowledgement is logged, never fatal to the worker."""
        ack = self._ack_generator(id=message_id, queue_name=stream)

        async def safe_ack() -> None:
            try:
                await ack()
            except REDIS_CALL_ERRORS as error:
                if not redis_unavailable(error):
                    raise
                await logger.a_warning(
                    "task done but not acknowledged; it may run again",
                    message_id=str(message_id),
                    error=type(error).__name__,
                )

        return safe_ack


def create_broker(config: AppConfig) -> AsyncBroker:
    """In-process broker without Redis, a Redis stream broker with it."""
    if not config.REDIS_URL:
        return InMemoryBroker()
    return ReclaimingRedisStreamBroker(
        config.REDIS_URL,
        queue_name=config.QUEUE_NAME,
        consumer_group_name=f"{config.QUEUE_NAME}-workers",
        idle_timeout=config.QUEUE_RECLAIM_AFTER_SECONDS * 1000,
        # A group declared after tasks were pushed (first start, Redis restarted) reads them.
        consumer_id="0",
        xread_block=READ_BLOCK_MS,
        **client_options(config, read_timeout=config.REDIS_TIMEOUT + READ_BLOCK_MS / 1000),
    )


broker = create_broker(app_config)

TaskT = TypeVar("TaskT", bound=type[BaseTask])


async def first_delivery(task_id: str) -> bool:
    """Whether this delivery of ``task_id`` is the first to start within the reclaim window.

    A send that timed out is sent again, and the first copy may still reach Redis: the second
    copy to start is skipped. A copy reclaimed after its worker died starts after the window,
    so it runs. Without Redis, or when it fails, every delivery runs (at least once).
    """
    if not redis_connection.connected:
        return True
    try:
        claimed = await redis_connection.client.set(
            f"{app_config.QUEUE_NAME}:started:{task_id}",
            1,
            nx=True,
            # Gone before the window ends: a copy reclaimed from a dead worker runs.
            ex=max(1, app_config.QUEUE_RECLAIM_AFTER_SECONDS - 1),
        )
    except REDIS_CALL_ERRORS as error:
        if not redis_unavailable(error):
            raise
        return True
    return bool(claimed)


def queued(task_cls: TaskT) -> TaskT:
    """Register a ``BaseTask`` subclass with the broker under its ``__task_name__``.

    A ``timeout`` longer than a delivery may last (a share of QUEUE_RECLAIM_AFTER_SECONDS) is
    cut to fit, with a warning: past it, another worker would run the task a second time.
    """
    if task_cls.timeout > delivery_budget():
        logger.warning(
            "task timeout cut to fit QUEUE_RECLAIM_AFTER_SECONDS",
            task=task_cls.__task_name__,
            timeout=task_cls.timeout,
            cut_to=round(delivery_budget(), 2),
            reclaim_after=app_config.QUEUE_RECLAIM_AFTER_SECONDS,
        )

    async def execute(context: Context = TaskiqDepends(), **data: Any) -> None:
        if not await first_delivery(context.message.task_id):
            await logger.a_info(
                "task already started elsewhere; duplicate skipped",
                task=task_cls.__task_name__,
                task_id=context.message.task_id,
            )
            return
        message = context.message
        attempt = int(message.labels.get("attempt", 0))
        started = time.perf_counter()
        outcome = "failed"
        try:
            with task_span(task_cls.__task_name__, message.task_id, message.labels):
                outcome = await task_cls().execute(data, attempt)
        except Exception as error:
            report_error(error)
            raise
        finally:
            metrics.observe_task(task_cls.__task_name__, outcome, time.perf_counter() - started)
            await outbox.done(message.task_id)

    execute.__name__ = execute.__qualname__ = task_cls.__name__
    broker.register_task(execute, task_name=task_cls.__task_name__)
    return task_cls


TaskData = Mapping[str, Any] | pydantic.BaseModel


class QueueServiceInterface(ABC):
    @abstractmethod
    async def push(
        self,
        task: type[BaseTask] | str,
        data: TaskData | None = None,
        *,
        delay: float = 0.0,
        attempt: int = 0,
    ) -> None:
        """Queue ``task`` with ``data`` as its arguments: JSON types, or a Pydantic model (sent
        as its JSON fields); ``delay`` seconds from now if given. ``attempt`` counts the tries
        already made (a retry queued by ``BaseTask`` sets it).

        ``task`` is the class, or its ``__task_name__`` where importing the class would point up
        the layers (a service queueing a task of its own module): the name must be registered.
        """


def _task_arguments(data: TaskData | None) -> dict[str, Any]:
    if isinstance(data, pydantic.BaseModel):
        dumped: dict[str, Any] = data.model_dump(mode="json")
        return dumped
    arguments = dict(data or {})
    json.dumps(arguments)  # TypeError now, in the caller, for what cannot be stored
    return arguments


class OutboxQueueService(QueueServiceInterface):
    """Queues tasks through the outbox.

    Bound to a session (the ``QueueService`` dependency, ``unit_of_work().queue``) with a
    transaction open: the task is written in that transaction and sent after it commits;
    dropped if it rolls back. Otherwise (``queue_service`` in a command, a worker or a
    listener; a session with no transaction open, or a read-only one): the task is sent to the
    broker at once, and only when the broker does not take it is it written and committed to
    the outbox, for the sweeper. Either way, once ``push`` returned, the task is not lost.
    """

    def __init__(
        self, outbox: Outbox, session: Callable[[], AsyncSession | None] = lambda: None
    ) -> None:
        self._outbox = outbox
        self._session = session

    def bound(self, db: AsyncSession) -> "OutboxQueueService":
        """This service, writing in ``db``'s transactions."""
        return OutboxQueueService(self._outbox, lambda: db)

    def bound_later(self, session: Callable[[], AsyncSession | None]) -> "OutboxQueueService":
        """This service, writing in the transactions of the session ``session()`` returns when
        a task is pushed (a request's, if the request opened one by then)."""
        return OutboxQueueService(self._outbox, session)

    async def push(
        self,
        task: type[BaseTask] | str,
        data: TaskData | None = None,
        *,
        delay: float = 0.0,
        attempt: int = 0,
    ) -> None:
        task_name = task if isinstance(task, str) else task.__task_name__
        if broker.find_task(task_name) is None:
            raise LookupError(f"{task_name} is not registered: decorate its class with @queued")
        arguments = _task_arguments(data)
        metrics.count_push(task_name)
        db = self._session()
        if db is not None and in_writable_transaction(db):
            self._outbox.add(db, task_name, arguments, delay=delay, attempt=attempt)
            return
        task_id = uuid.uuid4().hex
        if delay <= 0 and await self._outbox.send_now(task_name, arguments, task_id):
            return
        async with database.session() as db:  # kept until the broker takes it
            self._outbox.add(
                db,
                task_name,
                arguments,
                delay=delay,
                attempt=attempt,
                task_id=task_id,
                # Sent after the commit, unless the broker just refused it (the sweeper then).
                relay=self._outbox.lease_seconds is not None,
            )
            await db.commit()


def broker_sender(task_broker: AsyncBroker, timeout: float) -> Sender:
    """Hands one outbox row to ``task_broker`` within ``timeout`` seconds; answers False when
    Redis is unreachable or silent (a send that timed out may still arrive: the task id makes
    the second copy a no-op)."""

    async def send(envelope: Envelope) -> bool:
        registered = task_broker.find_task(envelope.task_name)
        if registered is None:
            raise LookupError(f"{envelope.task_name} is not registered")
        try:
            async with asyncio.timeout(timeout):
                await (
                    registered.kicker()
                    .with_task_id(envelope.task_id)
                    .with_labels(**envelope.labels, attempt=envelope.attempt)
                    .kiq(**envelope.arguments)
                )
        except TimeoutError:
            return False
        except SendTaskError as error:
            if error.__cause__ is not None and redis_unavailable(error.__cause__):
                return False
            raise
        return True

    return send


outbox = Outbox(
    grace_seconds=app_config.OUTBOX_RELAY_AFTER_SECONDS,
    # In-process tasks: rows stay until their task is done (the worker reclaims them on Redis).
    lease_seconds=app_config.QUEUE_RECLAIM_AFTER_SECONDS
    if isinstance(broker, InMemoryBroker)
    else None,
)
outbox.use(broker_sender(broker, app_config.REDIS_TIMEOUT))
AppSession.after_commit.append(outbox.relay_committed)
queue_service = OutboxQueueService(outbox)
metrics.read_outbox_with(outbox.state)
worker_heartbeat = Heartbeat(heartbeat_dir(app_config))


class _Sweeper:
    task: asyncio.Task[None] | None = None


def start_sweeper() -> None:
    """Relay what the outbox still holds every ``OUTBOX_SWEEP_SECONDS`` (0: never)."""
    if app_config.OUTBOX_SWEEP_SECONDS > 0 and _Sweeper.task is None:
        _Sweeper.task = asyncio.create_task(
            sweep_forever(outbox, app_config.OUTBOX_SWEEP_SECONDS), context=contextvars.Context()
        )


async def stop_sweeper() -> None:
    task, _Sweeper.task = _Sweeper.task, None
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def outbox_check() -> HealthWarning | None:
    """Readiness: a warning while tasks wait longer than ``OUTBOX_WARN_AFTER_SECONDS``. The
    database check reports a database that does not answer; this one then only warns."""
    try:
        state = await outbox.state()
    except Exception as error:
        return HealthWarning(f"unknown ({type(error).__name__})")
    if state.oldest_seconds > app_config.OUTBOX_WARN_AFTER_SECONDS:
        await logger.a_warning(
            "tasks wait in the outbox",
            depth=state.depth,
            oldest_seconds=round(state.oldest_seconds),
        )
        return HealthWarning(
            f"{state.depth} tasks waiting, the oldest for {state.oldest_seconds:.0f} s"
        )
    return None


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _open_worker_resources(_state: TaskiqState) -> None:
    if broker.is_worker_process:
        configure_metrics(app_config)
        configure_tracing(app_config)
        configure_error_reporting(app_config, __version__)
        if app_config.METRICS_ENABLED:
            await asyncio.to_thread(start_worker_endpoint, app_config)
    await open_resources(DatabaseRole.WORKER if broker.is_worker_process else DatabaseRole.API)
    if broker.is_worker_process:
        await worker_heartbeat.start()
    if broker.is_worker_process or isinstance(broker, InMemoryBroker):
        start_sweeper()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _close_worker_resources(_state: TaskiqState) -> None:
    await stop_sweeper()
    if broker.is_worker_process:
        await worker_heartbeat.stop()
    await close_resources()
    if broker.is_worker_process:
        await asyncio.to_thread(flush_traces)


__all__ = [
    "BaseTask",
    "QueueServiceInterface",
    "TaskData",
    "queue_service",
    "queued",
]
