import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import auth_gateway
from app.auth.gateway import AuthGateway
from app.auth.schemas.user import UserDTO, UserListParams, UserSortParam
from app.auth.services.user import UserService
from app.core.db import utcnow
from app.core.services.events import FastAPIEventsService
from tests.auth.factories.user import UserFactory
from tests.sql import sent_statements


def gateway(db: AsyncSession) -> AuthGateway:
    return AuthGateway(UserService(db, FastAPIEventsService(db)))


async def test_get_user_returns_a_dto_or_none(db: AsyncSession) -> None:
    user = await UserFactory.create()
    deleted = await UserFactory.create(deleted_at=utcnow())

    dto = await gateway(db).get_user(user.id)

    assert isinstance(dto, UserDTO)
    assert (dto.id, dto.email, dto.username) == (user.id, user.email, user.username)
    assert dto.email_verified_at is None
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


async def test_get_users_reads_many_in_one_query_in_the_order_asked(db: AsyncSession) -> None:
    amy, kim = await UserFactory.create(username="amy"), await UserFactory.create(username="kim")
    gone = await UserFactory.create(deleted_at=utcnow())
    with sent_statements(db.get_bind()) as statements:
        users = await gateway(db).get_users([kim.id, gone.id, 2**63, amy.id, kim.id, 987654])

    assert [dto.username for dto in users] == ["kim", "amy"]
    assert len(statements) == 1
    assert "count" not in statements[0].lower()
    assert await gateway(db).get_users([]) == []
    with pytest.raises(ValueError, match="at most"):
        await gateway(db).get_users(range(1, 1002))


async def test_a_listener_or_a_task_opens_the_gateway_on_its_own_session(
    db: AsyncSession,
) -> None:
    user = await UserFactory.create(username="outside")

    async with auth_gateway() as auth:
        found = await auth.get_user(user.id)

    assert found is not None
    assert found.username == "outside"
