from pathlib import Path

from app.core.services.mail import BaseTemplate

VIEWS = Path(__file__).resolve().parent / "views"


class ProjectCreatedEmail(BaseTemplate):
    """Tells the owner that their project exists; the attributes are the views' variables."""

    def __init__(self, username: str, name: str, project_name: str) -> None:
        self.username = username
        self.name = name
        self.project_name = project_name

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "project_created.html"


class TaskDoneEmail(BaseTemplate):
    """Tells a project's owner that one of its tasks is done."""

    def __init__(self, username: str, project: str, task: str, project_name: str) -> None:
        self.username = username
        self.project = project
        self.task = task
        self.project_name = project_name

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "task_done.html"
