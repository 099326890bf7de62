"""Queue: ``@queued`` task classes run by taskiq workers; ``QueueService.push`` sends them.

Embedded mode (no ``REDIS_URL``) runs tasks inside the API process. With Redis, tasks go to a
Redis stream read by ``python -m app worker`` processes: a task is acknowledged only after it
finished, and one whose worker died is handed to another worker after
``QUEUE_RECLAIM_AFTER_SECONDS``. Delivery is at least once, so tasks must be idempotent.

While Redis is unreachable, pushed tasks wait in a bounded in-process spool and are sent, in
order, once it answers again; workers wait for it and carry on. A process that stops during an
outage loses what its spool still holds (it logs how many).
"""

import asyncio
import contextvars
import random
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import pydantic
from redis.asyncio import Redis
from redis.exceptions import ResponseError
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

from app.core.configs import AppConfig, app_config
from app.core.db.session import DatabaseRole
from app.core.resources import close_resources, open_resources
from app.core.services.heartbeat import Heartbeat, heartbeat_dir
from app.core.services.log import logger
from app.core.services.redis import (
    REDIS_CALL_ERRORS,
    client_options,
    redis_connection,
    redis_unavailable,
)


class BaseTask(ABC):
    """A unit of background work. Subclasses set ``__task_name__`` and implement ``run``.

    A failing run is retried in the same delivery with exponential back-off: ``retry_delay``
    seconds, doubling up to ``max_retry_delay``, ``max_retries`` times.
    """

    __task_name__: ClassVar[str]
    max_retries: ClassVar[int] = 5
    retry_delay: ClassVar[float] = 1.0
    max_retry_delay: ClassVar[float] = 60.0

    @abstractmethod
    async def run(self, **data: Any) -> None:
        """Do the work; ``data`` is what was pushed, as JSON types."""

    async def execute(self, data: Mapping[str, Any]) -> None:
        """Run with retries; raise the last error when every attempt failed."""
        for attempt in range(self.max_retries + 1):
            try:
                await self.run(**data)
                return
            except Exception as error:
                if attempt == self.max_retries:
                    await logger.a_exception(
                        "task failed for good", task=self.__task_name__, attempts=attempt + 1
                    )
                    raise
                delay = min(self.retry_delay * 2**attempt, self.max_retry_delay)
                delay *= 1 + random.random() / 4  # noqa: S311 - jitter, not security
                await logger.a_warning(
                    "task failed, retrying",
                    task=self.__task_name__,
                    attempt=attempt + 1,
                    retry_in=round(delay, 2),
                    error=type(error).__name__,
                )
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
    """Register a ``BaseTask`` subclass with the broker under its ``__task_name__``."""

    async def execute(context: Context = TaskiqDepends(), **data: Any) -> None:
        if not await first_delivery(context.message.task_id):
            await logger.a_info(
                "task already started elsewhere; duplicate skipped",
                task=task_cls.__task_name__,
                task_id=context.message.task_id,
            )
            return
        await task_cls().execute(data)

    execute.__name__ = execute.__qualname__ = task_cls.__name__
    broker.register_task(execute, task_name=task_cls.__task_name__)
    return task_cls


TaskData = Mapping[str, Any] | pydantic.BaseModel


class QueueServiceInterface(ABC):
    @abstractmethod
    async def push(self, task: type[BaseTask] | str, data: TaskData | None = None) -> None:
        """Send ``task`` to the queue with ``data`` as its arguments: JSON types, or a Pydantic
        model (sent as its JSON fields).

        ``task`` is the class, or its ``__task_name__`` where importing the class would point up
        the layers (a service queueing a task of its own module): the name must be registered.
        """


def _task_arguments(data: TaskData | None) -> Mapping[str, Any]:
    if isinstance(data, pydantic.BaseModel):
        dumped: dict[str, Any] = data.model_dump(mode="json")
        return dumped
    return data or {}


class TaskiqQueueService(QueueServiceInterface):
    """Sends tasks to the broker; while Redis is unreachable or silent (a send waits at most
    ``REDIS_TIMEOUT``), keeps them in order in a bounded spool. A task that fails to send for
    another reason raises at once."""

    RETRY_MAX_SECONDS = 5.0

    def __init__(
        self, task_broker: AsyncBroker, spool_size: int = 10_000, send_timeout: float = 2.0
    ) -> None:
        self._broker = task_broker
        self._send_timeout = send_timeout
        self._spool: deque[tuple[str, Mapping[str, Any], str]] = deque()
        self._spool_size = spool_size
        self._flusher: asyncio.Task[None] | None = None

    @property
    def spooled(self) -> int:
        return len(self._spool)

    async def push(self, task: type[BaseTask] | str, data: TaskData | None = None) -> None:
        task_name = task if isinstance(task, str) else task.__task_name__
        if self._broker.find_task(task_name) is None:
            raise LookupError(f"{task_name} is not registered: decorate its class with @queued")
        arguments = _task_arguments(data)
        task_id = uuid.uuid4().hex  # kept when the send is retried: one task, however sent
        if not self._spool and await self._send(task_name, arguments, task_id):
            return
        if len(self._spool) >= self._spool_size:
            dropped, _, _ = self._spool.popleft()
            await logger.a_error("task spool full; dropped the oldest task", task=dropped)
        self._spool.append((task_name, arguments, task_id))
        if self._flusher is None or self._flusher.done():
            await logger.a_warning(
                "task queue unreachable; keeping tasks until it answers", task=task_name
            )
            # Its own context: the flush outlives the request that started it.
            self._flusher = asyncio.create_task(self._flush(), context=contextvars.Context())

    async def _send(self, task_name: str, data: Mapping[str, Any], task_id: str) -> bool:
        registered = self._broker.find_task(task_name)
        if registered is None:
            raise LookupError(f"{task_name} is not registered: decorate it with @queued")
        try:
            async with asyncio.timeout(self._send_timeout):
                await registered.kicker().with_task_id(task_id).kiq(**data)
        except TimeoutError:
            return False  # Redis silent: kept and sent again; a copy that lands is skipped
        except SendTaskError as error:
            if error.__cause__ is not None and redis_unavailable(error.__cause__):
                return False  # worth keeping: Redis will answer again
            raise  # the task itself cannot be sent (its data does not serialize, say)
        return True

    async def _flush(self) -> None:
        delay = 0.1
        while self._spool:
            task_name, data, task_id = self._spool[0]
            try:
                sent = await self._send(task_name, data, task_id)
            except Exception:
                await logger.a_exception("spooled task cannot be sent; dropped", task=task_name)
                sent = True
            if sent:
                self._spool.popleft()
                delay = 0.1
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_MAX_SECONDS)
        await logger.a_info("task queue reachable again; spooled tasks sent")

    async def close(self, wait_seconds: float = 5.0) -> None:
        """Give the spool ``wait_seconds`` to empty; log what is lost."""
        if self._flusher is not None and not self._flusher.done():
            try:
                async with asyncio.timeout(wait_seconds):
                    await asyncio.shield(self._flusher)
            except TimeoutError:
                self._flusher.cancel()
                await logger.a_error(
                    "queue unreachable at shutdown; tasks lost", count=self.spooled
                )
        self._flusher = None


queue_service = TaskiqQueueService(broker, send_timeout=app_config.REDIS_TIMEOUT)
worker_heartbeat = Heartbeat(heartbeat_dir(app_config))


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _open_worker_resources(_state: TaskiqState) -> None:
    await open_resources(DatabaseRole.WORKER if broker.is_worker_process else DatabaseRole.API)
    if broker.is_worker_process:
        await worker_heartbeat.start()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _close_worker_resources(_state: TaskiqState) -> None:
    if broker.is_worker_process:
        await worker_heartbeat.stop()
    await queue_service.close()
    await close_resources()


__all__ = [
    "BaseTask",
    "QueueServiceInterface",
    "TaskData",
    "queue_service",
    "queued",
]
