"""Background work of the projects module."""

from typing import Any

from app.auth import auth_gateway
from app.core.configs import app_config
from app.core.deps import logger, queued, scheduled, unit_of_work
from app.core.services.mail import EmailData
from app.core.services.queue import BaseTask
from app.projects.emails.templates import ProjectCreatedEmail, TaskDoneEmail
from app.projects.repositories import ProjectRepository, ProjectTaskRepository
from app.projects.schemas.project import ANNOUNCE_PROJECT
from app.projects.schemas.task import MAIL_TASK_DONE, TaskDone


@queued
class AnnounceProject(BaseTask):
    """Mails the owner of a new project; queued by the service with it, run by a worker after
    the commit.

    Another module's data (the owner's address) comes through its gateway; running twice
    mails twice, which is harmless here.
    """

    __task_name__ = ANNOUNCE_PROJECT

    async def run(self, **data: Any) -> None:
        async with unit_of_work(read_only=True) as uow, auth_gateway() as auth:
            project = await ProjectRepository().get(uow.db, int(data["project_id"]))
            owner = await auth.get_user(project.owner_id) if project is not None else None
            if project is None or owner is None:  # deleted meanwhile
                return
            await uow.mail.queue(
                ProjectCreatedEmail(
                    username=owner.username,
                    name=project.name,
                    project_name=app_config.PROJECT_NAME,
                ),
                EmailData(subject=f"Your project {project.name}", recipient=owner.email),
            )


@queued
class MailTaskDone(BaseTask):
    """Mails a project's owner that a task is done. Queued by the service, by name."""

    __task_name__ = MAIL_TASK_DONE

    async def run(self, **data: Any) -> None:
        done = TaskDone.model_validate(data)
        async with unit_of_work(read_only=True) as uow, auth_gateway() as auth:
            task = await ProjectTaskRepository().get(uow.db, done.task_id)
            project = await ProjectRepository().get(uow.db, task.project_id) if task else None
            owner = await auth.get_user(project.owner_id) if project is not None else None
            if task is None or project is None or owner is None:  # deleted meanwhile
                return
            await uow.mail.queue(
                TaskDoneEmail(
                    username=owner.username,
                    project=project.name,
                    task=task.title,
                    project_name=app_config.PROJECT_NAME,
                ),
                EmailData(subject=f"Done: {task.title}", recipient=owner.email),
            )


@scheduled(cron="30 4 * * *")
@queued
class CountProjectRows(BaseTask):
    """The scaffold's scheduled job, kept: the number of projects in the log every night."""

    __task_name__ = "projects.count_projects"

    async def run(self, **data: Any) -> None:
        async with unit_of_work(read_only=True) as uow:
            total = await ProjectRepository().count(uow.db)
        await logger.a_info("projects counted", total=total, tick=data.get("tick"))
