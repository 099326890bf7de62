from fastapi import APIRouter, status

from app.auth.deps import AccessToken, ActiveUser, UserServiceDep
from app.auth.schemas.user import ProfileUpdate, UserWithEmailResponse
from app.core.api import error_responses

router = APIRouter(
    prefix="/profile",
    tags=["profile"],
    responses=error_responses({401: "Not signed in"}),
)


@router.get("")
async def get_profile(user: ActiveUser) -> UserWithEmailResponse:
    return UserWithEmailResponse.model_validate(user)


@router.patch(
    "",
    responses=error_responses(
        {
            400: "Malformed request body",
            403: "Missing or wrong current_password",
            409: "Email or username taken",
        }
    ),
)
async def update_profile(
    changes: ProfileUpdate, user: ActiveUser, claims: AccessToken, users: UserServiceDep
) -> UserWithEmailResponse:
    """Change username, email or password; email and password need `current_password`.
    A password change ends every other session."""
    updated = await users.update_profile(user, changes, claims.session_id)
    return UserWithEmailResponse.model_validate(updated)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_profile(user: ActiveUser, users: UserServiceDep) -> None:
    """Delete the account: it disappears, its sessions end, its email can register again."""
    await users.delete(user)
