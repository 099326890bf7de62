from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.db import FilterParam, ListParams, SortParam
from app.core.types import RequestModel

# The queue task that mails a project's owner when a task is done (registered in tasks.py).
MAIL_TASK_DONE = "projects.mail_task_done"


class TaskCreate(RequestModel):
    title: str = Field(min_length=1, max_length=200)


class TaskResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    title: str
    done_at: datetime | None
    created_at: datetime


class TaskDone(BaseModel):
    """What the mail task is given: ids only, it reads the rest when it runs."""

    task_id: int


class TaskSortParam(SortParam):
    field: Literal["id", "created_at"]


class TaskFilterParam(FilterParam):
    field: Literal["id", "title"]


class TaskListParams(ListParams):
    sort: list[TaskSortParam] | None = None
    filters: list[TaskFilterParam] | None = None
