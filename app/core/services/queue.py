"""Queue: ``@queued`` task classes run by taskiq workers; ``QueueService.push`` sends them.

Embedded mode (no ``REDIS_URL``) runs tasks inside the API process. With Redis, tasks go to a
Redis stream read by ``python -m app worker`` processes: a task is acknowledged only after it
finished, and one whose worker died is handed to another worker after
``QUEUE_RECLAIM_AFTER_SECONDS``. Delivery is at least once, so tasks must be idempotent.
"""

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar, TypeVar

from redis.asyncio import Redis
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqState
from taskiq_redis import RedisStreamBroker

from app.core.configs import AppConfig, app_config
from app.core.resources import close_resources, open_resources
from app.core.services.log import logger


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


class ReclaimingRedisStreamBroker(RedisStreamBroker):
    """A stream broker that also reclaims abandoned tasks when no new tasks arrive.

    taskiq-redis only looks for unacknowledged messages after reading new ones, so a task whose
    worker died would wait for fresh traffic. This reclaims after every read, empty or not.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                fetched: Any = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    noack=False,
                    count=self.count,
                )
                for stream, messages in fetched or []:
                    for message_id, message in messages:
                        yield self._ackable(
                            redis_stream=stream, message_id=message_id, body=message
                        )
                reclaimed: Any = await redis.xautoclaim(
                    name=self.queue_name,
                    groupname=self.consumer_group_name,
                    consumername=self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
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

    def _ackable(self, redis_stream: Any, message_id: Any, body: Any) -> AckableMessage:
        return AckableMessage(
            data=body[b"data"],
            ack=self._ack_generator(id=message_id, queue_name=redis_stream),
        )


def create_broker(config: AppConfig) -> AsyncBroker:
    """In-process broker without Redis, a Redis stream broker with it."""
    if not config.REDIS_URL:
        return InMemoryBroker()
    return ReclaimingRedisStreamBroker(
        config.REDIS_URL,
        queue_name=config.QUEUE_NAME,
        consumer_group_name=f"{config.QUEUE_NAME}-workers",
        idle_timeout=config.QUEUE_RECLAIM_AFTER_SECONDS * 1000,
        xread_block=1000,
        socket_timeout=None,
        socket_connect_timeout=config.REDIS_TIMEOUT,
    )


broker = create_broker(app_config)

TaskT = TypeVar("TaskT", bound=type[BaseTask])


def queued(task_cls: TaskT) -> TaskT:
    """Register a ``BaseTask`` subclass with the broker under its ``__task_name__``."""

    async def execute(**data: Any) -> None:
        await task_cls().execute(data)

    execute.__name__ = execute.__qualname__ = task_cls.__name__
    broker.register_task(execute, task_name=task_cls.__task_name__)
    return task_cls


class QueueServiceInterface(ABC):
    @abstractmethod
    async def push(self, task: type[BaseTask], data: Mapping[str, Any] | None = None) -> None:
        """Send ``task`` to the queue with ``data`` (JSON types) as its arguments."""


class TaskiqQueueService(QueueServiceInterface):
    def __init__(self, task_broker: AsyncBroker) -> None:
        self._broker = task_broker

    async def push(self, task: type[BaseTask], data: Mapping[str, Any] | None = None) -> None:
        registered = self._broker.find_task(task.__task_name__)
        if registered is None:
            raise LookupError(f"{task.__name__} is not registered: decorate it with @queued")
        await registered.kiq(**(data or {}))


queue_service = TaskiqQueueService(broker)


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _open_worker_resources(_state: TaskiqState) -> None:
    await open_resources()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _close_worker_resources(_state: TaskiqState) -> None:
    await close_resources()
