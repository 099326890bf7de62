from fastapi import APIRouter, Depends, status

from app.auth.config import auth_config
from app.auth.deps import AccessToken, ActiveUser, UserServiceDep
from app.auth.schemas.user import ProfileUpdate, UserWithEmailResponse
from app.core.api import ConfigurableRateLimiter, error_responses

# Profile edits may check a password: per client, the same budget as logins.
EDIT_LIMIT = ConfigurableRateLimiter(
    times=auth_config.LOGIN_RATE_LIMIT, seconds=auth_config.RATE_LIMIT_WINDOW_SECONDS
)

router = APIRouter(
    prefix="/profile",
    tags=["profile"],
)


@router.get("")
async def get_profile(user: ActiveUser) -> UserWithEmailResponse:
    return UserWithEmailResponse.model_validate(user)


@router.patch(
    "",
    dependencies=[Depends(EDIT_LIMIT)],
    responses=error_responses(
        {
            400: "Malformed request body",
            403: "Missing or wrong current_password",
            409: "Email or username taken",
            429: "Too many requests or password checks",
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
