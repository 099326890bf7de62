from typing import Literal

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
