from collections.abc import Iterable

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import ListParams, PaginatedResult
from app.core.deps import cached
from app.core.services.events import EventsServiceInterface
from app.core.services.queue import QueueServiceInterface
from app.projects.events import ProjectCreated, ProjectDeleted
from app.projects.exceptions import ActionNotAllowed, ProjectNotFound
from app.projects.models import Project
from app.projects.repositories import ProjectRepository
from app.projects.schemas.project import ANNOUNCE_PROJECT, ProjectCreate, ProjectUpdate


@cached(ttl=600)
async def count_public_projects(db: AsyncSession) -> int:
    """Cached until a change of a project's visibility forgets it (``db`` is not in the key)."""
    return await ProjectRepository().count(db, where=Project.is_public)


class ProjectService:
    """Rules for projects. Events and queued tasks go out inside the transaction, before the
    commit; the cached public count is forgotten after it."""

    def __init__(
        self, db: AsyncSession, events: EventsServiceInterface, queue: QueueServiceInterface
    ) -> None:
        self._db = db
        self._events = events
        self._queue = queue
        self._repository = ProjectRepository()

    async def get(self, project_id: int) -> Project:
        project = await self._repository.get(self._db, project_id)
        if project is None:
            raise ProjectNotFound
        return project

    async def find(self, project_id: int) -> Project | None:
        return await self._repository.get(self._db, project_id)

    async def get_visible(self, project_id: int, *, viewer_id: int, is_admin: bool) -> Project:
        """The project if the viewer may see it (public, theirs, or any for an admin), else
        ``ProjectNotFound``: a 404, which does not tell others that it exists."""
        project = await self.get(project_id)
        if not (is_admin or project.is_public or project.owner_id == viewer_id):
            raise ProjectNotFound
        return project

    async def get_modifiable(self, project_id: int, *, viewer_id: int, is_admin: bool) -> Project:
        """The project if the viewer may change it: 404 if they may not even see it, 403 if
        they see it (public) but do not own it."""
        project = await self.get_visible(project_id, viewer_id=viewer_id, is_admin=is_admin)
        if not is_admin and project.owner_id != viewer_id:
            raise ActionNotAllowed("Only the owner or an admin can change this project")
        return project

    async def find_many(self, ids: Iterable[int]) -> list[Project]:
        return await self._repository.get_many(self._db, ids)

    async def get_list(
        self, params: ListParams, *, viewer_id: int, is_admin: bool
    ) -> PaginatedResult[Project]:
        """A page of the projects the viewer may see: public ones and their own (all for an
        admin). The condition names the viewer, so each viewer's total is cached apart."""
        visible = None if is_admin else or_(Project.is_public, Project.owner_id == viewer_id)
        return await self._repository.get_list(self._db, params, where=visible)

    async def count_public(self) -> int:
        return await count_public_projects(self._db)

    async def create(self, owner_id: int, data: ProjectCreate) -> Project:
        project = await self._repository.create(
            self._db, data.model_dump() | {"owner_id": owner_id}
        )
        self._events.dispatch(ProjectCreated(id=project.id, owner_id=owner_id))
        await self._queue.push(ANNOUNCE_PROJECT, {"project_id": project.id})
        await self._repository.commit(self._db)
        if project.is_public:
            await count_public_projects.invalidate()
        return project

    async def update(self, project: Project, data: ProjectUpdate) -> Project:
        was_public = project.is_public
        await self._repository.update(self._db, project, data.model_dump(exclude_none=True))
        await self._repository.commit(self._db)
        if project.is_public != was_public:
            await count_public_projects.invalidate()
        return project

    async def delete(self, project: Project) -> None:
        await self._repository.delete(self._db, project)
        self._events.dispatch(ProjectDeleted(id=project.id))
        await self._repository.commit(self._db)
        if project.is_public:
            await count_public_projects.invalidate()

    async def delete_all_of(self, owner_id: int) -> None:
        """Every project of a user who is gone, their tasks kept with them."""
        await self._repository.delete_all_of(self._db, owner_id)
        await self._repository.commit(self._db)
        await count_public_projects.invalidate()
