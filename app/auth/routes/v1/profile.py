from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, status

from app.auth.config import auth_config
from app.auth.deps import (
    AccessToken,
    ActiveUser,
    Client,
    SessionServiceDep,
    TwoFactorServiceDep,
    UserServiceDep,
)
from app.auth.schemas.auth import (
    CodeProof,
    PasswordProof,
    RecoveryCodesResponse,
    SessionResponse,
    TwoFactorConfirm,
    TwoFactorEnrolment,
)
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


SessionId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="A session's id, from the session list")
]


@router.get("/sessions")
async def list_sessions(
    user: ActiveUser, claims: AccessToken, sessions: SessionServiceDep
) -> list[SessionResponse]:
    """The account's live sessions, the most recently used first (at most 100)."""
    return [
        SessionResponse(
            id=session.family_id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            ip_address=session.ip_address,
            user_agent=session.user_agent,
            current=session.family_id == claims.session_id,
        )
        for session in await sessions.list(user)
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses({404: "No such live session of this account"}),
)
async def end_session(session_id: SessionId, user: ActiveUser, sessions: SessionServiceDep) -> None:
    """End one session (the current one too): its tokens stop working at once."""
    await sessions.end(user, session_id)


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT)
async def end_other_sessions(
    user: ActiveUser, claims: AccessToken, sessions: SessionServiceDep
) -> None:
    """End every session of the account except this one."""
    await sessions.end_others(user, claims.session_id)


TWO_FACTOR_STATE = {409: "Two-factor sign-in is already on, or not started, or off"}


@router.post("/2fa", responses=error_responses(TWO_FACTOR_STATE))
async def start_two_factor(user: ActiveUser, two_factor: TwoFactorServiceDep) -> TwoFactorEnrolment:
    """Start turning two-factor sign-in on: a new secret for an authenticator app. Nothing
    changes at sign-in until a code confirms it (``POST /profile/2fa/confirm``)."""
    enrolment = await two_factor.start(user)
    return TwoFactorEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/2fa/confirm",
    dependencies=[Depends(EDIT_LIMIT)],
    responses=error_responses(
        {403: "Wrong code", **TWO_FACTOR_STATE, 429: "Too many requests or code checks"}
    ),
)
async def confirm_two_factor(
    data: TwoFactorConfirm, user: ActiveUser, client: Client, two_factor: TwoFactorServiceDep
) -> RecoveryCodesResponse:
    """Turn two-factor sign-in on with a code from the app; the answer holds the recovery
    codes, shown this once."""
    codes = await two_factor.confirm(user, data.code, client.address or "")
    return RecoveryCodesResponse(recovery_codes=codes)


@router.delete(
    "/2fa",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(EDIT_LIMIT)],
    responses=error_responses(
        {
            403: "Wrong current_password or code",
            **TWO_FACTOR_STATE,
            429: "Too many requests or code checks",
        }
    ),
)
async def disable_two_factor(
    data: Annotated[PasswordProof | CodeProof, Body()],
    user: ActiveUser,
    client: Client,
    two_factor: TwoFactorServiceDep,
) -> None:
    """Turn two-factor sign-in off, with the password or a current code."""
    await two_factor.disable(
        user,
        current_password=getattr(data, "current_password", None),
        code=getattr(data, "code", None),
        client=client.address or "",
    )
