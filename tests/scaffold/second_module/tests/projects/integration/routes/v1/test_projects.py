import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.factories.user import UserFactory
from tests.conftest import SentMail
from tests.projects.factories import ProjectFactory
from tests.schemas import paginated_schema, validator
from tests.utils import login_user

URL = "/api/v1/projects"
ITEM = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "description": {"type": "string"},
    "owner_id": {"type": "integer"},
    "is_public": {"type": "boolean"},
    "created_at": {"type": "string"},
    "updated_at": {"type": "string"},
}


async def test_create_read_update_delete(client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await UserFactory.create()
    session = await login_user(client, owner.email)

    created = await client.post(URL, json={"name": "First"}, headers=session.headers)
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert created.json()["owner_id"] == owner.id

    fetched = await client.get(f"{URL}/{item_id}", headers=session.headers)
    assert fetched.json()["name"] == "First"

    updated = await client.patch(
        f"{URL}/{item_id}", json={"name": "Renamed"}, headers=session.headers
    )
    assert updated.json()["name"] == "Renamed"

    deleted = await client.delete(f"{URL}/{item_id}", headers=session.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{URL}/{item_id}", headers=session.headers)).status_code == 404


async def test_list_is_paginated_sorted_and_filtered(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    for name in ("b", "a", "c"):
        await ProjectFactory.create(name=name, owner_id=user.id)
    session = await login_user(client, user.email)

    response = await client.get(
        URL,
        params={"sort": "name:asc", "filters": f"owner_id:{user.id}", "per_page": 2},
        headers=session.headers,
    )

    body = response.json()
    schema = validator(paginated_schema(ITEM))
    assert schema.validate(body), schema.errors
    assert [item["name"] for item in body["items"]] == ["a", "b"]
    assert (body["total"], body["pages"]) == (3, 2)
    bad = await client.get(URL, params={"sort": "owner_id"}, headers=session.headers)
    assert bad.status_code == 422


async def test_others_are_told_it_does_not_exist_admins_may_change(
    client: httpx.AsyncClient,
) -> None:
    owner = await UserFactory.create()
    stranger = await UserFactory.create()
    admin = await UserFactory.create(is_admin=True)
    item = await ProjectFactory.create(owner_id=owner.id)
    stranger_session = await login_user(client, stranger.email)
    admin_session = await login_user(client, admin.email)

    hidden = await client.get(f"{URL}/{item.id}", headers=stranger_session.headers)
    refused = await client.patch(
        f"{URL}/{item.id}", json={"name": "x"}, headers=stranger_session.headers
    )
    listed = await client.get(URL, headers=stranger_session.headers)
    allowed = await client.patch(
        f"{URL}/{item.id}", json={"name": "y"}, headers=admin_session.headers
    )
    everything = await client.get(URL, headers=admin_session.headers)

    assert (hidden.status_code, refused.status_code) == (404, 404)
    assert listed.json()["total"] == 0
    assert allowed.status_code == 200
    assert item.id in [row["id"] for row in everything.json()["items"]]


async def test_requires_a_signed_in_user_and_refuses_extra_fields(
    client: httpx.AsyncClient,
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    assert (await client.get(URL)).status_code == 401
    extra = await client.post(URL, json={"name": "n", "owner_id": 99}, headers=session.headers)
    assert extra.status_code == 422


async def test_the_owner_is_mailed_when_a_project_is_created(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    owner = await UserFactory.create()
    session = await login_user(client, owner.email)

    created = await client.post(URL, json={"name": "Mailed"}, headers=session.headers)

    assert created.status_code == 201
    [message] = await sent_mail.wait_for(1)
    assert message["To"] == owner.email
    assert "Mailed" in str(message["Subject"])
