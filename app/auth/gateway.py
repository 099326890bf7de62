"""``AuthGateway``: the one door through which other modules call into auth synchronously."""

from abc import ABC, abstractmethod

from app.auth.schemas.user import UserDTO
from app.auth.services.user import UserService
from app.core.db import ListParams, PaginatedResult


class AuthGatewayInterface(ABC):
    @abstractmethod
    async def get_user(self, user_id: int) -> UserDTO | None:
        """The live user with this id, or ``None``."""

    @abstractmethod
    async def get_user_list(self, params: ListParams) -> PaginatedResult[UserDTO]:
        """A page of live users, sorted, filtered and paginated as ``params`` says."""


class AuthGateway(AuthGatewayInterface):
    def __init__(self, user_service: UserService) -> None:
        self._user_service = user_service

    async def get_user(self, user_id: int) -> UserDTO | None:
        user = await self._user_service.find(user_id)
        return UserDTO.model_validate(user) if user is not None else None

    async def get_user_list(self, params: ListParams) -> PaginatedResult[UserDTO]:
        page = await self._user_service.get_list(params)
        return page.map(UserDTO.model_validate)
