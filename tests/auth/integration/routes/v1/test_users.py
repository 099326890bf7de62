import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import UserStatus
from app.auth.schemas.user import UserFilterParam
from app.core.db import utcnow
from tests.auth.factories.user import UserFactory
from tests.auth.schemas import USER, USER_WITH_EMAIL
from tests.schemas import ERROR_SCHEMA, paginated_schema, validator
from tests.utils import LoggedIn, login_user

USERS = "/api/v1/users"


async def signed_in(client: httpx.AsyncClient, *, admin: bool = False) -> tuple[int, LoggedIn]:
    viewer = await UserFactory.create(is_admin=admin)
    return viewer.id, await login_user(client, viewer.email)


async def test_list_requires_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert (await client.get(USERS)).status_code == 401


async def test_list_hides_other_users_emails_from_non_admins(client: httpx.AsyncClient) -> None:
    await UserFactory.create_batch(3)
    viewer_id, session = await signed_in(client)

    response = await client.get(USERS, params={"sort": "id:asc"}, headers=session.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4
    for item in body["items"]:
        schema = validator(USER_WITH_EMAIL if item["id"] == viewer_id else USER)
        assert schema.validate(item), (item, schema.errors)


async def test_admins_see_every_email(client: httpx.AsyncClient) -> None:
    await UserFactory.create_batch(2)
    _, session = await signed_in(client, admin=True)

    body = (await client.get(USERS, headers=session.headers)).json()

    schema = validator(paginated_schema(USER_WITH_EMAIL))
    assert schema.validate(body), schema.errors


async def test_list_sorts_filters_and_paginates(client: httpx.AsyncClient) -> None:
    for name in ("carol", "alice", "bob", "dave"):
        await UserFactory.create(username=name)
    await UserFactory.create(username="eve", status=UserStatus.BLOCKED)
    _, session = await signed_in(client)

    page = await client.get(
        USERS,
        params={"sort": "username:desc", "filters": "status:active", "page": 2, "per_page": 2},
        headers=session.headers,
    )
    chosen = await client.get(
        USERS,
        params={"filters": "username:[alice,bob]", "sort": "username"},
        headers=session.headers,
    )

    body = page.json()
    assert (body["total"], body["pages"], body["page"]) == (5, 3, 2)
    # active, descending: user_N (the viewer), dave, carol, bob, alice
    assert [item["username"] for item in body["items"]] == ["carol", "bob"]
    assert [item["username"] for item in chosen.json()["items"]] == ["alice", "bob"]


async def test_soft_deleted_users_never_appear(client: httpx.AsyncClient) -> None:
    gone = await UserFactory.create(deleted_at=utcnow())
    _, session = await signed_in(client)

    listing = await client.get(USERS, params={"filters": f"id:{gone.id}"}, headers=session.headers)
    single = await client.get(f"{USERS}/{gone.id}", headers=session.headers)

    assert listing.json()["total"] == 0
    assert single.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "password_hash"},
        {"sort": "email"},
        {"filters": "email:a@b.c"},
        {"filters": "password_hash:x"},
        {"filters": "status:sleeping"},
        {"filters": "id:[1,"},
        {"page": "0"},
        {"per_page": "1000"},
    ],
)
async def test_malformed_or_forbidden_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    _, session = await signed_in(client)

    response = await client.get(USERS, params=params, headers=session.headers)

    assert response.status_code == 422
    schema = validator(ERROR_SCHEMA)
    assert schema.validate(response.json()), schema.errors


async def test_get_one_user(client: httpx.AsyncClient) -> None:
    other = await UserFactory.create()
    _, session = await signed_in(client)

    response = await client.get(f"{USERS}/{other.id}", headers=session.headers)

    assert response.status_code == 200
    schema = validator(USER)
    assert schema.validate(response.json()), schema.errors


@pytest.mark.parametrize(
    ("user_id", "code"), [("999999", 404), ("0", 422), ("abc", 422), ("9" * 30, 422)]
)
async def test_get_unknown_or_malformed_id(
    client: httpx.AsyncClient, user_id: str, code: int
) -> None:
    _, session = await signed_in(client)

    response = await client.get(f"{USERS}/{user_id}", headers=session.headers)

    assert response.status_code == code


async def test_admin_blocks_a_user_and_ends_their_sessions(client: httpx.AsyncClient) -> None:
    target = await UserFactory.create()
    target_session = await login_user(client, target.email)
    _, admin = await signed_in(client, admin=True)

    response = await client.patch(
        f"{USERS}/{target.id}", json={"status": "blocked"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["status"] == "blocked"
    assert (await client.get("/api/v1/profile", headers=target_session.headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh-token", json={"refresh_token": target_session.refresh_token}
    )
    assert refresh.status_code == 401

    unblocked = await client.patch(
        f"{USERS}/{target.id}", json={"status": "active"}, headers=admin.headers
    )
    assert unblocked.json()["status"] == "active"


async def test_non_admins_cannot_change_a_status(client: httpx.AsyncClient) -> None:
    target = await UserFactory.create()
    _, session = await signed_in(client)

    response = await client.patch(
        f"{USERS}/{target.id}", json={"status": "blocked"}, headers=session.headers
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Only administrators can change a user's status"}


async def test_admins_cannot_change_their_own_status(client: httpx.AsyncClient) -> None:
    admin_id, admin = await signed_in(client, admin=True)

    response = await client.patch(
        f"{USERS}/{admin_id}", json={"status": "blocked"}, headers=admin.headers
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You cannot change your own status"}


async def test_setting_an_active_user_active_leaves_their_sessions_alone(
    client: httpx.AsyncClient,
) -> None:
    target = await UserFactory.create()
    session = await login_user(client, target.email)
    _, admin = await signed_in(client, admin=True)

    response = await client.patch(
        f"{USERS}/{target.id}", json={"status": "active"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert (await client.get("/api/v1/profile", headers=session.headers)).status_code == 200
    refreshed = await client.post(
        "/api/v1/auth/refresh-token", json={"refresh_token": session.refresh_token}
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize(
    "body", [{"status": "deleted"}, {"status": "active", "is_admin": True}, {}, {"status": None}]
)
async def test_status_update_rejects_anything_else(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    target = await UserFactory.create()
    _, admin = await signed_in(client, admin=True)

    response = await client.patch(f"{USERS}/{target.id}", json=body, headers=admin.headers)

    assert response.status_code == 422


async def test_status_update_of_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    _, admin = await signed_in(client, admin=True)

    response = await client.patch(
        f"{USERS}/424242", json={"status": "blocked"}, headers=admin.headers
    )

    assert response.status_code == 404


async def test_blocked_users_cannot_list(client: httpx.AsyncClient, db: AsyncSession) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    user.status = UserStatus.BLOCKED
    await db.flush()

    assert (await client.get(USERS, headers=session.headers)).status_code == 401


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("id", "12", "0"),
        ("id", "[1,2]", "[1,x]"),
        ("status", "blocked", "deleted"),
        ("username", "ann.b-c_d", "ann b"),
        ("created_at", "2026-01-02T03:04:05Z", "yesterday"),
    ],
)
async def test_each_documented_filter_pattern_is_enforced(
    client: httpx.AsyncClient, field: str, good: str, bad: str
) -> None:
    pattern = UserFilterParam.value_patterns[field]
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    accepted = await client.get(
        "/api/v1/users", params={"filters": f"{field}:{good}"}, headers=session.headers
    )
    refused = await client.get(
        "/api/v1/users", params={"filters": f"{field}:{bad}"}, headers=session.headers
    )

    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["query", "filters"]
    assert error["msg"] == f"invalid value for {field!r}: it must match {pattern}"
