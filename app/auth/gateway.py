"""``AuthGateway``: the one door through which other modules call into auth synchronously.

In a route, depend on ``AuthGateway`` (from ``app.auth``); in a listener, a queue task or a
command, open one with ``async with auth_gateway() as auth:`` (its own read-only session).
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from app.auth.schemas.user import UserDTO
from app.auth.services.user import UserService
from app.core.db import ListParams, PaginatedResult
from app.core.deps import unit_of_work


class AuthGatewayInterface(ABC):
    @abstractmethod
    async def get_user(self, user_id: int) -> UserDTO | None:
        """The live user with this id, or ``None``."""

    @abstractmethod
    async def get_users(self, user_ids: Iterable[int]) -> list[UserDTO]:
        """The live users with these ids, in that order, in one query (missing ones left out;
        at most 1,000 ids)."""

    @abstractmethod
    async def get_user_list(self, params: ListParams) -> PaginatedResult[UserDTO]:
        """A page of live users, sorted, filtered and paginated as ``params`` says."""


class AuthGateway(AuthGatewayInterface):
    def __init__(self, user_service: UserService) -> None:
        self._user_service = user_service

    async def get_user(self, user_id: int) -> UserDTO | None:
        user = await self._user_service.find(user_id)
        return UserDTO.model_validate(user) if user is not None else None

    async def get_users(self, user_ids: Iterable[int]) -> list[UserDTO]:
        return [
            UserDTO.model_validate(user) for user in await self._user_service.find_many(user_ids)
        ]

    async def get_user_list(self, params: ListParams) -> PaginatedResult[UserDTO]:
        page = await self._user_service.get_list(params)
        return page.map(UserDTO.model_validate)


@asynccontextmanager
async def auth_gateway() -> AsyncIterator[AuthGatewayInterface]:
    """The gateway outside a request, on a read-only session of its own."""
    async with unit_of_work(read_only=True) as uow:
        yield AuthGateway(UserService(uow.db, uow.events))
