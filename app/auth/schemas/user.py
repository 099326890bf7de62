from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.auth.config import MAX_PASSWORD_LENGTH
from app.auth.models import User, UserStatus
from app.core.db import FilterParam, ListParams, SortParam
from app.core.types import ISO_DATETIME_PATTERN, EmailAddress, RequestModel

Email = EmailAddress
Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="3-50 letters, digits, `_`, `.` or `-`", examples=["ann_smith"]),
]
# 8-128 characters, not all blank (and, checked by the service, not easy to guess).
PASSWORD_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"  # noqa: S105 - a regex
Password = Annotated[
    str,
    Field(
        min_length=8,
        max_length=MAX_PASSWORD_LENGTH,
        pattern=PASSWORD_PATTERN,
        description="8-128 characters, not all blank, not easy to guess",
    ),
]


class UserCreate(RequestModel):
    email: Email = Field(examples=["ada@example.com"])
    username: Username = Field(examples=["ada"])
    password: Password = Field(examples=["Quiet-Harbour-Lantern-4817"])


class ProfileUpdate(RequestModel):
    email: Email | None = None
    username: Username | None = None
    password: Password | None = None
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Required to change the email or the password",
    )


class UserStatusUpdate(RequestModel):
    status: UserStatus = Field(examples=["blocked"])


class UserResponse(BaseModel):
    """A user as anyone signed in may see them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    status: UserStatus
    is_admin: bool
    created_at: datetime


class UserWithEmailResponse(UserResponse):
    """A user as they themselves, or an admin, see them."""

    email: str
    email_verified_at: datetime | None
    pending_email: str | None = Field(
        description="An address the user is moving to; it replaces `email` once verified"
    )
    two_factor_enabled: bool


class UserDTO(BaseModel):
    """What other modules get to know about a user (through ``AuthGateway``)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    email: str
    username: str
    status: UserStatus
    is_admin: bool
    created_at: datetime
    email_verified_at: datetime | None


def user_response(user: User, viewer: User) -> UserResponse | UserWithEmailResponse:
    """Show the email only to the user themselves and to admins."""
    if viewer.is_admin or viewer.id == user.id:
        return UserWithEmailResponse.model_validate(user)
    return UserResponse.model_validate(user)


class UserSortParam(SortParam):
    field: Literal["id", "username", "status", "created_at"]


class UserFilterParam(FilterParam):
    field: Literal["id", "username", "status", "created_at"]

    value_patterns: ClassVar[dict[str, str]] = {
        "id": r"[1-9][0-9]{0,9}",
        "status": "active|blocked",
        "username": r"[A-Za-z0-9_.-]{1,50}",
        "created_at": ISO_DATETIME_PATTERN,
    }


class UserListParams(ListParams):
    sort: list[UserSortParam] | None = Field(default=None, description="Sorting parameters")
    filters: list[UserFilterParam] | None = Field(default=None, description="Filtering parameters")
