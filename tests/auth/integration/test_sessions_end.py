"""An access token stops working the moment its session ends, not when it expires."""

import httpx

from tests.auth.factories.user import UserFactory
from tests.auth.integration.routes.v1.test_access_tokens import claims_for, token
from tests.utils import login_user

PROFILE = "/api/v1/profile"
REFRESH = "/api/v1/auth/refresh-token"


async def test_logout_ends_the_access_token_too(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    other = await login_user(client, user.email)

    await client.post("/api/v1/auth/logout", json={"refresh_token": session.refresh_token})

    assert (await client.get(PROFILE, headers=session.headers)).status_code == 401
    assert (await client.get(PROFILE, headers=other.headers)).status_code == 200


async def test_a_replayed_refresh_token_ends_the_access_tokens_of_its_session(
    client: httpx.AsyncClient,
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    rotated = (await client.post(REFRESH, json={"refresh_token": session.refresh_token})).json()

    replay = await client.post(REFRESH, json={"refresh_token": session.refresh_token})

    assert replay.status_code == 401
    for access in (session.access_token, rotated["access_token"]):
        response = await client.get(PROFILE, headers={"Authorization": f"Bearer {access}"})
        assert response.status_code == 401


async def test_blocking_a_user_ends_their_access_tokens(client: httpx.AsyncClient) -> None:
    admin = await UserFactory.create(is_admin=True)
    user = await UserFactory.create()
    admin_session = await login_user(client, admin.email)
    session = await login_user(client, user.email)

    blocked = await client.patch(
        f"/api/v1/users/{user.id}", json={"status": "blocked"}, headers=admin_session.headers
    )

    assert blocked.status_code == 200
    assert (await client.get(PROFILE, headers=session.headers)).status_code == 401


async def test_a_signed_token_without_a_live_session_is_refused(
    client: httpx.AsyncClient,
) -> None:
    user = await UserFactory.create()

    for claims in (claims_for(user.id), claims_for(user.id, sid="0" * 32)):
        response = await client.get(PROFILE, headers={"Authorization": f"Bearer {token(claims)}"})
        assert response.status_code == 401
