from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.gateway import AuthGateway
from app.auth.schemas.user import UserDTO, UserListParams, UserSortParam
from app.auth.services.user import UserService
from app.core.db import utcnow
from app.core.services.events import FastAPIEventsService
from tests.auth.factories.user import UserFactory


def gateway(db: AsyncSession) -> AuthGateway:
    return AuthGateway(UserService(db, FastAPIEventsService(db)))


async def test_get_user_returns_a_dto_or_none(db: AsyncSession) -> None:
    user = await UserFactory.create()
    deleted = await UserFactory.create(deleted_at=utcnow())

    dto = await gateway(db).get_user(user.id)

    assert isinstance(dto, UserDTO)
    assert (dto.id, dto.email, dto.username) == (user.id, user.email, user.username)
    assert await gateway(db).get_user(deleted.id) is None
    assert await gateway(db).get_user(987654) is None


async def test_get_user_list_pages_dtos(db: AsyncSession) -> None:
    for name in ("zed", "amy", "kim"):
        await UserFactory.create(username=name)

    page = await gateway(db).get_user_list(
        UserListParams(per_page=2, sort=[UserSortParam(field="username")])
    )

    assert [dto.username for dto in page.items] == ["amy", "kim"]
    assert all(isinstance(dto, UserDTO) for dto in page.items)
    assert (page.total, page.pages) == (3, 2)
