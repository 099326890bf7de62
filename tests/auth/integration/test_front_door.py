"""Every dependency ``app.auth`` exports, resolved through FastAPI as other modules use them."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

import app.auth
from app.auth.models import UserStatus
from tests.auth.factories.user import UserFactory
from tests.utils import login_user

DEPENDENCIES = {"ActiveUser", "AuthGateway", "CurrentUser", "VerifiedUser"}


def test_these_are_the_exported_dependencies() -> None:
    exported = {
        name
        for name in app.auth.__all__
        if "Depends" in repr(getattr(getattr(app.auth, name), "__metadata__", ""))
    }

    assert exported == DEPENDENCIES


async def test_auth_gateway_through_a_route(client: httpx.AsyncClient) -> None:
    viewer = await UserFactory.create()
    other = await UserFactory.create(username="other_one")
    session = await login_user(client, viewer.email)

    found = await client.get(f"/test/gateway/{other.id}", headers=session.headers)
    missing = await client.get("/test/gateway/2147483000", headers=session.headers)
    anonymous = await client.get(f"/test/gateway/{other.id}")

    assert found.status_code == 200
    assert found.json()["viewer"] == viewer.id
    assert found.json()["user"]["username"] == "other_one"
    assert found.json()["user"]["email"] == other.email
    assert missing.json()["user"] is None
    assert anonymous.status_code == 401


async def test_current_user_lets_a_blocked_user_through_active_user_does_not(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    user.status = UserStatus.BLOCKED  # a session still open: blocking through the API ends it
    await db.flush()

    current = await client.get("/test/current-user", headers=session.headers)
    active = await client.get("/api/v1/profile", headers=session.headers)

    assert current.status_code == 200
    assert current.json() == {"id": user.id, "status": "blocked"}
    assert active.status_code == 401
