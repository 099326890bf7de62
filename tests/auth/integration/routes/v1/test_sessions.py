"""Sessions a user can see and end, and the admin's switch for all of a user's sessions."""

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from freezegun import freeze_time
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import UserSession
from app.core.db import utcnow
from tests.auth.factories.user import DEFAULT_PASSWORD, RefreshTokenFactory, UserFactory
from tests.utils import LoggedIn

SESSIONS = "/api/v1/profile/sessions"
PROFILE = "/api/v1/profile"
REFRESH = "/api/v1/auth/refresh-token"


async def sign_in(app: FastAPI, login: str, address: str, agent: str) -> LoggedIn:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/api/v1/auth/login",
            data={"username": login, "password": DEFAULT_PASSWORD},
            headers={"User-Agent": agent},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return LoggedIn(body["access_token"], body["refresh_token"])


async def works(client: httpx.AsyncClient, session: LoggedIn) -> bool:
    return (await client.get(PROFILE, headers=session.headers)).status_code == 200


async def test_a_long_user_agent_is_kept_to_512_characters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await UserFactory.create()
    agent = "".join(f"{n % 10}" for n in range(600))
    session = await sign_in(app, user.email, "198.51.100.7", agent)

    [listed] = (await client.get(SESSIONS, headers=session.headers)).json()

    assert listed["user_agent"] == agent[:512]


async def test_the_list_shows_each_live_session_and_which_is_current(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await UserFactory.create()
    laptop = await sign_in(app, user.email, "198.51.100.7", "Firefox on a laptop")
    phone = await sign_in(app, user.email, "203.0.113.9", "Safari on a phone")
    ended = await sign_in(app, user.email, "192.0.2.1", "gone")
    await client.post("/api/v1/auth/logout", json={"refresh_token": ended.refresh_token})

    response = await client.get(SESSIONS, headers=laptop.headers)

    assert response.status_code == 200
    sessions = {item["user_agent"]: item for item in response.json()}
    assert set(sessions) == {"Firefox on a laptop", "Safari on a phone"}
    assert sessions["Firefox on a laptop"]["ip_address"] == "198.51.100.7"
    assert sessions["Safari on a phone"]["ip_address"] == "203.0.113.9"
    assert [sessions[a]["current"] for a in ("Firefox on a laptop", "Safari on a phone")] == [
        True,
        False,
    ]
    assert all(len(item["id"]) == 32 for item in sessions.values())
    assert {s["created_at"] == s["last_used_at"] for s in sessions.values()} == {True}
    assert await works(client, phone)


async def test_a_refresh_moves_last_used(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await sign_in(app, user.email, "198.51.100.7", "agent")

    with freeze_time(utcnow() + timedelta(minutes=5)):
        refreshed = await client.post(REFRESH, json={"refresh_token": session.refresh_token})
        tokens = refreshed.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        [item] = (await client.get(SESSIONS, headers=headers)).json()

    assert item["last_used_at"] > item["created_at"]
    assert item["current"] is True


async def test_ending_one_session_ends_its_tokens_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await UserFactory.create()
    mine = await sign_in(app, user.email, "198.51.100.7", "mine")
    stolen = await sign_in(app, user.email, "203.0.113.66", "stolen")
    listed = (await client.get(SESSIONS, headers=mine.headers)).json()
    [target] = [item["id"] for item in listed if item["user_agent"] == "stolen"]

    ended = await client.delete(f"{SESSIONS}/{target}", headers=mine.headers)

    assert ended.status_code == 204
    assert not await works(client, stolen)  # its access token, before it expires
    refresh = await client.post(REFRESH, json={"refresh_token": stolen.refresh_token})
    assert refresh.status_code == 401
    assert await works(client, mine)
    assert [
        item["user_agent"] for item in (await client.get(SESSIONS, headers=mine.headers)).json()
    ] == ["mine"]
    again = await client.delete(f"{SESSIONS}/{target}", headers=mine.headers)
    assert again.status_code == 404


async def test_another_users_session_is_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, other = await UserFactory.create(), await UserFactory.create()
    owners = await sign_in(app, owner.email, "198.51.100.7", "owner")
    others = await sign_in(app, other.email, "198.51.100.8", "other")
    [item] = (await client.get(SESSIONS, headers=owners.headers)).json()

    response = await client.delete(f"{SESSIONS}/{item['id']}", headers=others.headers)

    assert response.status_code == 404
    assert await works(client, owners)


@pytest.mark.parametrize("session_id", ["abc", "g" * 32, "A" * 32, "0" * 33])
async def test_a_malformed_session_id_is_422(
    app: FastAPI, client: httpx.AsyncClient, session_id: str
) -> None:
    user = await UserFactory.create()
    session = await sign_in(app, user.email, "198.51.100.7", "agent")

    response = await client.delete(f"{SESSIONS}/{session_id}", headers=session.headers)

    assert response.status_code == 422


async def test_ending_the_others_keeps_the_current_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await UserFactory.create()
    current = await sign_in(app, user.email, "198.51.100.7", "current")
    others = [await sign_in(app, user.email, "198.51.100.8", f"other {n}") for n in range(2)]

    response = await client.delete(SESSIONS, headers=current.headers)

    assert response.status_code == 204
    assert await works(client, current)
    assert [await works(client, other) for other in others] == [False, False]
    assert len((await client.get(SESSIONS, headers=current.headers)).json()) == 1


async def test_an_admin_ends_every_session_of_a_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await UserFactory.create(is_admin=True)
    user = await UserFactory.create()
    admins = await sign_in(app, admin.email, "198.51.100.1", "admin")
    sessions = [await sign_in(app, user.email, "198.51.100.2", f"s{n}") for n in range(2)]

    response = await client.delete(f"/api/v1/users/{user.id}/sessions", headers=admins.headers)

    assert response.status_code == 204
    assert [await works(client, session) for session in sessions] == [False, False]
    assert await works(client, admins)
    fresh = await sign_in(app, user.email, "198.51.100.2", "again")  # the account still works
    assert await works(client, fresh)


async def test_only_admins_end_others_sessions_and_not_their_own_there(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await UserFactory.create(is_admin=True)
    user = await UserFactory.create()
    admins = await sign_in(app, admin.email, "198.51.100.1", "admin")
    users = await sign_in(app, user.email, "198.51.100.2", "user")

    by_user = await client.delete(f"/api/v1/users/{admin.id}/sessions", headers=users.headers)
    on_self = await client.delete(f"/api/v1/users/{admin.id}/sessions", headers=admins.headers)
    missing = await client.delete("/api/v1/users/2147483000/sessions", headers=admins.headers)

    assert (by_user.status_code, on_self.status_code, missing.status_code) == (403, 403, 404)
    assert by_user.json() == {"detail": "Only administrators can end another user's sessions"}
    assert on_self.json() == {"detail": "End your own sessions through /profile/sessions"}
    assert await works(client, admins)


async def test_the_list_holds_the_hundred_most_recently_used_sessions(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await UserFactory.create()
    current = await sign_in(app, user.email, "198.51.100.7", "current")
    long_ago = utcnow() - timedelta(days=1)
    for number in range(100):
        token = await RefreshTokenFactory.create(user=user)
        used = long_ago + timedelta(minutes=number)
        db.add(UserSession(family_id=token.family_id, user_id=user.id, last_used_at=used))
    await db.flush()

    listed = (await client.get(SESSIONS, headers=current.headers)).json()

    assert len(listed) == 100
    assert listed[0]["current"] is True  # the most recently used
    shown = sorted(datetime.fromisoformat(item["last_used_at"]) for item in listed)
    assert shown[0] == long_ago + timedelta(minutes=1)  # the least recently used one is left out
