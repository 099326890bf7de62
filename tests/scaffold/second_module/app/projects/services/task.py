from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import ListParams, PaginatedResult, utcnow
from app.core.services.queue import QueueServiceInterface
from app.projects.exceptions import TaskNotFound
from app.projects.models import Project, ProjectTask
from app.projects.repositories import ProjectTaskRepository
from app.projects.schemas.task import MAIL_TASK_DONE, TaskCreate, TaskDone


class ProjectTaskService:
    def __init__(self, db: AsyncSession, queue: QueueServiceInterface) -> None:
        self._db = db
        self._queue = queue
        self._repository = ProjectTaskRepository()

    async def add(self, project: Project, data: TaskCreate) -> ProjectTask:
        task = await self._repository.create(
            self._db, data.model_dump() | {"project_id": project.id}
        )
        await self._repository.commit(self._db)
        return task

    async def get_list(self, project: Project, params: ListParams) -> PaginatedResult[ProjectTask]:
        return await self._repository.get_list(
            self._db, params, where=ProjectTask.project_id == project.id
        )

    async def complete(self, project: Project, task_id: int) -> ProjectTask:
        """Marks the task done and queues the owner's mail; done already: nothing new."""
        task = await self._repository.get(self._db, task_id)
        if task is None or task.project_id != project.id:
            raise TaskNotFound
        if task.done_at is None:
            await self._repository.update(self._db, task, {"done_at": utcnow()})
            # Queued in the transaction: the mail leaves only if "done" is committed.
            await self._queue.push(MAIL_TASK_DONE, TaskDone(task_id=task.id))
            await self._repository.commit(self._db)
        return task
