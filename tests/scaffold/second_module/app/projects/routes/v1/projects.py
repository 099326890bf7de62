from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.auth import ActiveUser
from app.core.api import (
    ConfigurableRateLimiter,
    ListParamsBuilder,
    PaginatedResponse,
    ResourceId,
    error_responses,
)
from app.projects.config import projects_config
from app.projects.deps import ProjectServiceDep
from app.projects.policies.project import ModifiableProject, VisibleProject
from app.projects.schemas.project import (
    ProjectCreate,
    ProjectFilterParam,
    ProjectListParams,
    ProjectResponse,
    ProjectSortParam,
    ProjectUpdate,
    PublicProjectCount,
)

router = APIRouter(prefix="/projects", tags=["projects"])

list_params = ListParamsBuilder(ProjectListParams, ProjectSortParam, ProjectFilterParam)
create_limit = ConfigurableRateLimiter(times=projects_config.PROJECTS_CREATE_RATE_LIMIT, seconds=60)
NOT_FOUND = error_responses({404: "No such project"})
OWNER_ONLY = error_responses({403: "A public project of someone else", 404: "No such project"})


@router.get("/public-count")
async def count_public_projects(service: ProjectServiceDep) -> PublicProjectCount:
    """How many public projects there are; open to anyone."""
    return PublicProjectCount(public_projects=await service.count_public())


@router.get("")
async def list_projects(
    user: ActiveUser,
    service: ProjectServiceDep,
    params: Annotated[ProjectListParams, Depends(list_params)],
) -> PaginatedResponse[ProjectResponse]:
    page = await service.get_list(params, viewer_id=user.id, is_admin=user.is_admin)
    return PaginatedResponse.from_result(page, ProjectResponse.model_validate)


@router.get("/{project_id}", responses=NOT_FOUND)
async def get_project(project: VisibleProject) -> ProjectResponse:
    return ProjectResponse.model_validate(project)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(create_limit)])
async def create_project(
    data: ProjectCreate, user: ActiveUser, service: ProjectServiceDep
) -> ProjectResponse:
    project = await service.create(user.id, data)
    return ProjectResponse.model_validate(project)


@router.patch("/{project_id}", responses=OWNER_ONLY)
async def update_project(
    project_id: ResourceId,
    data: ProjectUpdate,
    project: ModifiableProject,
    service: ProjectServiceDep,
) -> ProjectResponse:
    return ProjectResponse.model_validate(await service.update(project, data))


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT, responses=OWNER_ONLY)
async def delete_project(
    project_id: ResourceId, project: ModifiableProject, service: ProjectServiceDep
) -> None:
    await service.delete(project)
