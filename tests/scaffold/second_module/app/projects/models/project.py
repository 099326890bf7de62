from sqlalchemy import Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import BaseModel, SoftDeleteMixin


class Project(SoftDeleteMixin, BaseModel):
    __tablename__ = "projects"
    # Every sortable column has an index (id is the primary key; name has its own below).
    __table_args__ = (Index("ix_projects_created_at", "created_at"),)

    name: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # The auth user who created it; a plain id keeps the modules' tables independent.
    owner_id: Mapped[int] = mapped_column(index=True)
    # Public projects are seen by every signed-in user; private ones by their owner and admins.
    is_public: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
