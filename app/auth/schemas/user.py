from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from app.auth.config import MAX_PASSWORD_LENGTH
from app.auth.models import User, UserStatus
from app.core.db import FilterParam, ListParams, SortParam

Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(str.lower)]
Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="3-50 letters, digits, `_`, `.` or `-`", examples=["ann_smith"]),
]
Password = Annotated[
    str,
    Field(min_length=8, max_length=MAX_PASSWORD_LENGTH, description="8-128 characters"),
]


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields, so nobody can slip in ``is_admin`` or ``status``."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(RequestModel):
    email: Email
    username: Username
    password: Password


class ProfileUpdate(RequestModel):
    email: Email | None = None
    username: Username | None = None
    password: Password | None = None
    current_password: str | None = Field(default=None, max_length=1024)

    @model_validator(mode="after")
    def _current_password_for_sensitive_changes(self) -> Self:
        if (self.email is not None or self.password is not None) and not self.current_password:
            raise ValueError("current_password is required to change the email or password")
        return self


class UserStatusUpdate(RequestModel):
    status: UserStatus


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


class UserDTO(BaseModel):
    """What other modules get to know about a user (through ``AuthGateway``)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    email: str
    username: str
    status: UserStatus
    is_admin: bool
    created_at: datetime


def user_response(user: User, viewer: User) -> UserResponse | UserWithEmailResponse:
    """Show the email only to the user themselves and to admins."""
    if viewer.is_admin or viewer.id == user.id:
        return UserWithEmailResponse.model_validate(user)
    return UserResponse.model_validate(user)


class UserSortParam(SortParam):
    field: Literal["id", "username", "status", "created_at"]


class UserFilterParam(FilterParam):
    field: Literal["id", "username", "status", "created_at"]


class UserListParams(ListParams):
    sort: list[UserSortParam] | None = Field(default=None, description="Sorting parameters")
    filters: list[UserFilterParam] | None = Field(default=None, description="Filtering parameters")
