from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import BaseModel


class ProjectTask(BaseModel):
    """A piece of work in a project (not a queue task)."""

    __tablename__ = "project_tasks"
    __table_args__ = (Index("ix_project_tasks_created_at", "created_at"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(default=None)
