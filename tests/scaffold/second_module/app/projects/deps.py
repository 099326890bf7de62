from typing import Annotated

from fastapi import Depends

from app.core.deps import DBSession, EventsService, QueueService
from app.projects.gateway import ProjectsGateway as ProjectsGatewayImpl
from app.projects.gateway import ProjectsGatewayInterface
from app.projects.services.project import ProjectService
from app.projects.services.task import ProjectTaskService


async def get_project_service(
    db: DBSession, events: EventsService, queue: QueueService
) -> ProjectService:
    return ProjectService(db, events, queue)


async def get_project_task_service(db: DBSession, queue: QueueService) -> ProjectTaskService:
    return ProjectTaskService(db, queue)


ProjectServiceDep = Annotated[ProjectService, Depends(get_project_service)]
ProjectTaskServiceDep = Annotated[ProjectTaskService, Depends(get_project_task_service)]


async def get_gateway(service: ProjectServiceDep) -> ProjectsGatewayInterface:
    return ProjectsGatewayImpl(service)


ProjectsGateway = Annotated[ProjectsGatewayInterface, Depends(get_gateway)]
