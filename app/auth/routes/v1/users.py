from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.auth.deps import ActiveUser, UserServiceDep
from app.auth.policies.users import can_end_user_sessions, can_update_user_status
from app.auth.schemas.user import (
    UserFilterParam,
    UserListParams,
    UserResponse,
    UserSortParam,
    UserStatusUpdate,
    UserWithEmailResponse,
    user_response,
)
from app.core.api import ListParamsBuilder, PaginatedResponse, ResourceId, error_responses

router = APIRouter(
    prefix="/users",
    tags=["users"],
)

user_list_params = ListParamsBuilder(UserListParams, UserSortParam, UserFilterParam)
UserOut = UserWithEmailResponse | UserResponse


class UserPage(PaginatedResponse[UserOut]):
    """A page of users; each with its email when the viewer may see it."""


NOT_FOUND = error_responses({404: "No such user"})


@router.get("")
async def list_users(
    viewer: ActiveUser,
    users: UserServiceDep,
    params: Annotated[UserListParams, Depends(user_list_params)],
) -> UserPage:
    """Users, paginated; sort and filter on `id`, `username`, `status`, `created_at`."""
    page = await users.get_list(params)
    return UserPage.from_result(page, lambda user: user_response(user, viewer))


@router.get("/{user_id}", responses=NOT_FOUND)
async def get_user(user_id: ResourceId, viewer: ActiveUser, users: UserServiceDep) -> UserOut:
    return user_response(await users.get(user_id), viewer)


@router.patch(
    "/{user_id}",
    responses=error_responses(
        {400: "Malformed request body", 403: "Admins only, not on oneself", 404: "No such user"}
    ),
)
async def update_user_status(
    user_id: ResourceId,
    data: UserStatusUpdate,
    admin: Annotated[ActiveUser, Depends(can_update_user_status)],
    users: UserServiceDep,
) -> UserWithEmailResponse:
    """Block or unblock a user (admins only); blocking ends the user's sessions."""
    user = await users.update_status(admin, user_id, data.status)
    return UserWithEmailResponse.model_validate(user)


@router.delete(
    "/{user_id}/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses({403: "Admins only, not on oneself", 404: "No such user"}),
)
async def end_user_sessions(
    user_id: ResourceId,
    admin: Annotated[ActiveUser, Depends(can_end_user_sessions)],
    users: UserServiceDep,
) -> None:
    """End every session of a user (admins only): their tokens stop working at once."""
    await users.end_sessions(admin, user_id)
