from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.core.api import ListParamsBuilder, PaginatedResponse, ResourceId, error_responses
from app.projects.deps import ProjectTaskServiceDep
from app.projects.policies.project import ModifiableProject, VisibleProject
from app.projects.schemas.task import (
    TaskCreate,
    TaskFilterParam,
    TaskListParams,
    TaskResponse,
    TaskSortParam,
)

router = APIRouter(prefix="/projects/{project_id}/tasks", tags=["projects"])

list_params = ListParamsBuilder(TaskListParams, TaskSortParam, TaskFilterParam)
NOT_FOUND = error_responses({404: "No such project or task"})
OWNER_ONLY = error_responses({403: "A public project of someone else", 404: "No such project"})


@router.get("", responses=NOT_FOUND)
async def list_tasks(
    project: VisibleProject,
    service: ProjectTaskServiceDep,
    params: Annotated[TaskListParams, Depends(list_params)],
) -> PaginatedResponse[TaskResponse]:
    page = await service.get_list(project, params)
    return PaginatedResponse.from_result(page, TaskResponse.model_validate)


@router.post("", status_code=status.HTTP_201_CREATED, responses=OWNER_ONLY)
async def add_task(
    data: TaskCreate, project: ModifiableProject, service: ProjectTaskServiceDep
) -> TaskResponse:
    return TaskResponse.model_validate(await service.add(project, data))


@router.post("/{task_id}/done", responses=OWNER_ONLY)
async def complete_task(
    task_id: ResourceId, project: ModifiableProject, service: ProjectTaskServiceDep
) -> TaskResponse:
    """Marks the task done; the project's owner gets a mail (once)."""
    return TaskResponse.model_validate(await service.complete(project, task_id))
