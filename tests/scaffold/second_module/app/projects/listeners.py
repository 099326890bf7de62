"""How the projects module reacts to events."""

from app.auth import UserDeleted
from app.core.deps import listener, unit_of_work
from app.core.services.events import ListenedEvent
from app.core.services.queue import queue_service
from app.projects.events import ProjectCreated
from app.projects.services.project import ProjectService
from app.projects.tasks import AnnounceProject


@listener(ProjectCreated)
async def announce_project(event: ListenedEvent) -> None:
    await queue_service.push(AnnounceProject, {"project_id": event.data["id"]})


@listener(UserDeleted)
async def delete_their_projects(event: ListenedEvent) -> None:
    """A deleted user's projects go with them (soft-deleted, like the user)."""
    async with unit_of_work() as uow:
        await ProjectService(uow.db, uow.events).delete_all_of(event.data["id"])
