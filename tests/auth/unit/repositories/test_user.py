from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.repositories import UserRepository
from app.core.db import utcnow
from tests.auth.factories.user import UserFactory

users = UserRepository()


async def test_get_by_login_ignores_case_and_unicode_form(db: AsyncSession) -> None:
    user = await UserFactory.create(email="mixed@example.com", username="Mixed")

    assert await users.get_by_login(db, "MIXED@example.com") is user
    assert await users.get_by_login(db, "Mixed") is user
    assert await users.get_by_login(db, "mixed") is user
    assert await users.get_by_login(db, "\uff4d\uff49\uff58\uff45\uff44") is user  # fullwidth
    assert await users.get_by_login(db, "mixed2") is None


async def test_get_by_login_skips_deleted_users(db: AsyncSession) -> None:
    await UserFactory.create(username="gone", deleted_at=utcnow())

    assert await users.get_by_login(db, "gone") is None


async def test_taken_fields_reports_live_conflicts_only(db: AsyncSession) -> None:
    live = await UserFactory.create(email="live@example.com", username="live")
    await UserFactory.create(email="dead@example.com", username="dead", deleted_at=utcnow())

    assert await users.taken_fields(db, email="LIVE@example.com", username="live") == {
        "email",
        "username",
    }
    assert await users.taken_fields(db, email="dead@example.com", username="dead") == set()
    assert (
        await users.taken_fields(db, email="live@example.com", username=None, exclude_id=live.id)
        == set()
    )
    assert await users.taken_fields(db, email=None, username=None) == set()


async def test_a_deleted_users_email_can_be_reused_at_the_database_level(db: AsyncSession) -> None:
    await UserFactory.create(email="reuse@example.com", username="reuse", deleted_at=utcnow())

    again = await UserFactory.create(email="reuse@example.com", username="reuse")

    assert again.id is not None
