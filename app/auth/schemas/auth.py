from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.auth.schemas.user import Email, Password
from app.core.types import RequestModel


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


class RefreshTokenRequest(RequestModel):
    refresh_token: str = Field(
        min_length=1, max_length=512, examples=["<refresh_token from login>"]
    )


class RestorePasswordRequest(RequestModel):
    email: Email = Field(examples=["ada@example.com"])


class ResetPasswordRequest(RequestModel):
    token: str = Field(min_length=1, max_length=512, examples=["<token from the mailed link>"])
    password: Password = Field(examples=["Quiet-Harbour-Lantern-4817"])


class MessageResponse(BaseModel):
    detail: str


class TwoFactorChallengeResponse(BaseModel):
    """``POST /auth/login`` for an account with two-factor sign-in: no session yet; send the
    challenge and a code to ``POST /auth/login/2fa`` within ``expires_in`` seconds."""

    two_factor_required: Literal[True] = True
    challenge: str
    expires_in: int = Field(description="Seconds until the challenge expires")


Challenge = Annotated[
    str, Field(min_length=1, max_length=1024, examples=["<challenge from login>"])
]
TotpCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6}$",
        description="The 6-digit code the authenticator app shows",
        examples=["123456"],
    ),
]
RecoveryCodeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9 -]+$",
        description="One of the recovery codes given when two-factor sign-in was turned on",
        examples=["abcde-fghij"],
    ),
]


class TwoFactorCodeLogin(RequestModel):
    challenge: Challenge
    code: TotpCode


class TwoFactorRecoveryLogin(RequestModel):
    challenge: Challenge
    recovery_code: RecoveryCodeText


class VerifyEmailRequest(RequestModel):
    token: str = Field(min_length=1, max_length=512, examples=["<token from the mailed link>"])


class ResendVerificationRequest(RequestModel):
    email: Email = Field(examples=["ada@example.com"])


class TwoFactorEnrolment(BaseModel):
    """A new secret: add it to an authenticator app (the URI as a QR code, or the secret by
    hand), then confirm with a code from the app."""

    secret: str
    otpauth_uri: str


class TwoFactorConfirm(RequestModel):
    code: TotpCode


class RecoveryCodesResponse(BaseModel):
    """One-time codes for signing in without the app; shown this once only."""

    recovery_codes: list[str]


class PasswordProof(RequestModel):
    current_password: str = Field(min_length=1, max_length=1024)


class CodeProof(RequestModel):
    code: TotpCode


class SessionResponse(BaseModel):
    """A live session: one sign-in, and every refresh since."""

    id: str
    created_at: datetime
    last_used_at: datetime = Field(description="When the session last signed in or refreshed")
    ip_address: str | None = Field(description="The client's address at sign-in")
    user_agent: str | None = Field(description="The client's User-Agent at sign-in")
    current: bool = Field(description="Whether this is the session making the request")
