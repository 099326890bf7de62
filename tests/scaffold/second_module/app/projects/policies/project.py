"""Who may do what to projects. Policies are dependencies: they raise, or return."""

from typing import Annotated

from fastapi import Depends

from app.auth import ActiveUser
from app.core.api import ResourceId
from app.projects.deps import ProjectServiceDep
from app.projects.models import Project


async def can_see_project(
    project_id: ResourceId, user: ActiveUser, service: ProjectServiceDep
) -> Project:
    """The project, when it is public, the signed-in user's own, or they are an admin;
    others get 404."""
    return await service.get_visible(project_id, viewer_id=user.id, is_admin=user.is_admin)


async def can_modify_project(
    project_id: ResourceId, user: ActiveUser, service: ProjectServiceDep
) -> Project:
    """The project, when the signed-in user owns it or is an admin. Those who may see it (a
    public one) get 403; those who may not get 404, as if it did not exist."""
    return await service.get_modifiable(project_id, viewer_id=user.id, is_admin=user.is_admin)


VisibleProject = Annotated[Project, Depends(can_see_project)]
ModifiableProject = Annotated[Project, Depends(can_modify_project)]
