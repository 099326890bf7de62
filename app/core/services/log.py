"""The ``logger`` service: structlog with sync methods and ``a_``-prefixed async twins."""

from abc import ABC, abstractmethod
from typing import Any

import structlog


class LogServiceInterface(ABC):
    @abstractmethod
    def debug(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    def info(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    def warning(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    def error(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    def exception(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    async def a_debug(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    async def a_info(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    async def a_warning(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    async def a_error(self, event: str, **kwargs: Any) -> None: ...

    @abstractmethod
    async def a_exception(self, event: str, **kwargs: Any) -> None: ...


class StructlogLogService(LogServiceInterface):
    """Writes through structlog; the async methods format and write in a worker thread."""

    def __init__(self, name: str = "app") -> None:
        self._logger = structlog.get_logger(logger_name=name)

    def debug(self, event: str, **kwargs: Any) -> None:
        self._logger.debug(event, **kwargs)

    def info(self, event: str, **kwargs: Any) -> None:
        self._logger.info(event, **kwargs)

    def warning(self, event: str, **kwargs: Any) -> None:
        self._logger.warning(event, **kwargs)

    def error(self, event: str, **kwargs: Any) -> None:
        self._logger.error(event, **kwargs)

    def exception(self, event: str, **kwargs: Any) -> None:
        self._logger.exception(event, **kwargs)

    async def a_debug(self, event: str, **kwargs: Any) -> None:
        await self._logger.adebug(event, **kwargs)

    async def a_info(self, event: str, **kwargs: Any) -> None:
        await self._logger.ainfo(event, **kwargs)

    async def a_warning(self, event: str, **kwargs: Any) -> None:
        await self._logger.awarning(event, **kwargs)

    async def a_error(self, event: str, **kwargs: Any) -> None:
        await self._logger.aerror(event, **kwargs)

    async def a_exception(self, event: str, **kwargs: Any) -> None:
        await self._logger.aexception(event, **kwargs)


logger: LogServiceInterface = StructlogLogService()

__all__ = [
    "LogServiceInterface",
    "logger",
]
