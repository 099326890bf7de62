"""Tasks of a project: listed by whoever sees it, added and done by its owner; done mails."""

import httpx

from tests.auth.factories.user import UserFactory
from tests.conftest import SentMail
from tests.projects.factories import ProjectFactory, ProjectTaskFactory
from tests.utils import login_user

URL = "/api/v1/projects"


async def test_the_owner_adds_a_task_and_is_mailed_once_when_it_is_done(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    owner = await UserFactory.create()
    project = await ProjectFactory.create(owner_id=owner.id, name="Garden")
    session = await login_user(client, owner.email)

    added = await client.post(
        f"{URL}/{project.id}/tasks", json={"title": "Plant tulips"}, headers=session.headers
    )
    assert added.status_code == 201, added.text
    task_id = added.json()["id"]
    done = await client.post(f"{URL}/{project.id}/tasks/{task_id}/done", headers=session.headers)
    again = await client.post(f"{URL}/{project.id}/tasks/{task_id}/done", headers=session.headers)

    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    assert again.json()["done_at"] == done.json()["done_at"]
    [message] = await sent_mail.wait_for(1)  # one mail, though "done" was asked twice
    assert message["To"] == owner.email
    assert "Plant tulips" in str(message["Subject"])
    assert "Garden" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_others_list_tasks_of_public_projects_only_and_never_change_them(
    client: httpx.AsyncClient,
) -> None:
    stranger = await UserFactory.create()
    public = await ProjectFactory.create(is_public=True)
    private = await ProjectFactory.create()
    task = await ProjectTaskFactory.create(project_id=public.id)
    await ProjectTaskFactory.create(project_id=private.id)
    session = await login_user(client, stranger.email)

    listed = await client.get(f"{URL}/{public.id}/tasks", headers=session.headers)
    hidden = await client.get(f"{URL}/{private.id}/tasks", headers=session.headers)
    refused = await client.post(f"{URL}/{public.id}/tasks/{task.id}/done", headers=session.headers)

    assert [row["id"] for row in listed.json()["items"]] == [task.id]
    assert listed.json()["total"] == 1
    assert hidden.status_code == 404
    assert refused.status_code == 403


async def test_a_task_of_another_project_is_not_found(client: httpx.AsyncClient) -> None:
    owner = await UserFactory.create()
    mine = await ProjectFactory.create(owner_id=owner.id)
    elsewhere = await ProjectTaskFactory.create()
    session = await login_user(client, owner.email)

    response = await client.post(
        f"{URL}/{mine.id}/tasks/{elsewhere.id}/done", headers=session.headers
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}
