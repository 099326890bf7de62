"""The queue broker with every module's tasks registered: what ``python -m app worker`` runs.

Add each module's ``tasks`` here.
"""

from app.auth import tasks as auth_tasks
from app.core.services import mail as core_mail_tasks
from app.core.services.queue import broker

__all__ = ["auth_tasks", "broker", "core_mail_tasks"]
