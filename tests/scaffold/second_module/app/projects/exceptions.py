from app.core.exceptions import ActionNotAllowed, NotFoundError


class ProjectNotFound(NotFoundError):
    detail = "Project not found"


class TaskNotFound(NotFoundError):
    detail = "Task not found"


__all__ = ["ActionNotAllowed", "ProjectNotFound", "TaskNotFound"]
