"""Cache: ``CacheService`` for arbitrary values and ``@cached`` for path operations (aiocache).

Values are stored as JSON with tags for dates, times, UUIDs, decimals and sets, never pickled:
whoever can write to Redis must not be able to run code here. When Redis fails, reads are misses
and writes are dropped with a warning; the request carries on.
"""

import functools
import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

import pydantic
from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer
from redis.exceptions import RedisError

from app.core.configs import AppConfig, app_config
from app.core.services.log import logger

P = ParamSpec("P")
R = TypeVar("R")

_TAG = "__cache_type__"
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "uuid": UUID,
    "decimal": Decimal,
    "set": set,
}
_MISSING: Any = object()


def _encode(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, UUID):
        return {_TAG: "uuid", "value": str(value)}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "value": str(value)}
    if isinstance(value, set | frozenset):
        return {_TAG: "set", "value": list(value)}
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} cannot be cached")


def _decode(obj: dict[str, Any]) -> Any:
    tag = obj.get(_TAG)
    if isinstance(tag, str) and tag in _DECODERS and set(obj) == {_TAG, "value"}:
        return _DECODERS[tag](obj["value"])
    return obj


class TaggedJsonSerializer(BaseSerializer):  # type: ignore[misc]
    """JSON that brings dates, times, UUIDs, decimals and sets back as themselves."""

    DEFAULT_ENCODING = "utf-8"

    def dumps(self, value: Any) -> str:
        return json.dumps(value, default=_encode, separators=(",", ":"))

    def loads(self, value: str | bytes | None) -> Any:
        if value is None:
            return None
        return json.loads(value, object_hook=_decode)


def build_cache(config: AppConfig) -> BaseCache:
    """Redis when ``REDIS_URL`` is set, else process memory; same serializer either way."""
    options: dict[str, Any] = {
        "serializer": TaggedJsonSerializer(),
        "namespace": config.CACHE_NAMESPACE,
        "timeout": config.REDIS_TIMEOUT,
    }
    if not config.REDIS_URL:
        return SimpleMemoryCache(**options)
    url = urlsplit(config.REDIS_URL)
    return RedisCache(
        endpoint=url.hostname or "127.0.0.1",
        port=url.port or 6379,
        db=int(url.path.lstrip("/") or 0),
        password=unquote(url.password) if url.password else None,
        ssl=url.scheme == "rediss",
        create_connection_timeout=config.REDIS_TIMEOUT,
        connection_pool_kwargs={"socket_timeout": config.REDIS_TIMEOUT},
        **options,
    )


class CacheServiceInterface(ABC):
    @abstractmethod
    async def get(self, key: str, default: Any = None, *, as_type: Any = None) -> Any:
        """The cached value, validated into ``as_type`` when given, or ``default``."""

    @abstractmethod
    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: until evicted)."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget ``key``."""


_BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


class AiocacheService(CacheServiceInterface):
    """``CacheServiceInterface`` on an aiocache backend, tolerant of backend outages."""

    def __init__(self, cache: BaseCache) -> None:
        self._cache = cache

    def use(self, cache: BaseCache) -> None:
        self._cache = cache

    async def close(self) -> None:
        await self._cache.close()

    async def get(self, key: str, default: Any = None, *, as_type: Any = None) -> Any:
        try:
            stored = await self._cache.get(key)
        except _BACKEND_ERRORS as error:
            await logger.a_warning("cache read failed", key=key, error=type(error).__name__)
            return default
        if not isinstance(stored, list) or len(stored) != 1:
            return default
        value = stored[0]
        return pydantic.TypeAdapter(as_type).validate_python(value) if as_type else value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        try:
            await self._cache.set(key, [value], ttl=ttl)
        except _BACKEND_ERRORS as error:
            await logger.a_warning("cache write failed", key=key, error=type(error).__name__)

    async def delete(self, key: str) -> None:
        try:
            await self._cache.delete(key)
        except _BACKEND_ERRORS as error:
            await logger.a_warning("cache delete failed", key=key, error=type(error).__name__)


cache_service = AiocacheService(build_cache(app_config))

_KEY_TYPES = (str, int, float, bool, type(None), Enum, date, time, UUID, Decimal)


def default_key_builder(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """``module.function:sha256`` of the plain arguments; injected objects are left out."""
    plain = {
        name: value.model_dump(mode="json") if isinstance(value, pydantic.BaseModel) else value
        for name, value in kwargs.items()
        if isinstance(value, (*_KEY_TYPES, pydantic.BaseModel))
    }
    positional = [value for value in args if isinstance(value, _KEY_TYPES)]
    digest = hashlib.sha256(
        json.dumps([positional, plain], default=str, sort_keys=True).encode()
    ).hexdigest()
    return f"{func.__module__}.{func.__qualname__}:{digest}"


def cached(
    ttl: float | None = 60, key_builder: Callable[..., str] | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Cache a coroutine's result, e.g. a path operation's response, for ``ttl`` seconds.

    The return annotation is used to store and rebuild the result, so Pydantic models and dates
    come back as themselves. FastAPI still sees the original signature.
    """

    def decorator(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        annotation = inspect.signature(func, eval_str=True).return_annotation
        typed = annotation not in (inspect.Signature.empty, None, Any)
        adapter: pydantic.TypeAdapter[Any] | None = (
            pydantic.TypeAdapter(annotation) if typed else None
        )
        build_key = key_builder or default_key_builder

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            key = build_key(func, *args, **kwargs)
            hit = await cache_service.get(key, _MISSING)
            if hit is not _MISSING:
                return adapter.validate_python(hit) if adapter else hit  # type: ignore[no-any-return]
            result = await func(*args, **kwargs)
            stored = adapter.dump_python(result, mode="json") if adapter else result
            await cache_service.set(key, stored, ttl=ttl)
            return result

        return wrapper

    return decorator
