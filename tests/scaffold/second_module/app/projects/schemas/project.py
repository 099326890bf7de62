from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.db import FilterParam, ListParams, SortParam
from app.core.types import RequestModel

# The queue task that mails the owner of a new project (registered in tasks.py); the service
# queues it by name, since tasks sit above services.
ANNOUNCE_PROJECT = "projects.announce_project"


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)
    is_public: bool = False


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    is_public: bool | None = None


class ProjectResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    owner_id: int
    is_public: bool
    created_at: datetime
    updated_at: datetime


class ProjectDTO(ProjectResponse):
    """What other modules get to know about a project (through the gateway)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class PublicProjectCount(BaseModel):
    public_projects: int


class ProjectSortParam(SortParam):
    field: Literal["id", "name", "created_at"]


class ProjectFilterParam(FilterParam):
    field: Literal["id", "name", "owner_id", "is_public"]


class ProjectListParams(ListParams):
    sort: list[ProjectSortParam] | None = Field(default=None, description="Sorting parameters")
    filters: list[ProjectFilterParam] | None = Field(
        default=None, description="Filtering parameters"
    )
