from app.core.db import BaseRepository
from app.projects.models import ProjectTask


class ProjectTaskRepository(BaseRepository[ProjectTask]):
    model = ProjectTask
