from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, status

from app.auth.config import auth_config
from app.auth.deps import AuthServiceDep, Client, PasswordLoginForm, VerificationServiceDep
from app.auth.schemas.auth import (
    MessageResponse,
    RefreshTokenRequest,
    ResendVerificationRequest,
    ResetPasswordRequest,
    RestorePasswordRequest,
    TokenResponse,
    TwoFactorChallengeResponse,
    TwoFactorCodeLogin,
    TwoFactorRecoveryLogin,
    VerifyEmailRequest,
)
from app.auth.schemas.user import UserCreate, UserWithEmailResponse
from app.auth.services.auth import TwoFactorChallenge
from app.auth.tasks import SendEmailVerification, SendPasswordReset
from app.core.api import ConfigurableRateLimiter, NoStore, error_responses
from app.core.deps import QueueService

router = APIRouter(
    prefix="/auth", tags=["auth"], responses=error_responses({400: "Malformed request body"})
)

WINDOW = auth_config.RATE_LIMIT_WINDOW_SECONDS
UNAUTHORIZED = error_responses(
    {401: "Invalid credentials or token", 429: "Rate limit reached, for this client or account"}
)
TOO_MANY = error_responses({429: "Rate limit reached"})


def limit(times: int) -> list[Any]:
    return [Depends(ConfigurableRateLimiter(times=times, seconds=WINDOW))]


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=limit(auth_config.REGISTER_RATE_LIMIT),
    responses=error_responses({409: "Email or username taken", 429: "Rate limit reached"}),
)
async def register(data: UserCreate, auth: AuthServiceDep) -> UserWithEmailResponse:
    """Create an account; a welcome mail follows."""
    user = await auth.register(data)
    return UserWithEmailResponse.model_validate(user)


@router.post(
    "/login",
    dependencies=[*limit(auth_config.LOGIN_RATE_LIMIT), NoStore],
    responses=UNAUTHORIZED,
)
async def login(
    form: PasswordLoginForm, auth: AuthServiceDep, client: Client
) -> TokenResponse | TwoFactorChallengeResponse:
    """OAuth2 password flow: ``username`` is the email or the username. For an account with
    two-factor sign-in the answer is a challenge (``two_factor_required``), completed at
    ``POST /auth/login/2fa``."""
    result = await auth.login(form.username, form.password, client)
    if isinstance(result, TwoFactorChallenge):
        return TwoFactorChallengeResponse(**asdict(result))
    return TokenResponse(**asdict(result))


@router.post(
    "/login/2fa",
    dependencies=[*limit(auth_config.TWO_FACTOR_RATE_LIMIT), NoStore],
    responses=error_responses(
        {
            401: "Invalid or expired challenge or code",
            429: "Rate limit reached, for this client or account",
        }
    ),
)
async def login_two_factor(
    data: Annotated[TwoFactorCodeLogin | TwoFactorRecoveryLogin, Body()],
    auth: AuthServiceDep,
    client: Client,
) -> TokenResponse:
    """Complete a sign-in with the challenge from ``POST /auth/login`` and a code from the
    authenticator app (or a recovery code, each usable once)."""
    pair = await auth.complete_two_factor(
        data.challenge,
        code=getattr(data, "code", None),
        recovery_code=getattr(data, "recovery_code", None),
        client=client,
    )
    return TokenResponse(**asdict(pair))


@router.post(
    "/refresh-token",
    dependencies=[*limit(auth_config.REFRESH_RATE_LIMIT), NoStore],
    responses=UNAUTHORIZED,
)
async def refresh_token(data: RefreshTokenRequest, auth: AuthServiceDep) -> TokenResponse:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return TokenResponse(**asdict(await auth.refresh(data.refresh_token)))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=limit(auth_config.REFRESH_RATE_LIMIT),
    responses=TOO_MANY,
)
async def logout(data: RefreshTokenRequest, auth: AuthServiceDep) -> None:
    """End the session the refresh token belongs to."""
    await auth.logout(data.refresh_token)


@router.post(
    "/restore-password",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=limit(auth_config.RESTORE_PASSWORD_RATE_LIMIT),
    responses=TOO_MANY,
)
async def restore_password(data: RestorePasswordRequest, queue: QueueService) -> MessageResponse:
    """Mail a reset link if the account exists; the answer, and the work done before it, are
    the same either way (the lookup happens in a queued task)."""
    await queue.push(task=SendPasswordReset, data={"email": data.email})
    return MessageResponse(detail="If an account uses this email, a reset link is on its way")


@router.post(
    "/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=limit(auth_config.RESET_PASSWORD_RATE_LIMIT),
    responses=error_responses({401: "Invalid or expired token", 429: "Rate limit reached"}),
)
async def reset_password(data: ResetPasswordRequest, auth: AuthServiceDep) -> None:
    """Set a new password with the token from the reset mail; every session ends."""
    await auth.reset_password(data.token, data.password)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=limit(auth_config.VERIFY_EMAIL_RATE_LIMIT),
    responses=error_responses(
        {
            401: "Invalid, used or expired link",
            409: "The new address was registered meanwhile",
            429: "Rate limit reached",
        }
    ),
)
async def verify_email(data: VerifyEmailRequest, verification: VerificationServiceDep) -> None:
    """Follow a verification link: the address is verified (for a pending change, it becomes
    the account's email). Each link works once."""
    await verification.verify(data.token)


@router.post(
    "/resend-verification",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=limit(auth_config.RESEND_VERIFICATION_RATE_LIMIT),
    responses=TOO_MANY,
)
async def resend_verification(
    data: ResendVerificationRequest, queue: QueueService
) -> MessageResponse:
    """Mail a new verification link if an unverified account uses the address, or an account
    is moving to it; the answer, and the work before it, are the same for every address."""
    await queue.push(task=SendEmailVerification, data={"email": data.email})
    return MessageResponse(detail="If this address awaits verification, a link is on its way")
