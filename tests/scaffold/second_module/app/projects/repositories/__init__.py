from app.projects.repositories.project import ProjectRepository
from app.projects.repositories.task import ProjectTaskRepository

__all__ = ["ProjectRepository", "ProjectTaskRepository"]
