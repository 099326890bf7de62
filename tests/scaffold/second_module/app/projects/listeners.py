"""How the projects module reacts to events, its own or other modules'."""

from app.auth import UserDeleted
from app.core.deps import listener, unit_of_work
from app.projects.services.project import ProjectService


@listener(UserDeleted, durable=True)
async def delete_their_projects(event: UserDeleted) -> None:
    """A deleted user's projects go with them (soft-deleted, like the user). Durable: run by a
    queue worker through the outbox, at least once; deleting twice is harmless."""
    async with unit_of_work() as uow:
        await ProjectService(uow.db, uow.events, uow.queue).delete_all_of(event.id)
