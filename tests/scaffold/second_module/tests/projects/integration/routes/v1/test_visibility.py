"""Public projects: seen by every signed-in user, changed by their owner only, counted."""

import httpx

from tests.auth.factories.user import UserFactory
from tests.projects.factories import ProjectFactory
from tests.queue import drain_queue
from tests.utils import login_user

URL = "/api/v1/projects"


async def test_strangers_see_public_projects_and_are_refused_changes(
    client: httpx.AsyncClient,
) -> None:
    owner = await UserFactory.create()
    stranger = await UserFactory.create()
    public = await ProjectFactory.create(owner_id=owner.id, is_public=True)
    private = await ProjectFactory.create(owner_id=owner.id)
    session = await login_user(client, stranger.email)

    seen = await client.get(f"{URL}/{public.id}", headers=session.headers)
    hidden = await client.get(f"{URL}/{private.id}", headers=session.headers)
    changed = await client.patch(f"{URL}/{public.id}", json={"name": "x"}, headers=session.headers)
    deleted = await client.delete(f"{URL}/{private.id}", headers=session.headers)

    assert (seen.status_code, hidden.status_code) == (200, 404)
    assert changed.status_code == 403
    assert deleted.status_code == 404


async def test_a_page_and_its_total_hold_public_projects_and_the_viewers_own(
    client: httpx.AsyncClient,
) -> None:
    viewer = await UserFactory.create()
    other = await UserFactory.create()
    mine = [await ProjectFactory.create(owner_id=viewer.id) for _ in range(2)]
    public = [await ProjectFactory.create(owner_id=other.id, is_public=True) for _ in range(2)]
    await ProjectFactory.create(owner_id=other.id)  # private to someone else
    session = await login_user(client, viewer.email)
    other_session = await login_user(client, other.email)

    page = await client.get(URL, params={"per_page": 3, "sort": "id"}, headers=session.headers)
    others_page = await client.get(URL, headers=other_session.headers)

    body = page.json()
    assert (body["total"], body["pages"]) == (4, 2)
    assert [row["id"] for row in body["items"]] == [mine[0].id, mine[1].id, public[0].id]
    assert others_page.json()["total"] == 3  # a total cached for one viewer is not another's


async def test_the_public_count_is_open_cached_and_renewed_after_a_change(
    client: httpx.AsyncClient,
) -> None:
    owner = await UserFactory.create()
    await ProjectFactory.create(owner_id=owner.id, is_public=True)
    session = await login_user(client, owner.email)

    async def count() -> int:
        response = await client.get(f"{URL}/public-count")
        assert response.status_code == 200
        return int(response.json()["public_projects"])

    assert await count() == 1
    await ProjectFactory.create(is_public=True)  # written behind the service's back
    assert await count() == 1  # still the cached answer
    created = await client.post(
        URL, json={"name": "Open", "is_public": True}, headers=session.headers
    )
    assert await count() == 3
    hide = await client.patch(
        f"{URL}/{created.json()['id']}", json={"is_public": False}, headers=session.headers
    )
    assert hide.status_code == 200
    assert await count() == 2
    await client.delete(f"{URL}/{created.json()['id']}", headers=session.headers)
    assert await count() == 2


async def test_a_deleted_users_projects_go_with_them(client: httpx.AsyncClient) -> None:
    leaving = await UserFactory.create()
    staying = await UserFactory.create()
    theirs = await ProjectFactory.create(owner_id=leaving.id, is_public=True)
    kept = await ProjectFactory.create(owner_id=staying.id, is_public=True)
    leaving_session = await login_user(client, leaving.email)
    session = await login_user(client, staying.email)
    assert (await client.get(f"{URL}/public-count")).json()["public_projects"] == 2

    gone = await client.delete("/api/v1/profile", headers=leaving_session.headers)
    await drain_queue()  # the durable listener runs from the queue

    assert gone.status_code == 204
    assert (await client.get(f"{URL}/{theirs.id}", headers=session.headers)).status_code == 404
    assert (await client.get(f"{URL}/{kept.id}", headers=session.headers)).status_code == 200
    assert (await client.get(f"{URL}/public-count")).json()["public_projects"] == 1
