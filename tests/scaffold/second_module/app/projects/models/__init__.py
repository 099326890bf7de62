from app.projects.models.project import Project
from app.projects.models.task import ProjectTask

__all__ = ["Project", "ProjectTask"]
