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
from typing import Any, ParamSpec, Protocol, TypeVar
from uuid import UUID

import pydantic
from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer
from redis.asyncio import Redis

from app.core.configs import AppConfig, app_config
from app.core.services import metrics
from app.core.services.redis import (
    REDIS_CALL_ERRORS,
    OptionalRedis,
    carry_on_without_redis,
    client_options,
    optional_redis,
)

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


class ClientRedisCache(RedisCache):  # type: ignore[misc]
    """aiocache's Redis backend on a given client, closed with the cache only if ``owned``."""

    def __init__(self, client: Redis, *, owned: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self._owned = owned

    async def _close(self, *args: Any, **kwargs: Any) -> None:
        if self._owned:
            await self.client.aclose()


def build_cache(config: AppConfig, client: Redis | None = None) -> BaseCache:
    """Process memory without ``REDIS_URL``; with it, Redis through ``client`` (the shared one,
    once the lifespan connected it) or a client of its own. Same serializer either way; calls
    are bounded by ``optional_redis``, not by aiocache."""
    options: dict[str, Any] = {
        "serializer": TaggedJsonSerializer(),
        "namespace": config.CACHE_NAMESPACE,
        "timeout": 0,
    }
    if not config.REDIS_URL:
        return SimpleMemoryCache(**options)
    if client is not None:
        return ClientRedisCache(client, owned=False, **options)
    own = Redis.from_url(config.REDIS_URL, **client_options(config))
    return ClientRedisCache(own, owned=True, **options)


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

    async def replace(self, key: str, value: Any) -> None:
        """Store ``value`` with no expiry, for a key whose old value must not outlive a change
        (a version stamp). Like ``set`` unless the backend can lose writes."""
        await self.set(key, value)


class AiocacheService(CacheServiceInterface):
    """``CacheServiceInterface`` on an aiocache backend, tolerant of backend outages.

    On Redis, reads and writes run through ``optional_redis``: a failing or slow Redis makes
    them misses and dropped writes, within the request's Redis budget. Deletes and replacements
    are kept while Redis fails and sent once it answers.
    """

    def __init__(self, cache: BaseCache, redis: OptionalRedis = optional_redis) -> None:
        self._cache = cache
        self._redis = redis

    def use(self, cache: BaseCache) -> None:
        self._cache = cache

    async def close(self) -> None:
        await self._cache.close()

    async def _run(self, operation: Callable[[], Awaitable[R]]) -> R:
        if isinstance(self._cache, RedisCache):
            return await self._redis.call(operation)
        return await operation()

    async def get(self, key: str, default: Any = None, *, as_type: Any = None) -> Any:
        try:
            stored = await self._run(lambda: self._cache.get(key))
        except REDIS_CALL_ERRORS as error:
            await carry_on_without_redis(error, "cache read failed", key=key)
            return default
        if not isinstance(stored, list) or len(stored) != 1:
            metrics.count_cache_lookup(hit=False)
            return default
        metrics.count_cache_lookup(hit=True)
        value = stored[0]
        return pydantic.TypeAdapter(as_type).validate_python(value) if as_type else value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        try:
            await self._run(lambda: self._cache.set(key, [value], ttl=ttl))
        except REDIS_CALL_ERRORS as error:
            await carry_on_without_redis(error, "cache write failed", key=key)

    async def delete(self, key: str) -> None:
        await self._must_land(key, lambda: self._cache.delete(key))

    async def replace(self, key: str, value: Any) -> None:
        await self._must_land(key, lambda: self._cache.set(key, [value]))

    async def clear(self) -> None:
        """Forget every entry of this cache's namespace (tests, maintenance)."""
        await self._cache.clear(namespace=self._cache.namespace)

    async def _must_land(self, key: str, operation: Callable[[], Awaitable[Any]]) -> None:
        if isinstance(self._cache, RedisCache):
            await self._redis.invalidate(f"cache:{key}", operation)
            return
        await operation()


cache_service = AiocacheService(build_cache(app_config))

_KEY_TYPES = (str, int, float, bool, type(None), Enum, date, time, UUID, Decimal)


@functools.lru_cache(maxsize=512)
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


def _call_arguments(func: Callable[..., Any], args: Any, kwargs: Any) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults included: a call spelled
    ``f(5)``, ``f(post_id=5)`` or ``f(5, lang="en")`` (the default) names the same entry."""
    try:
        bound = _signature(func).bind_partial(*args, **kwargs)
    except TypeError:
        return {**{str(index): value for index, value in enumerate(args)}, **kwargs}
    bound.apply_defaults()
    arguments: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            arguments[f"*{name}"] = list(value)
        else:
            arguments[name] = value
    return arguments


def _plain(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [item for item in value if isinstance(item, _KEY_TYPES)]
    return value


def default_key_builder(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """``module.function:sha256`` of the plain arguments (defaults included); injected objects
    are left out."""
    plain = {
        name: _plain(value)
        for name, value in _call_arguments(func, args, kwargs).items()
        if isinstance(value, (*_KEY_TYPES, pydantic.BaseModel, list))
    }
    digest = hashlib.sha256(json.dumps(plain, default=str, sort_keys=True).encode()).hexdigest()
    return f"{func.__module__}.{func.__qualname__}:{digest}"


class CachedFunction(Protocol[P, R]):
    """A function wrapped by ``@cached``: call it as before; ``invalidate`` forgets an entry."""

    __wrapped__: Callable[P, Awaitable[R]]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]: ...

    async def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Forget the entry of the call with these plain arguments (injected ones left out)."""


def cached(
    ttl: float | None = 60, key_builder: Callable[..., str] | None = None
) -> Callable[[Callable[P, Awaitable[R]]], CachedFunction[P, R]]:
    """Cache a coroutine's result, e.g. a path operation's response, for ``ttl`` seconds.

    The return annotation is used to store and rebuild the result, so Pydantic models and dates
    come back as themselves. FastAPI still sees the original signature. After a change, call
    ``await the_function.invalidate(post_id=5)`` with the plain arguments of the call to forget
    (arguments left out take their defaults, injected ones do not matter).
    """

    def decorator(func: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
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

        async def invalidate(*args: Any, **kwargs: Any) -> None:
            await cache_service.delete(build_key(func, *args, **kwargs))

        wrapper.invalidate = invalidate  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


__all__ = [
    "CacheServiceInterface",
    "CachedFunction",
    "cache_service",
    "cached",
]
