from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import BaseRepository, utcnow
from app.projects.models import Project


class ProjectRepository(BaseRepository[Project]):
    model = Project

    async def delete_all_of(self, db: AsyncSession, owner_id: int) -> None:
        """Soft-delete every live project of this owner, in one statement."""
        await db.execute(
            update(Project)
            .where(Project.owner_id == owner_id, Project.deleted_at.is_(None))
            .values(deleted_at=utcnow())
        )
